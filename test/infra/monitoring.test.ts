import * as path from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FEATURE_LABELS, FEATURES } from '../../lambdas/shared/features';
import {
  ALERTER_METRICS,
  EQUIPMENT_DIMENSION,
  EQUIPMENT_METRICS,
  METRICS_NAMESPACE,
  TRANSFORM_METRICS,
} from '../../lambdas/shared/metrics-catalog';
import { MAX_DASHBOARD_EQUIPMENT, readPipelineConfig } from '../../lib/config';
import { ALARM_NAMES, type AlarmKey } from '../../lib/constructs/monitoring';
import { ARRIVAL_MS, kinesisEvent, labBurst, labReading, sequenceNumber } from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';
import {
  attPlaceholder,
  dashboardBody,
  describeMetric,
  type EmittedMetric,
  environmentOf,
  parseEmf,
  refPlaceholder,
  resolveString,
  type WidgetMetric,
} from './dashboard-body';
import {
  arnOf,
  describeViolations,
  expectResource,
  type Json,
  logicalIdAt,
  ref,
  resourcesOfType,
  type Synthesized,
  synthPipeline,
} from './helpers';

/** Every monitoring setting changed at once, as `-c key=value` gives them. */
const MONITORING_OVERRIDES = {
  namePrefix: 'dev-',
  dashboardEquipment: '7, 8',
  opsEmail: 'oncall@example.com',
  iteratorAgeAlarmSeconds: '120',
  quarantineRateAlarm: '0.2',
  archiveFreshnessAlarmSeconds: '1200',
};

const ALARM_KEYS = Object.keys(ALARM_NAMES) as AlarmKey[];
const alarmPath = (key: AlarmKey) => `Monitoring/${key[0].toUpperCase()}${key.slice(1)}Alarm`;

function idsOf({ stack }: Synthesized) {
  return {
    key: logicalIdAt(stack, 'PipelineKey'),
    opsTopic: logicalIdAt(stack, 'Monitoring/OpsTopic'),
    alertsTopic: logicalIdAt(stack, 'Alerts/Topic'),
    dashboard: logicalIdAt(stack, 'Monitoring/Dashboard'),
    input: logicalIdAt(stack, 'Streams/Input'),
    anomalies: logicalIdAt(stack, 'Streams/Anomalies'),
    deliveryStream: logicalIdAt(stack, 'RawArchive/DeliveryStream'),
    transformFunction: logicalIdAt(stack, 'Transform/Consumer/Function'),
    alerterFunction: logicalIdAt(stack, 'Alerts/Consumer/Function'),
    transformDlq: logicalIdAt(stack, 'Transform/Consumer/DeadLetterQueue'),
    alerterDlq: logicalIdAt(stack, 'Alerts/Consumer/DeadLetterQueue'),
    alarms: Object.fromEntries(ALARM_KEYS.map((key) => [key, logicalIdAt(stack, alarmPath(key))])) as Record<
      AlarmKey,
      string
    >,
  };
}
type Ids = ReturnType<typeof idsOf>;

const dashboardOf = (json: Json, ids: Ids) => dashboardBody(json, ids.dashboard);

/** Alarm metrics (`Metrics` of a metric-math alarm) in the same shape as widget metrics. */
function alarmMetrics(alarm: Json): (WidgetMetric & { id: string })[] {
  return (alarm.Properties.Metrics ?? [])
    .filter((m: Json) => m.MetricStat)
    .map((m: Json) => ({
      id: m.Id,
      namespace: m.MetricStat.Metric.Namespace,
      name: m.MetricStat.Metric.MetricName,
      dimensions: Object.fromEntries(
        (m.MetricStat.Metric.Dimensions ?? []).map((d: Json) => [d.Name, resolveString(d.Value)]),
      ),
      options: { stat: m.MetricStat.Stat, period: m.MetricStat.Period },
    }));
}

// ---------------------------------------------------------------------------------------------------
// What the deployed handlers emit: lambdas/transform/index.ts and lambdas/alerter/index.ts, run with the
// environment the template gives them and the SDK clients mocked, print embedded-metric-format lines.

type Handler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse>;

async function emittedByHandlers(json: Json, ids: Ids): Promise<EmittedMetric[]> {
  const savedEnv = { ...process.env };
  const lines: string[] = [];
  const quiet = (['info', 'warn', 'error', 'debug'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation(() => {}),
  );
  const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const harness = transformHarness();
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: '1' });
  harness.documents.on(GetCommand).resolves({});
  harness.documents.on(PutCommand).resolves({});
  try {
    Object.assign(
      process.env,
      environmentOf(json, ids.transformFunction),
      environmentOf(json, ids.alerterFunction),
      {
        // The bundle's copy of the model is beside the handler in Lambda; here it is the repository's.
        MODEL_PATH: path.join(__dirname, '..', '..', 'model', 'default-model.json'),
        // Print the EMF lines (the test setup disables metrics), through the global console.
        POWERTOOLS_METRICS_DISABLED: 'false',
        POWERTOOLS_DEV: 'true',
      },
    );
    // Loaded now, with this environment (and not in an isolated registry: the SDK clients they
    // create must be the classes mocked above).
    const transform: Handler = require('../../lambdas/transform/index').handler;
    const alerter: Handler = require('../../lambdas/alerter/index').handler;
    const context = (functionName: string) => ({ functionName, awsRequestId: 'test' }) as Context;

    // Calm readings of 101 then a spike (an anomaly), bursts of 102 and 103, and a malformed record.
    const calm = Array.from({ length: 30 }, (_, i) => labReading(101, ARRIVAL_MS - 100 + i));
    const response = await transform(
      kinesisEvent([
        {
          sequenceNumber: sequenceNumber(1),
          data: [...calm, labReading(101, ARRIVAL_MS - 10, { temperature: 95 })],
        },
        { sequenceNumber: sequenceNumber(2), data: labBurst(102, 5), partitionKey: '102' },
        { sequenceNumber: sequenceNumber(3), data: labBurst(103, 5), partitionKey: '103' },
        { sequenceNumber: sequenceNumber(4), data: Buffer.from('not json') },
      ]),
      context('transform'),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    // The alerter gets what the transform put on the anomalies stream.
    expect(harness.anomalyRecords.length).toBeGreaterThan(0);
    await alerter(
      kinesisEvent(
        harness.anomalyRecords.map((record, i) => ({
          sequenceNumber: sequenceNumber(i + 1),
          data: record.Data as Uint8Array,
          partitionKey: record.PartitionKey,
        })),
      ),
      context('alerter'),
    );
  } finally {
    process.env = savedEnv;
    harness.restore();
    sns.restore();
    log.mockRestore();
    for (const spy of quiet) spy.mockRestore();
  }
  return lines.flatMap(parseEmf);
}

// ---------------------------------------------------------------------------------------------------

let base: Synthesized;
let ids: Ids;
let json: Json;
let emitted: EmittedMetric[];

beforeAll(async () => {
  base = synthPipeline();
  ids = idsOf(base);
  json = base.json;
  emitted = await emittedByHandlers(json, ids);
});

/** The pipeline's metrics, as the catalog names them. */
const CATALOG_METRICS = [
  ...Object.values(TRANSFORM_METRICS),
  EQUIPMENT_METRICS.readings,
  EQUIPMENT_METRICS.anomalies,
  ...Object.values(EQUIPMENT_METRICS.featureSums),
  ...Object.values(ALERTER_METRICS),
];

describe('what the handlers emit (the reference for the dashboard and the alarms)', () => {
  test('the deployed handlers emit every metric of the catalog, in its namespace', () => {
    const names = new Set(emitted.filter((m) => m.namespace === METRICS_NAMESPACE).map((m) => m.name));
    expect(CATALOG_METRICS.filter((name) => !names.has(name))).toEqual([]);
  });
});

describe('CloudWatch dashboard', () => {
  test('is named sensor-pipeline, with the namePrefix', () => {
    expect(dashboardOf(json, ids).name).toBe('sensor-pipeline');
    const variant = synthPipeline(MONITORING_OVERRIDES);
    expect(dashboardOf(variant.json, idsOf(variant)).name).toBe('dev-sensor-pipeline');
  });

  test('every metric of the pipeline namespace it reads is one the handlers emit, with the same dimensions and values', () => {
    const { metrics } = dashboardOf(json, ids);
    const ours = metrics.filter((m) => m.namespace === METRICS_NAMESPACE);
    expect(ours.length).toBeGreaterThan(20);
    const emittedSet = new Set(emitted.map(describeMetric));
    expect(ours.map(describeMetric).filter((m) => !emittedSet.has(m))).toEqual([]);
  });

  test('it reads every metric of the catalog', () => {
    const names = new Set(
      dashboardOf(json, ids)
        .metrics.filter((m) => m.namespace === METRICS_NAMESPACE)
        .map((m) => m.name),
    );
    expect(CATALOG_METRICS.filter((name) => !names.has(name))).toEqual([]);
  });

  test.each([
    ['default equipment', {}, [101, 102, 103]],
    ['dashboardEquipment=7, 8', MONITORING_OVERRIDES, [7, 8]],
  ])(
    'each feature has a graph with one line per equipment: the sum of its values over the readings, per minute (%s)',
    (_name, context, equipment) => {
      const variant = synthPipeline(context);
      const { metricWidgets } = dashboardOf(variant.json, idsOf(variant));
      for (const feature of FEATURES) {
        const sumMetric = EQUIPMENT_METRICS.featureSums[feature];
        const graphs = metricWidgets.filter((w) => w.metrics.some((m) => m.name === sumMetric));
        expect(graphs).toHaveLength(1);
        const [graph] = graphs;
        expect(graph.widget.properties.title).toContain(FEATURE_LABELS[feature]);
        const byId = new Map(graph.metrics.map((m) => [m.options.id as string, m]));
        // Only the averages are drawn; the sums and counts they divide are hidden.
        expect(graph.metrics.every((m) => m.options.visible === false)).toBe(true);
        const lines = graph.expressions.map(({ expression, options }) => {
          const match = /^(\w+) \/ (\w+)$/.exec(expression);
          expect(match).not.toBeNull();
          const [numerator, denominator] = [byId.get(match?.[1] ?? ''), byId.get(match?.[2] ?? '')];
          expect(numerator).toMatchObject({ name: sumMetric, options: { stat: 'Sum', period: 60 } });
          expect(denominator).toMatchObject({
            name: EQUIPMENT_METRICS.readings,
            options: { stat: 'Sum', period: 60 },
          });
          const equipmentId = numerator?.dimensions[EQUIPMENT_DIMENSION];
          expect(denominator?.dimensions).toEqual(numerator?.dimensions);
          expect(options.label).toContain(equipmentId);
          expect(options.period).toBe(60);
          return Number(equipmentId);
        });
        expect(lines).toEqual(equipment);
      }
    },
  );

  test('anomalies per minute are drawn per equipment of dashboardEquipment', () => {
    const { metrics } = dashboardOf(json, ids);
    const anomalies = metrics.filter((m) => m.name === EQUIPMENT_METRICS.anomalies);
    expect(anomalies.map((m) => m.dimensions[EQUIPMENT_DIMENSION])).toEqual(['101', '102', '103']);
    for (const m of anomalies) expect(m.options).toMatchObject({ stat: 'Sum', period: 60 });
  });

  test('its AWS metrics are those of the input stream, both functions, both dead-letter queues and the delivery stream', () => {
    const aws = dashboardOf(json, ids)
      .metrics.filter((m) => m.namespace.startsWith('AWS/'))
      .map(describeMetric);
    const lambda = (name: string, functionId: string) =>
      `AWS/Lambda ${name} FunctionName=${refPlaceholder(functionId)}`;
    const expected = [
      `AWS/Kinesis IncomingRecords StreamName=${refPlaceholder(ids.input)}`,
      `AWS/Kinesis IncomingBytes StreamName=${refPlaceholder(ids.input)}`,
      `AWS/Kinesis WriteProvisionedThroughputExceeded StreamName=${refPlaceholder(ids.input)}`,
      lambda('Duration', ids.transformFunction),
      lambda('Errors', ids.transformFunction),
      lambda('Throttles', ids.transformFunction),
      lambda('Errors', ids.alerterFunction),
      lambda('Throttles', ids.alerterFunction),
      lambda('IteratorAge', ids.transformFunction),
      lambda('IteratorAge', ids.alerterFunction),
      `AWS/Firehose DeliveryToS3.Success DeliveryStreamName=${refPlaceholder(ids.deliveryStream)}`,
      `AWS/Firehose DeliveryToS3.DataFreshness DeliveryStreamName=${refPlaceholder(ids.deliveryStream)}`,
      ...[ids.transformDlq, ids.alerterDlq].map(
        (queue) =>
          `AWS/SQS ApproximateNumberOfMessagesVisible QueueName=${attPlaceholder(queue, 'QueueName')}`,
      ),
    ];
    expect([...new Set(aws)].sort()).toEqual(expected.sort());
  });

  test('every graph and every series uses 1-minute periods, and a text widget says refresh is the viewer’s choice', () => {
    const { widgets, metricWidgets } = dashboardOf(json, ids);
    for (const { widget, metrics, expressions } of metricWidgets) {
      expect(widget.properties.period).toBe(60);
      for (const series of [...metrics, ...expressions]) expect(series.options.period).toBe(60);
    }
    const text = widgets.filter((w) => w.type === 'text').map((w) => w.properties.markdown as string);
    expect(text.join('\n')).toMatch(/refresh is the viewer's choice/i);
    expect(text.join('\n')).toMatch(/10 seconds/);
  });

  test('an alarm status widget shows every alarm', () => {
    const alarmWidgets = dashboardOf(json, ids).widgets.filter((w) => w.type === 'alarm');
    expect(alarmWidgets).toHaveLength(1);
    expect([...alarmWidgets[0].properties.alarms].sort()).toEqual(
      ALARM_KEYS.map((key) => attPlaceholder(ids.alarms[key], 'Arn')).sort(),
    );
  });
});

describe('ops alarms', () => {
  interface Expected {
    iteratorAgeMs: number;
    quarantineRate: number;
    freshnessSeconds: number;
  }
  const DEFAULTS: Expected = { iteratorAgeMs: 300_000, quarantineRate: 0.05, freshnessSeconds: 900 };
  const OVERRIDDEN: Expected = { iteratorAgeMs: 120_000, quarantineRate: 0.2, freshnessSeconds: 1200 };

  /** Each alarm's single metric (or nothing, for metric math) and settings. */
  const expectedAlarms = (v: Ids, e: Expected): Record<AlarmKey, Json> => {
    const functionDimension = (id: string) => [{ Name: 'FunctionName', Value: ref(id) }];
    const queueDimension = (id: string) => [
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } },
    ];
    const streamDimension = [{ Name: 'DeliveryStreamName', Value: ref(v.deliveryStream) }];
    const iteratorAge = (functionId: string) => ({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: functionDimension(functionId),
      Statistic: 'Maximum',
      Period: 60,
      Threshold: e.iteratorAgeMs,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'ignore',
    });
    const deadLetters = (queueId: string) => ({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: queueDimension(queueId),
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
    });
    return {
      transformIteratorAge: iteratorAge(v.transformFunction),
      alerterIteratorAge: iteratorAge(v.alerterFunction),
      transformErrors: {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: functionDimension(v.transformFunction),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      },
      transformDeadLetters: deadLetters(v.transformDlq),
      alerterDeadLetters: deadLetters(v.alerterDlq),
      deliveryFailures: {
        Namespace: 'AWS/Firehose',
        MetricName: 'DeliveryToS3.Success',
        Dimensions: streamDimension,
        Statistic: 'Average',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      },
      deliveryFreshness: {
        Namespace: 'AWS/Firehose',
        MetricName: 'DeliveryToS3.DataFreshness',
        Dimensions: streamDimension,
        Statistic: 'Maximum',
        Period: 300,
        Threshold: e.freshnessSeconds,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      },
      quarantineRate: {
        Threshold: e.quarantineRate,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        MetricName: Match.absent(),
      },
      inputWriteThrottling: {
        Namespace: 'AWS/Kinesis',
        MetricName: 'WriteProvisionedThroughputExceeded',
        Dimensions: [{ Name: 'StreamName', Value: ref(v.input) }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      },
    };
  };

  test.each([
    ['default context', {}, DEFAULTS, ''],
    ['thresholds and namePrefix from context', MONITORING_OVERRIDES, OVERRIDDEN, 'dev-'],
  ])(
    'each alarm: metric, threshold, comparison, evaluation periods, missing data, name, and the ops topic as alarm and OK action (%s)',
    (_name, context, thresholds, prefix) => {
      const variant = synthPipeline(context);
      const v = idsOf(variant);
      const expected = expectedAlarms(v, thresholds);
      expect(
        resourcesOfType(variant.json, 'AWS::CloudWatch::Alarm')
          .map(([id]) => id)
          // The curation's alarm is its construct's (test/infra/curation.test.ts).
          .filter((id) => id !== logicalIdAt(variant.stack, 'Curation/FailedAlarm'))
          .sort(),
      ).toEqual(Object.values(v.alarms).sort());
      for (const key of ALARM_KEYS) {
        expectResource(variant.json, v.alarms[key], 'AWS::CloudWatch::Alarm', {
          Properties: {
            ...expected[key],
            AlarmName: `${prefix}sensor-pipeline-${ALARM_NAMES[key]}`,
            AlarmActions: [ref(v.opsTopic)],
            OKActions: [ref(v.opsTopic)],
            AlarmDescription: Match.stringLikeRegexp('.+'),
          },
        });
      }
    },
  );

  test.each([
    ['provisioned streams', {}],
    ['streamMode=on-demand', { streamMode: 'on-demand' }],
  ])(
    'producers throttled: any record Kinesis refused on the input stream (WriteProvisionedThroughputExceeded, sum over 5 minutes) raises input-write-throttling, to the ops topic (%s)',
    (_name, context) => {
      const variant = synthPipeline(context);
      const v = idsOf(variant);
      const throttling = resourcesOfType(variant.json, 'AWS::CloudWatch::Alarm').filter(
        ([, r]) => r.Properties.MetricName === 'WriteProvisionedThroughputExceeded',
      );
      expect(throttling.map(([id]) => id)).toEqual([v.alarms.inputWriteThrottling]);
      const [, alarm] = throttling[0];
      // The input stream's, where producers put readings; not the anomalies stream the transform writes.
      expect(alarm.Properties).toMatchObject({
        AlarmName: 'sensor-pipeline-input-write-throttling',
        Namespace: 'AWS/Kinesis',
        Dimensions: [{ Name: 'StreamName', Value: ref(v.input) }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [ref(v.opsTopic)],
        OKActions: [ref(v.opsTopic)],
      });
      expect(JSON.stringify(alarm.Properties)).not.toContain(v.anomalies);
      expect(alarm.Properties.AlarmDescription).toMatch(/inputShardCount/);
      // On the dashboard: in the alarm status widget, and the throttled records beside the records in.
      const dashboard = dashboardOf(variant.json, v);
      const [alarmWidget] = dashboard.widgets.filter((w) => w.type === 'alarm');
      expect(alarmWidget.properties.alarms).toContain(attPlaceholder(v.alarms.inputWriteThrottling, 'Arn'));
      const graphs = dashboard.metricWidgets.filter((w) =>
        w.metrics.some((m) => m.name === 'WriteProvisionedThroughputExceeded'),
      );
      expect(graphs).toHaveLength(1);
      expect(graphs[0].metrics.map((m) => m.name)).toContain('IncomingRecords');
      expect(graphs[0].metrics.find((m) => m.name === 'WriteProvisionedThroughputExceeded')).toMatchObject({
        dimensions: { StreamName: refPlaceholder(v.input) },
        options: { stat: 'Sum', period: 60 },
      });
    },
  );

  test('the quarantine rate is quarantined / (valid + quarantined) readings over 5 minutes, metrics the transform emits', () => {
    const alarm = json.Resources[ids.alarms.quarantineRate];
    const metrics = alarmMetrics(alarm);
    const idOf = (name: string) => metrics.find((m) => m.name === name)?.id;
    const quarantined = idOf(TRANSFORM_METRICS.readingsQuarantined);
    const valid = idOf(TRANSFORM_METRICS.readingsValid);
    expect(metrics).toHaveLength(2);
    const expressions = alarm.Properties.Metrics.filter((m: Json) => m.Expression);
    expect(expressions).toEqual([
      expect.objectContaining({
        Expression: `${quarantined} / (${valid} + ${quarantined})`,
        ReturnData: true,
      }),
    ]);
    for (const m of metrics) expect(m.options).toEqual({ stat: 'Sum', period: 300 });
    const emittedSet = new Set(emitted.map(describeMetric));
    expect(metrics.map(describeMetric).filter((m) => !emittedSet.has(m))).toEqual([]);
  });
});

describe('ops topic', () => {
  test("is its own topic, named pipeline-ops, encrypted with the stack's key, and refuses publishing without TLS", () => {
    expect(ids.opsTopic).not.toBe(ids.alertsTopic);
    expectResource(json, ids.opsTopic, 'AWS::SNS::Topic', {
      Properties: { TopicName: 'pipeline-ops', KmsMasterKeyId: arnOf(ids.key) },
    });
    const variant = synthPipeline(MONITORING_OVERRIDES);
    expectResource(variant.json, idsOf(variant).opsTopic, 'AWS::SNS::Topic', {
      Properties: { TopicName: 'dev-pipeline-ops' },
    });
    base.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(ids.opsTopic)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('CloudWatch alarms of this account may publish to it', () => {
    base.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(ids.opsTopic)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: ref(ids.opsTopic),
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ]),
      },
    });
  });

  test('the key lets CloudWatch (on behalf of this account only) decrypt and generate data keys', () => {
    const statements = json.Resources[ids.key].Properties.KeyPolicy.Statement as Json[];
    const forCloudWatch = statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(forCloudWatch).toHaveLength(1);
    expect(forCloudWatch[0]).toMatchObject({
      Effect: 'Allow',
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect([forCloudWatch[0].Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  test('no subscription without opsEmail; opsEmail subscribes that address to the ops topic only', () => {
    expect(
      resourcesOfType(json, 'AWS::SNS::Subscription').filter(
        ([, r]) => r.Properties.TopicArn?.Ref === ids.opsTopic,
      ),
    ).toEqual([]);
    const variant = synthPipeline(MONITORING_OVERRIDES);
    const v = idsOf(variant);
    const subscriptions = resourcesOfType(variant.json, 'AWS::SNS::Subscription').map(
      ([, r]) => r.Properties,
    );
    expect(subscriptions).toEqual([
      { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: ref(v.opsTopic) },
    ]);
  });
});

describe('teardown, cdk-nag and outputs', () => {
  test.each([
    ['default context', {}],
    ['retainData=true', { retainData: 'true' }],
  ])('nothing of the monitoring is retained by cdk destroy, nor the key it uses (%s)', (_name, context) => {
    const variant = synthPipeline(context);
    const monitoring = variant.stack.node.findChild('Monitoring');
    const logicalIds = monitoring.node
      .findAll()
      .filter(CfnResource.isCfnResource)
      .map((resource) => variant.stack.getLogicalId(resource));
    expect(logicalIds.length).toBeGreaterThanOrEqual(11);
    for (const id of [...logicalIds, idsOf(variant).key]) {
      const resource = variant.json.Resources[id];
      expect(resource).toBeDefined();
      expect([id, resource.DeletionPolicy ?? 'Delete', resource.UpdateReplacePolicy ?? 'Delete']).toEqual([
        id,
        'Delete',
        'Delete',
      ]);
    }
  });

  test('the app passes every AwsSolutions rule with the monitoring settings and opsEmail set', () => {
    const report = new AwsSolutionsChecks().validateScope(synthPipeline(MONITORING_OVERRIDES).app);
    expect(describeViolations(report)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('outputs: the dashboard URL in the console of the stack region, and the ops topic ARN', () => {
    base.template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://console.aws.amazon.com/cloudwatch/home?region=',
            { Ref: 'AWS::Region' },
            '#dashboards:name=',
            ref(ids.dashboard),
          ],
        ],
      },
    });
    base.template.hasOutput('OpsTopicArn', { Value: ref(ids.opsTopic) });
  });
});

describe('monitoring context values', () => {
  const read = (context: Record<string, unknown>) => (key: string) => context[key];

  test('defaults: equipment 101, 102, 103; no opsEmail; iterator age 300 s; quarantine rate 0.05; archive freshness 900 s', () => {
    const config = readPipelineConfig(() => undefined);
    expect(config).toMatchObject({
      dashboardEquipment: [101, 102, 103],
      iteratorAgeAlarmSeconds: 300,
      quarantineRateAlarm: 0.05,
      archiveFreshnessAlarmSeconds: 900,
    });
    expect(config.opsEmail).toBeUndefined();
  });

  test.each([
    ['7, 8 ,9', [7, 8, 9]],
    ['42', [42]],
    [
      [5, 6],
      [5, 6],
    ],
    [12, [12]],
  ])('dashboardEquipment=%p reads as %p', (value, expected) => {
    expect(readPipelineConfig(read({ dashboardEquipment: value })).dashboardEquipment).toEqual(expected);
  });

  test('the string forms of -c convert', () => {
    expect(
      readPipelineConfig(
        read({
          opsEmail: 'oncall@example.com',
          iteratorAgeAlarmSeconds: '60',
          quarantineRateAlarm: '0.1',
          archiveFreshnessAlarmSeconds: '1800',
        }),
      ),
    ).toMatchObject({
      opsEmail: 'oncall@example.com',
      iteratorAgeAlarmSeconds: 60,
      quarantineRateAlarm: 0.1,
      archiveFreshnessAlarmSeconds: 1800,
    });
  });

  const tooMany = Array.from({ length: MAX_DASHBOARD_EQUIPMENT + 1 }, (_, i) => 100 + i).join(',');
  test.each([
    ['dashboardEquipment', 'abc'],
    ['dashboardEquipment', ''],
    ['dashboardEquipment', '101,,102'],
    ['dashboardEquipment', '0'],
    ['dashboardEquipment', '-1'],
    ['dashboardEquipment', '101,101'],
    ['dashboardEquipment', '3000000000'],
    ['dashboardEquipment', tooMany],
    ['opsEmail', 'not-an-email'],
    ['iteratorAgeAlarmSeconds', '0'],
    ['quarantineRateAlarm', '0'],
    ['quarantineRateAlarm', '1'],
    ['quarantineRateAlarm', 'high'],
    ['archiveFreshnessAlarmSeconds', '30'],
  ])('readPipelineConfig rejects %s=%p, naming the key and the value', (key, value) => {
    expect(() => readPipelineConfig(read({ [key]: value }))).toThrow(`${key}=${JSON.stringify(value)}`);
  });

  test('archiveFreshnessAlarmSeconds must exceed rawBufferIntervalSeconds, or the alarm would fire on normal buffering', () => {
    expect(() => readPipelineConfig(read({ rawBufferIntervalSeconds: '900' }))).toThrow(
      'archiveFreshnessAlarmSeconds=(not set): must be more than rawBufferIntervalSeconds (900)',
    );
    expect(
      readPipelineConfig(read({ rawBufferIntervalSeconds: '900', archiveFreshnessAlarmSeconds: '1200' })),
    ).toMatchObject({ archiveFreshnessAlarmSeconds: 1200 });
  });
});
