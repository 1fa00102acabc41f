import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  EQUIPMENT_DIMENSION,
  EQUIPMENT_METRICS,
  equipmentMetricNames,
  featureReadingsMetric,
  featureSumMetric,
  METRICS_NAMESPACE,
} from '../../lambdas/shared/metrics-catalog';
import { readingsObjectKey } from '../../lambdas/shared/object-keys';
import { LAB_SCHEMA } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { createTransformHandler } from '../../lambdas/transform/handler';
import { DEFAULT_MODEL_PATH, NO_MODEL, readPipelineConfig } from '../../lib/config';
import { buildApp } from '../../lib/pipeline-app';
import { kinesisEvent, sequenceNumber } from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';
import { dashboardBody, describeMetric, type EmittedMetric, environmentOf, parseEmf } from './dashboard-body';
import {
  actionsOf,
  arnOf,
  asArray,
  describeViolations,
  iamStatements,
  type Json,
  logicalIdAt,
  type Synthesized,
  statementsOfRole,
  synthApp,
  synthPipeline,
} from './helpers';

/**
 * A deployment of another reading schema than the lab's (`-c readingSchema=...`): the schema read and
 * checked at synth, bundled with the transform, the model it may take, the Glue table and the query
 * policy of its objects' prefix, and a dashboard of its features and equipment.
 */

const ROOT = path.join(__dirname, '..', '..');
const SKAB = loadReadingSchema(path.join(ROOT, 'schemas', 'skab.json'));
const METER = loadReadingSchema(path.join(ROOT, 'schemas', 'power-meter.yaml'));
const SKAB_CONTEXT = { readingSchema: 'schemas/skab.json' };
const METER_CONTEXT = { readingSchema: 'schemas/power-meter.yaml' };
const read = (context: Record<string, unknown>) => (key: string) => context[key];

const idsOf = ({ stack }: Synthesized) => ({
  transformFunction: logicalIdAt(stack, 'Transform/Consumer/Function'),
  transformRole: logicalIdAt(stack, 'Transform/Consumer/Role'),
  dashboard: logicalIdAt(stack, 'Monitoring/Dashboard'),
  processedBucket: logicalIdAt(stack, 'ProcessedBucket'),
  policy: logicalIdAt(stack, 'Analytics/QueryPolicy'),
});

const transformEnvironment = (synthesized: Synthesized) =>
  synthesized.json.Resources[idsOf(synthesized).transformFunction].Properties.Environment.Variables as Record<
    string,
    unknown
  >;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'reading-schema-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('readingSchema in the context', () => {
  test("default: the lab's schema, its equipment on the dashboard, the shipped model", () => {
    const config = readPipelineConfig(read({}));
    expect(config.schema).toBe(LAB_SCHEMA);
    expect(config.schemaFile).toBeUndefined();
    expect(config.dashboardEquipment).toEqual([101, 102, 103]);
    expect(config.modelPath).toBe(DEFAULT_MODEL_PATH);
  });

  test('another schema: read from the project root, its simulation equipment on the dashboard, no model by default', () => {
    const config = readPipelineConfig(read(SKAB_CONTEXT));
    expect(config.schema.id).toBe('skab-pump@1');
    expect(config.schemaFile).toBe(path.join(ROOT, 'schemas', 'skab.json'));
    expect(config.dashboardEquipment).toEqual(['pump-1']);
    expect(config.modelPath).toBe(NO_MODEL);
    expect(readPipelineConfig(read(METER_CONTEXT)).dashboardEquipment).toEqual([
      'feeder-01',
      'feeder-02',
      'feeder-03',
    ]);
    // The lab's own file is the lab's schema: the shipped model stays the default.
    expect(readPipelineConfig(read({ readingSchema: 'schemas/lab.json' })).modelPath).toBe(
      DEFAULT_MODEL_PATH,
    );
  });

  test('a schema that is not valid fails the synth, naming the context key, the file and the field', () => {
    const bad = path.join(tmp, 'bad.json');
    const file = JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'skab.json'), 'utf8'));
    file.features[2].name = 'Current';
    writeFileSync(bad, JSON.stringify(file));
    expect(() => readPipelineConfig(read({ readingSchema: bad }))).toThrow(
      `context value readingSchema=${JSON.stringify(bad)}: ${bad}: features.2.name: must be lowercase letters`,
    );
    expect(() => buildApp({ context: { 'aws:cdk:bundling-stacks': [], readingSchema: bad } })).toThrow(
      'features.2.name',
    );
    expect(() => readPipelineConfig(read({ readingSchema: 'schemas/none.yaml' }))).toThrow(
      /readingSchema="schemas\/none.yaml": cannot read the reading schema at .*schemas\/none.yaml/,
    );
  });

  test.each([
    ['string ids of the schema', METER_CONTEXT, 'feeder-07, feeder-01', ['feeder-07', 'feeder-01']],
    ['an array from cdk.json', METER_CONTEXT, ['feeder-02'], ['feeder-02']],
    ['integer ids of the lab', {}, '7,8', [7, 8]],
  ])('dashboardEquipment: %s', (_name, context, value, expected) => {
    expect(readPipelineConfig(read({ ...context, dashboardEquipment: value })).dashboardEquipment).toEqual(
      expected,
    );
  });

  test.each([
    [METER_CONTEXT, 'pump-1', /"pump-1" is not an equipment id: .*strings matching \^feeder-\[0-9\]\{2\}\$/],
    [METER_CONTEXT, '101', /"101" is not an equipment id/],
    [METER_CONTEXT, 'feeder-01,feeder-01', /lists an equipment id twice/],
    [{}, 'pump-1', /"pump-1" is not an equipment id: .*integers from 1 to 2147483647/],
  ])('dashboardEquipment must be ids of the schema (%o, %p)', (context, value, error) => {
    expect(() => readPipelineConfig(read({ ...context, dashboardEquipment: value }))).toThrow(
      `dashboardEquipment=${JSON.stringify(value)}`,
    );
    expect(() => readPipelineConfig(read({ ...context, dashboardEquipment: value }))).toThrow(error);
  });

  test("featureLimits and featureScoreThresholds name the schema's features", () => {
    expect(
      readPipelineConfig(
        read({ ...SKAB_CONTEXT, featureLimits: 'current=0:5', featureScoreThresholds: 'pressure=0.7' }),
      ),
    ).toMatchObject({ featureLimits: 'current=0:5', featureScoreThresholds: 'pressure=0.7' });
    expect(() => readPipelineConfig(read({ ...SKAB_CONTEXT, featureLimits: 'humidity=:95' }))).toThrow(
      /featureLimits="humidity=:95": humidity is not a feature of the reading schema skab-pump@1/,
    );
    expect(() =>
      readPipelineConfig(read({ ...SKAB_CONTEXT, featureScoreThresholds: 'temperature=0.7,humidity=0.6' })),
    ).toThrow(/featureScoreThresholds=.*humidity is not a feature of the reading schema skab-pump@1/);
    // The lab's, as before.
    expect(() => readPipelineConfig(read({ featureLimits: 'current=0:5' }))).toThrow(
      /current is not a feature of the reading schema lab@1/,
    );
  });
});

describe('the transform of a SKAB deployment', () => {
  test('bundles the schema file beside the handler and names it in READING_SCHEMA_PATH; no model by default', () => {
    const skab = synthPipeline(SKAB_CONTEXT);
    const environment = transformEnvironment(skab);
    expect(environment.READING_SCHEMA_PATH).toBe('/var/task/reading-schema.json');
    expect(environment.MODEL_PATH).toBeUndefined();
    expect(skab.stack.transform.bundledFiles).toEqual({ 'schemas/skab.json': 'reading-schema.json' });
    // YAML stays YAML: the loader reads the extension.
    const meter = synthPipeline(METER_CONTEXT);
    expect(transformEnvironment(meter).READING_SCHEMA_PATH).toBe('/var/task/reading-schema.yaml');
    expect(meter.stack.transform.bundledFiles).toEqual({ 'schemas/power-meter.yaml': 'reading-schema.yaml' });
  });

  test("the lab's deployment bundles the model alone, and sets no READING_SCHEMA_PATH", () => {
    const lab = synthPipeline();
    expect(transformEnvironment(lab).READING_SCHEMA_PATH).toBeUndefined();
    expect(transformEnvironment(lab).MODEL_PATH).toBe('/var/task/model.json');
    expect(lab.stack.transform.bundledFiles).toEqual({ 'model/default-model.json': 'model.json' });
  });

  test("the shipped model asked for explicitly fails the synth: it names the lab's features", () => {
    expect(() =>
      buildApp({
        context: { 'aws:cdk:bundling-stacks': [], ...SKAB_CONTEXT, modelPath: DEFAULT_MODEL_PATH },
      }),
    ).toThrow(
      /modelPath: .*default-model.json names features the reading schema skab-pump@1 does not have: vibration_amplitude, vibration_frequency, humidity .*-c modelPath=none/,
    );
  });

  test("a model of the schema's features is bundled and named in MODEL_PATH", () => {
    const model = JSON.parse(readFileSync(path.join(ROOT, DEFAULT_MODEL_PATH), 'utf8'));
    model.features = ['current', 'pressure', 'temperature', 'voltage'];
    const file = path.join(tmp, 'skab-model.json');
    writeFileSync(file, JSON.stringify(model));
    const skab = synthPipeline({ ...SKAB_CONTEXT, modelPath: file });
    expect(transformEnvironment(skab)).toMatchObject({
      MODEL_PATH: '/var/task/model.json',
      READING_SCHEMA_PATH: '/var/task/reading-schema.json',
    });
    expect(Object.values(skab.stack.transform.bundledFiles).sort()).toEqual([
      'model.json',
      'reading-schema.json',
    ]);
  });

  test('its S3 grant on readings/* covers the objects under the schema-versioned prefix', () => {
    const skab = synthPipeline(SKAB_CONTEXT);
    const ids = idsOf(skab);
    const puts = statementsOfRole(skab.json, ids.transformRole).filter((s) =>
      actionsOf(s).includes('s3:PutObject'),
    );
    const prefixes = puts.flatMap((s) => asArray<Json>(s.Resource).map((r) => r['Fn::Join'][1][1] as string));
    expect(prefixes.sort()).toEqual(['/quarantine/*', '/readings/*']);
    const key = readingsObjectKey(
      { shardId: 'shardId-0', firstSequenceNumber: '1', firstArrivalMs: 0 },
      SKAB,
    );
    expect(key.startsWith('readings/skab-pump-v1/')).toBe(true);
  });
});

describe('Athena of a SKAB deployment', () => {
  test("the query policy reads the schema version's prefix of the processed bucket", () => {
    const skab = synthPipeline(SKAB_CONTEXT);
    const ids = idsOf(skab);
    const statements = iamStatements(skab.json)
      .filter((s) => s.source === ids.policy)
      .map((s) => s.statement);
    // The CSV lake and the curated zone of this schema version, and nothing else of the bucket.
    const objects = statements
      .filter((s) => JSON.stringify(actionsOf(s)) === '["s3:GetObject"]')
      .flatMap((s) => asArray(s.Resource));
    expect(objects).toEqual(
      expect.arrayContaining([
        { 'Fn::Join': ['', [arnOf(ids.processedBucket), '/readings/skab-pump-v1/*']] },
        { 'Fn::Join': ['', [arnOf(ids.processedBucket), '/curated/skab-pump-v1/*']] },
      ]),
    );
    for (const resource of objects.filter((r) => JSON.stringify(r).includes(ids.processedBucket)))
      expect(JSON.stringify(resource)).toMatch(/\/(readings|curated)\/skab-pump-v1\/\*"\]\]\}$/);
    const list = statements.find(
      (s) =>
        s.Action === 's3:ListBucket' &&
        JSON.stringify(s.Resource) === JSON.stringify(arnOf(ids.processedBucket)),
    );
    expect(list?.Condition.StringLike['s3:prefix']).toEqual(
      expect.arrayContaining(['readings/skab-pump-v1/*', 'curated/skab-pump-v1/*']),
    );
    expect(list?.Condition.StringLike['s3:prefix']).toHaveLength(2);
  });
});

describe('the dashboard of another schema', () => {
  const graphsOf = (synthesized: Synthesized) =>
    dashboardBody(synthesized.json, idsOf(synthesized).dashboard).metricWidgets.filter((w) =>
      String(w.widget.properties.title).startsWith('Average '),
    );

  test.each([
    ['SKAB', SKAB_CONTEXT, SKAB, ['pump-1']],
    ['the power meter', METER_CONTEXT, METER, ['feeder-01', 'feeder-02', 'feeder-03']],
  ])(
    '%s: a graph per feature, titled with its label and unit, a line per equipment of its string ids',
    (_name, context, schema, equipment) => {
      const graphs = graphsOf(synthPipeline(context));
      expect(graphs).toHaveLength(schema.features.length);
      for (const [i, feature] of schema.features.entries()) {
        const { widget, metrics, expressions } = graphs[i];
        expect(widget.properties.title).toContain(feature.label);
        if (feature.unit) {
          expect(widget.properties.title).toContain(`(${feature.unit})`);
          expect(widget.properties.yAxis.left.label).toBe(feature.unit);
        }
        const byId = new Map(metrics.map((m) => [m.options.id as string, m]));
        const lines = expressions.map(({ expression, options }) => {
          const [, sumId, readingsId] = /^(\w+) \/ (\w+)$/.exec(expression) ?? [];
          // Metric IDs start with a lower-case letter and hold letters, digits and _ only.
          for (const id of [sumId, readingsId]) expect(id).toMatch(/^[a-z][A-Za-z0-9_]*$/);
          const sum = byId.get(sumId);
          const readings = byId.get(readingsId);
          expect(sum?.name).toBe(featureSumMetric(feature.name));
          // An optional feature's average is over the readings that had it.
          expect(readings?.name).toBe(
            feature.optional ? featureReadingsMetric(feature.name) : EQUIPMENT_METRICS.readings,
          );
          expect(readings?.dimensions).toEqual(sum?.dimensions);
          expect(options.label).toBe(`equipment ${sum?.dimensions[EQUIPMENT_DIMENSION]}`);
          return sum?.dimensions[EQUIPMENT_DIMENSION];
        });
        expect(lines).toEqual(equipment);
      }
      expect(JSON.stringify(graphs)).not.toMatch(/VibrationAmplitude|Humidity/);
    },
  );

  test.each([
    ["the lab's", {}, LAB_SCHEMA],
    ['SKAB', SKAB_CONTEXT, SKAB],
    ['the power meter', METER_CONTEXT, METER],
  ])(
    "%s: it reads every per-equipment metric of the catalog for the schema's features",
    (_name, context, schema) => {
      const synthesized = synthPipeline(context);
      const names = new Set(
        dashboardBody(synthesized.json, idsOf(synthesized).dashboard).metrics.map((m) => m.name),
      );
      expect(equipmentMetricNames(schema).filter((name) => !names.has(name))).toEqual([]);
      expect(equipmentMetricNames(METER)).toContain('FrequencyHzReadings');
    },
  );

  test('dashboardEquipment with string ids draws those', () => {
    const graphs = graphsOf(synthPipeline({ ...METER_CONTEXT, dashboardEquipment: 'feeder-09,feeder-10' }));
    expect(graphs[0].expressions.map((e) => e.options.label)).toEqual([
      'equipment feeder-09',
      'equipment feeder-10',
    ]);
  });

  test("every metric of the pipeline it reads is one the deployed transform emits for the schema's readings", async () => {
    const synthesized = synthPipeline(METER_CONTEXT);
    const { metrics } = dashboardBody(synthesized.json, idsOf(synthesized).dashboard);
    const ours = metrics.filter((m) => m.namespace === METRICS_NAMESPACE);
    const emitted = await emittedByTransform(
      environmentOf(synthesized.json, idsOf(synthesized).transformFunction),
      ['feeder-01', 'feeder-02', 'feeder-03'].map((meter, i) => ({
        meter,
        time: new Date(Date.UTC(2026, 10, 23, 19, 47, 9, i)).toISOString(),
        power_kw: 320,
        voltage_v: 400,
        power_factor: 0.93,
        frequency_hz: 50,
      })),
    );
    const emittedSet = new Set(emitted.map(describeMetric));
    const equipmentMetrics = ours.filter((m) => m.dimensions[EQUIPMENT_DIMENSION] !== undefined);
    expect(equipmentMetrics.length).toBeGreaterThan(METER.features.length * 3);
    expect(equipmentMetrics.map(describeMetric).filter((m) => !emittedSet.has(m))).toEqual([]);
  });
});

/**
 * The EMF metrics the transform prints for one record of these readings, built as Lambda builds it
 * (createTransformHandler) from the environment of the template, the bundled schema read from the
 * repository instead.
 */
async function emittedByTransform(
  environment: Record<string, string>,
  readings: Record<string, unknown>[],
): Promise<EmittedMetric[]> {
  const savedEnv = { ...process.env };
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const harness = transformHarness();
  harness.documents.on(GetCommand).resolves({});
  harness.documents.on(PutCommand).resolves({});
  try {
    Object.assign(process.env, environment, {
      READING_SCHEMA_PATH: path.join(ROOT, 'schemas', 'power-meter.yaml'),
      POWERTOOLS_METRICS_DISABLED: 'false',
      POWERTOOLS_DEV: 'true',
    });
    const { s3, documents, kinesis } = harness.deps;
    const handler = createTransformHandler(
      process.env,
      { s3, documents, kinesis },
      {
        logger: new Logger({ serviceName: 'transform', logLevel: 'SILENT' }),
        metrics: new Metrics({ serviceName: 'transform', namespace: METRICS_NAMESPACE }),
      },
    );
    const event: KinesisStreamEvent = kinesisEvent([{ sequenceNumber: sequenceNumber(1), data: readings }]);
    expect(await handler(event, { functionName: 'transform', awsRequestId: 'test' } as Context)).toEqual({
      batchItemFailures: [],
    });
  } finally {
    process.env = savedEnv;
    harness.restore();
    log.mockRestore();
  }
  return lines.flatMap(parseEmf);
}

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['readingSchema=schemas/skab.json', SKAB_CONTEXT],
    ['readingSchema=schemas/power-meter.yaml', METER_CONTEXT],
  ])('the app of %s passes every rule with no unacknowledged finding', (_name, context) => {
    const report = new AwsSolutionsChecks().validateScope(synthApp(context).app);
    expect(describeViolations(report)).toEqual([]);
    expect(report.success).toBe(true);
  });
});
