import { pipelineStackName } from '../../cli/clean-data';
import { defaultTableName } from '../../cli/targets';
import { readPipelineConfig } from '../../lib/config';
import { buildApp } from '../../lib/pipeline-app';
import { synthPipeline } from './helpers';

const context = (namePrefix: string) => (key: string) => (key === 'namePrefix' ? namePrefix : undefined);

describe('namePrefix', () => {
  test.each(['1x-', '-dev', 'Dev', 'dev_1'])(
    "%p is refused by the project's own check, before the CDK: stack names start with a letter",
    (prefix) => {
      expect(() => readPipelineConfig(context(prefix))).toThrow(
        `namePrefix=${JSON.stringify(prefix)}: must start with a lower-case letter, then lower-case letters, digits and hyphens`,
      );
    },
  );

  test("cdk synth -c namePrefix=1x- stops in the app with that message, not CloudFormation's StackNameInvalidFormat", () => {
    expect(() => buildApp({ context: { namePrefix: '1x-' } })).toThrow(
      /namePrefix="1x-": must start with a lower-case letter/,
    );
  });

  test('a hyphen is appended when missing: dev gives dev-sensor-readings and dev-SensorPipeline, as dev- does', () => {
    expect(readPipelineConfig(context('dev')).namePrefix).toBe('dev-');
    expect(readPipelineConfig(context('dev-')).namePrefix).toBe('dev-');
    expect(readPipelineConfig(context('')).namePrefix).toBe('');

    const { stack, json } = synthPipeline({ namePrefix: 'dev' });
    expect(stack.stackName).toBe('dev-SensorPipeline');
    const tables = Object.values(
      json.Resources as Record<string, { Type: string; Properties: { TableName?: string } }>,
    )
      .filter((resource) => resource.Type === 'AWS::DynamoDB::GlobalTable')
      .map((resource) => resource.Properties.TableName);
    expect(tables).toContain('dev-sensor-readings');
  });

  test('at most 20 characters, with the hyphen', () => {
    expect(readPipelineConfig(context('a'.repeat(19))).namePrefix).toBe(`${'a'.repeat(19)}-`);
    expect(() => readPipelineConfig(context('a'.repeat(20)))).toThrow(
      'at most 20 characters, with its trailing hyphen',
    );
  });

  test("the CLIs' --name-prefix dev finds the same names", () => {
    expect(defaultTableName('dev')).toBe('dev-sensor-readings');
    expect(defaultTableName('dev-')).toBe('dev-sensor-readings');
    expect(defaultTableName()).toBe('sensor-readings');
    expect(pipelineStackName('dev')).toBe('dev-SensorPipeline');
  });
});
