import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The GitHub workflows: actionlint (in .ci/run and CI) checks their syntax and scripts; these check what
 * they do: the context arguments the deploy and destroy pass to the CDK, and the destroy's guard.
 */

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, '.github', 'scripts', 'cdk-with-context.sh');
const workflow = (name: string) => readFileSync(join(ROOT, '.github', 'workflows', name), 'utf8');
/** A repository variable as a workflow expression. */
const variable = (name: string) => `\${{ vars.${name} }}`;

let fakeBin: string;

beforeAll(() => {
  // An npx that prints its arguments, one per line, instead of running the CDK.
  fakeBin = mkdtempSync(join(tmpdir(), 'fake-npx-'));
  writeFileSync(join(fakeBin, 'npx'), '#!/bin/sh\nfor arg in "$@"; do echo "$arg"; done\n');
  chmodSync(join(fakeBin, 'npx'), 0o755);
});
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

const VARIABLES = [
  'NAME_PREFIX',
  'ALERT_EMAIL',
  'RETAIN_DATA',
  'SIMULATOR_START',
  'SIMULATOR_RATE',
  'CDK_CONTEXT',
];

function runScript(variables: Record<string, string>, ...args: string[]) {
  const env: Record<string, string> = { PATH: `${fakeBin}:${process.env.PATH}`, HOME: tmpdir() };
  // As GitHub passes an unset repository variable: an empty string.
  for (const name of VARIABLES) env[name] = variables[name] ?? '';
  const result = spawnSync('bash', [SCRIPT, ...args], { env, encoding: 'utf8' });
  const [summary, ...npx] = result.stdout.trim().split('\n');
  return { status: result.status, summary, npx, stderr: result.stderr };
}

describe('.github/scripts/cdk-with-context.sh', () => {
  test('unset (empty) repository variables add no context value at all', () => {
    const run = runScript({}, 'deploy', '--all', '--require-approval', 'never');
    expect(run.status).toBe(0);
    expect(run.npx).toEqual(['cdk', 'deploy', '--all', '--require-approval', 'never']);
  });

  test('each variable that is set becomes its -c key=value; CDK_CONTEXT adds any other, line by line', () => {
    const run = runScript(
      {
        NAME_PREFIX: 'dev-',
        ALERT_EMAIL: 'ops@example.com',
        SIMULATOR_START: 'false',
        CDK_CONTEXT: '# extra settings\r\n  scoreThreshold=0.7  \r\n\r\nlogRetentionDays=30',
      },
      'destroy',
      '--all',
      '--force',
    );
    expect(run.status).toBe(0);
    expect(run.npx).toEqual([
      'cdk',
      'destroy',
      '--all',
      '--force',
      '-c',
      'namePrefix=dev-',
      '-c',
      'alertEmail=ops@example.com',
      '-c',
      'simulatorStart=false',
      '-c',
      'scoreThreshold=0.7',
      '-c',
      'logRetentionDays=30',
    ]);
    // The log names the keys, not the values (an e-mail address).
    expect(run.summary).toBe(
      'cdk destroy, context: namePrefix alertEmail simulatorStart scoreThreshold logRetentionDays',
    );
  });

  test('a CDK_CONTEXT line that is not key=value stops it before the CDK runs', () => {
    const run = runScript({ CDK_CONTEXT: 'alertEmail ops@example.com' }, 'deploy', '--all');
    expect(run.status).toBe(1);
    expect(run.npx).toEqual([]);
    expect(run.stderr).toContain("'alertEmail ops@example.com' is not a key=value line");
  });
});

describe('the workflows', () => {
  test('ci runs the tests, the synth with cdk-nag and cfn-lint on every push and pull request', () => {
    const ci = workflow('ci.yml');
    expect(ci).toMatch(/^on:\n {2}push:\n {2}pull_request:\n/m);
    for (const step of ['npm ci', 'npm test', 'npx cdk synth --quiet', "cfn-lint==1.58.0'", 'actionlint'])
      expect(ci).toContain(step);
  });

  test('deploy assumes the role through OIDC, from repository variables, and deploys every stack without a prompt', () => {
    const deploy = workflow('deploy.yml');
    expect(deploy).toMatch(/^permissions:\n {2}id-token: write\b.*\n {2}contents: read\n/m);
    expect(deploy).toContain(`role-to-assume: ${variable('AWS_DEPLOY_ROLE_ARN')}`);
    expect(deploy).toContain(`aws-region: ${variable('AWS_REGION')}`);
    expect(deploy).toContain(
      'bash .github/scripts/cdk-with-context.sh deploy --all --require-approval never',
    );
    // No static AWS key anywhere.
    expect(deploy).not.toMatch(/aws-access-key-id|secrets\./);
  });

  test('destroy starts by hand only, and checks the confirmation word before anything else', () => {
    const destroy = workflow('destroy.yml');
    expect(destroy).toMatch(/^on:\n {2}workflow_dispatch:\n {4}inputs:\n {6}confirm:\n/m);
    expect(destroy).toContain('required: true');
    const guard = destroy.indexOf('if [ "$CONFIRM" != "destroy" ]; then');
    expect(guard).toBeGreaterThan(0);
    for (const later of [
      'actions/checkout',
      'configure-aws-credentials',
      'cdk-with-context.sh destroy --all --force',
    ])
      expect(destroy.indexOf(later)).toBeGreaterThan(guard);
  });

  test('the destroy guard passes "destroy" only', () => {
    const script =
      /run: \|\n((?: {10}.*\n)+)/.exec(workflow('destroy.yml'))?.[1].replace(/^ {10}/gm, '') ?? '';
    expect(script).toContain('CONFIRM');
    for (const [confirm, status] of [
      ['destroy', 0],
      ['Destroy', 1],
      ['destroy ', 1],
      ['', 1],
      ['yes', 1],
    ] as const) {
      const result = spawnSync('bash', ['-eo', 'pipefail', '-c', script], {
        env: { PATH: process.env.PATH, CONFIRM: confirm },
        encoding: 'utf8',
      });
      expect({ confirm, status: result.status }).toEqual({ confirm, status });
    }
  });
});
