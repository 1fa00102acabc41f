import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { type AlerterDeps, processAlerterBatch } from '../../lambdas/alerter/process-batch';
import type { AnomalyEvent } from '../../lambdas/shared/anomaly-events';
import { kinesisEvent, sequenceNumber } from '../fixtures/kinesis-event';

const ANOMALIES_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/anomalies';
const T0 = Date.UTC(2026, 10, 23, 19, 47, 0);
const QUIET_MS = 60_000;
const BUDGET = 20;

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
let published: {
  Subject?: string;
  Message?: string;
  MessageAttributes?: Record<string, { StringValue?: string }>;
}[];
/** The alerter's wall clock, which the alert budget's minutes follow. */
let nowMs: number;

function deps(episodes = new Map()): AlerterDeps {
  return {
    config: {
      topicArn: 'arn:aws:sns:us-east-1:123456789012:anomaly-alerts',
      stateTable: 'sensor-readings',
      quietMs: QUIET_MS,
      stateTtlSeconds: 86_400,
      alertBudgetPerMinute: BUDGET,
    },
    sns: new SNSClient({}),
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    logger: new Logger({ serviceName: 'alerter-test' }),
    metrics: new Metrics({ serviceName: 'alerter-test', namespace: 'Test' }),
    episodes,
    now: () => nowMs,
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

/** One anomalies record per equipment, as the transform writes them: `count` equipment from `firstId`. */
const storm = (firstId: number, count: number, timestampMs = T0) =>
  batch(ids(firstId, count).map((equipmentId) => [anomaly(equipmentId, timestampMs)]));

const ids = (firstId: number, count: number) => Array.from({ length: count }, (_, i) => firstId + i);

const summariesOf = (messages: typeof published) =>
  messages.filter((message) => message.MessageAttributes?.kind?.StringValue === 'budget-summary');

/** The equipment of the episode alerts published, in order. */
const alertedEquipment = () =>
  published
    .filter((message) => message.MessageAttributes?.kind?.StringValue === 'episode')
    .map((message) => Number(message.MessageAttributes?.equipment_id.StringValue));

beforeEach(() => {
  sns = mockClient(SNSClient);
  dynamo = mockClient(DynamoDBDocumentClient);
  table = new Map();
  published = [];
  nowMs = T0 + 5_000;
  sns.on(PublishCommand).callsFake((input) => {
    published.push(input);
    return { MessageId: String(published.length) };
  });
  dynamo.on(GetCommand).callsFake((input) => ({ Item: table.get(`${input.Key.pk}|${input.Key.sk}`) }));
  dynamo.on(PutCommand).callsFake((input) => {
    table.set(`${input.Item.pk}|${input.Item.sk}`, input.Item);
    return {};
  });
  // `ADD #counter :amount SET expires_at = :expiresAt`, atomically as DynamoDB does it.
  dynamo.on(UpdateCommand).callsFake((input) => {
    const key = `${input.Key.pk}|${input.Key.sk}`;
    const counter = input.ExpressionAttributeNames['#counter'];
    const item = { ...table.get(key), ...input.Key } as Record<string, number>;
    item[counter] = (item[counter] ?? 0) + input.ExpressionAttributeValues[':amount'];
    item.expires_at = input.ExpressionAttributeValues[':expiresAt'];
    table.set(key, item);
    return { Attributes: { [counter]: item[counter], expires_at: item.expires_at } };
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

  test('keeps one alert history item per episode, updated as it grows, and both episodes of an equipment', async () => {
    const later = T0 + 30_000 + QUIET_MS + 1;
    await processAlerterBatch(batch([[anomaly(101, T0)], [anomaly(101, T0 + 30_000, 0.41)]]), deps());
    await processAlerterBatch(batch([[anomaly(101, later)]], 3), deps(new Map()));

    const history = [...table.entries()].filter(([key]) => key.startsWith('alerts#'));
    expect(history.map(([key]) => key)).toEqual([
      `alerts#2026-11-23|00${T0}#101`,
      `alerts#2026-11-23|00${later}#101`,
    ]);
    const [first, second] = history.map(([, item]) => item);
    expect(first.state).toMatchObject({
      episodeId: `101-${T0}`,
      startedMs: T0,
      lastAnomalyMs: T0 + 30_000,
      anomalyCount: 2,
      subject: 'Anomaly on equipment 101: temperature +23% over baseline',
      reasons: [{ feature: 'temperature', text: 'temperature +23% over baseline', score: 0.9 }],
    });
    expect(second.state).toMatchObject({ episodeId: `101-${later}`, anomalyCount: 1 });
    // The same time to live as the episode items: READINGS_TTL_DAYS from the alerter's clock.
    expect(first.expires_at).toBe(Math.floor(nowMs / 1000) + 86_400);
    expect(table.get('episode|101')?.state).toMatchObject({ episodeId: `101-${later}` });
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

  test('a batch with 500 equipment going anomalous sends at most the budget of alerts and one summary naming the rest', async () => {
    const response = await processAlerterBatch(storm(101, 500), deps());

    expect(response.batchItemFailures).toEqual([]);
    expect(published).toHaveLength(BUDGET + 1);
    expect(alertedEquipment()).toEqual(ids(101, BUDGET));
    const summaries = summariesOf(published);
    expect(summaries).toHaveLength(1);
    const [summary] = summaries;
    expect(summary.Subject).toBe('Alert budget reached: 480 more equipment went anomalous at 19:47 UTC');
    expect(summary.MessageAttributes).toMatchObject({
      kind: { StringValue: 'budget-summary' },
      suppressed_count: { StringValue: '480' },
      equipment_ids: { StringValue: JSON.stringify(ids(121, 20)) },
      severity: { StringValue: 'medium' },
    });
    expect(summary.Message).toContain(`Equipment among them (the first 20): ${ids(121, 20).join(', ')}, ...`);
    expect(summary.Message).toContain('npm run last3');
    expect(summary.Message).toContain('npm run dashboard');
    expect(summary.Message).toContain('streamdata_last3_view');
    expect(summary.Message).toContain('until 19:48 UTC');
  });

  test('equipment held back by the budget still have their episode recorded: they stay quiet while it lasts', async () => {
    await processAlerterBatch(storm(101, 500), deps());
    expect(table.get('episode|450')?.state).toMatchObject({ startedMs: T0, alertSuppressed: true });
    expect(table.get('episode|101')?.state).not.toHaveProperty('alertSuppressed');
    published = [];

    // A minute later (a fresh budget), from a cold instance: the same episodes go on, nothing is new.
    nowMs += 60_000;
    await processAlerterBatch(storm(101, 500, T0 + 30_000), deps(new Map()));

    expect(published).toEqual([]);
  });

  test('the budget holds across consecutive batches of a minute, and across cold-started instances', async () => {
    await processAlerterBatch(storm(101, 15), deps());
    expect(published).toHaveLength(15);

    await processAlerterBatch(storm(201, 15), deps(new Map()));
    expect(alertedEquipment()).toEqual([...ids(101, 15), ...ids(201, 5)]);
    const [summary] = summariesOf(published);
    expect(summary.MessageAttributes?.suppressed_count.StringValue).toBe('10');
    expect(summary.MessageAttributes?.equipment_ids.StringValue).toBe(JSON.stringify(ids(206, 10)));

    // The minute's one summary is sent: later storms of the minute are counted, not sent.
    await processAlerterBatch(storm(301, 100), deps(new Map()));
    expect(published).toHaveLength(BUDGET + 1);
    expect(table.get('alert-budget|2026-11-23T19:47Z')).toMatchObject({ new_episodes: 130, summaries: 2 });
  });

  test('a new minute gets a fresh budget, and a summary of its own', async () => {
    await processAlerterBatch(storm(101, 30), deps());
    expect(published).toHaveLength(BUDGET + 1);

    nowMs += 60_000;
    await processAlerterBatch(storm(1001, 30), deps());

    expect(published).toHaveLength(2 * (BUDGET + 1));
    expect(alertedEquipment()).toEqual([...ids(101, BUDGET), ...ids(1001, BUDGET)]);
    expect(summariesOf(published).map((summary) => summary.Subject)).toEqual([
      'Alert budget reached: 10 more equipment went anomalous at 19:47 UTC',
      'Alert budget reached: 10 more equipment went anomalous at 19:48 UTC',
    ]);
  });

  test('the budget is shared by concurrent instances: each alert of the minute is granted once', async () => {
    await Promise.all([
      processAlerterBatch(storm(101, 50), deps(new Map())),
      processAlerterBatch(storm(201, 50), deps(new Map())),
    ]);

    expect(alertedEquipment()).toHaveLength(BUDGET);
    expect(summariesOf(published)).toHaveLength(1);
  });

  test('it counts alerts sent, held back by the budget and summaries sent in its metrics', async () => {
    const warm = deps();
    const addMetric = jest.spyOn(warm.metrics, 'addMetric');

    await processAlerterBatch(storm(101, 25), warm);

    expect(addMetric.mock.calls.map(([name, , value]) => [name, value])).toEqual([
      ['AlertsSent', BUDGET],
      ['AlertsSuppressed', 5],
      ['AlertBudgetSummariesSent', 1],
    ]);
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
