import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { type AlerterDeps, processAlerterBatch } from '../../lambdas/alerter/process-batch';
import type { AnomalyEvent } from '../../lambdas/shared/anomaly-events';
import { kinesisEvent, sequenceNumber } from '../fixtures/kinesis-event';

const ANOMALIES_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/anomalies';
const T0 = Date.UTC(2026, 10, 23, 19, 47, 0);
const QUIET_MS = 60_000;

function anomaly(equipmentId: number, timestampMs: number, deviation = 0.23): AnomalyEvent {
  return {
    event_id: `shardId-000000000000:${timestampMs}:0`,
    equipment_id: equipmentId,
    timestamp: new Date(timestampMs).toISOString(),
    timestamp_ms: timestampMs,
    score: 0.9,
    anomalous_features: ['temperature'],
    reasons: [`temperature +${Math.round(deviation * 100)}% over baseline`],
    values: {
      vibration_amplitude: 250,
      vibration_frequency: 1000,
      temperature: 60 * (1 + deviation),
      humidity: 30,
    },
    model_version: 'test',
    source: {
      stream: 'sensor-readings',
      shard_id: 'shardId-000000000000',
      sequence_number: '1',
      reading_index: 0,
    },
  };
}

let sns: AwsClientStub<SNSClient>;
let dynamo: AwsClientStub<DynamoDBDocumentClient>;
let table: Map<string, Record<string, unknown>>;
let published: { Subject?: string; MessageAttributes?: Record<string, { StringValue?: string }> }[];

function deps(episodes = new Map()): AlerterDeps {
  return {
    config: {
      topicArn: 'arn:aws:sns:us-east-1:123456789012:anomaly-alerts',
      stateTable: 'sensor-readings',
      quietMs: QUIET_MS,
      stateTtlSeconds: 86_400,
    },
    sns: new SNSClient({}),
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    logger: new Logger({ serviceName: 'alerter-test' }),
    metrics: new Metrics({ serviceName: 'alerter-test', namespace: 'Test' }),
    episodes,
  };
}

const batch = (records: AnomalyEvent[][], firstSequence = 1) =>
  kinesisEvent(
    records.map((events, i) => ({
      sequenceNumber: sequenceNumber(firstSequence + i),
      data: events,
      partitionKey: String(events[0].equipment_id),
    })),
    ANOMALIES_ARN,
  );

beforeEach(() => {
  sns = mockClient(SNSClient);
  dynamo = mockClient(DynamoDBDocumentClient);
  table = new Map();
  published = [];
  sns.on(PublishCommand).callsFake((input) => {
    published.push(input);
    return { MessageId: String(published.length) };
  });
  dynamo.on(GetCommand).callsFake((input) => ({ Item: table.get(`${input.Key.pk}|${input.Key.sk}`) }));
  dynamo.on(PutCommand).callsFake((input) => {
    table.set(`${input.Item.pk}|${input.Item.sk}`, input.Item);
    return {};
  });
});
afterEach(() => {
  sns.restore();
  dynamo.restore();
});

describe('alerter', () => {
  test('a burst of anomalies on one equipment sends one alert, not one per reading', async () => {
    const events = Array.from({ length: 300 }, (_, i) => anomaly(101, T0 + i * 100));

    const response = await processAlerterBatch(batch([events.slice(0, 150), events.slice(150)]), deps());

    expect(response.batchItemFailures).toEqual([]);
    expect(published).toHaveLength(1);
    expect(published[0].Subject).toBe('Anomaly on equipment 101: temperature +23% over baseline');
    expect(published[0].MessageAttributes).toMatchObject({
      equipment_id: { DataType: 'Number', StringValue: '101' },
      features: { DataType: 'String.Array', StringValue: '["temperature"]' },
      severity: { DataType: 'String', StringValue: 'medium' },
    });
  });

  test('anomalies after a quiet period start a new episode and a new alert; each equipment has its own', async () => {
    const response = await processAlerterBatch(
      batch([
        [anomaly(101, T0), anomaly(101, T0 + 30_000)],
        [anomaly(102, T0 + 1_000)],
        [anomaly(101, T0 + 30_000 + QUIET_MS + 1)],
      ]),
      deps(),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(published.map((p) => p.MessageAttributes?.equipment_id.StringValue)).toEqual([
      '101',
      '102',
      '101',
    ]);
  });

  test('episode state survives a cold start: a new instance continues the episode without alerting again', async () => {
    await processAlerterBatch(batch([[anomaly(101, T0)]]), deps());
    expect(published).toHaveLength(1);

    await processAlerterBatch(batch([[anomaly(101, T0 + 10_000)]], 2), deps(new Map()));

    expect(published).toHaveLength(1);
    expect(table.get('episode|101')?.state).toMatchObject({
      startedMs: T0,
      lastAnomalyMs: T0 + 10_000,
      anomalyCount: 2,
      subject: 'Anomaly on equipment 101: temperature +23% over baseline',
      severity: 'medium',
    });
  });

  test('a retried record whose events were already seen does not alert twice', async () => {
    const warm = deps();
    const event = batch([[anomaly(101, T0), anomaly(101, T0 + 500)]]);
    await processAlerterBatch(event, warm);
    await processAlerterBatch(event, warm);

    expect(published).toHaveLength(1);
  });

  test('a failed publish fails the record and its retry publishes the alert: an alert is never skipped', async () => {
    sns
      .on(PublishCommand)
      .rejectsOnce(new Error('Throttled'))
      .callsFake((input) => {
        published.push(input);
        return { MessageId: 'x' };
      });
    const warm = deps();
    const event = batch([[anomaly(101, T0)], [anomaly(101, T0 + 1_000)]]);

    const first = await processAlerterBatch(event, warm).catch((error: Error) => error);
    expect(first).toBeInstanceOf(Error);
    expect(published).toHaveLength(0);

    const retry = await processAlerterBatch(event, warm);
    expect(retry.batchItemFailures).toEqual([]);
    expect(published).toHaveLength(1);
  });

  test('a record that is not an anomalies array is reported failed, with the records after it', async () => {
    const event = kinesisEvent(
      [
        { sequenceNumber: sequenceNumber(1), data: [anomaly(101, T0)] },
        { sequenceNumber: sequenceNumber(2), data: { hello: 'world' } },
        { sequenceNumber: sequenceNumber(3), data: [anomaly(102, T0)] },
      ],
      ANOMALIES_ARN,
    );

    const response = await processAlerterBatch(event, deps());

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: sequenceNumber(2) },
      { itemIdentifier: sequenceNumber(3) },
    ]);
    expect(published).toHaveLength(1);
  });
});
