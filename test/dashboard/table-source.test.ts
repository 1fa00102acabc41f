import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { TableSource } from '../../dashboard/table-source';
import { EPISODE_PK } from '../../lambdas/alerter/episode-store';
import { buildDocuments, LATEST_PK } from '../../lambdas/shared/documents';
import type { EpisodeState } from '../../lambdas/shared/episodes';
import { windowContributions } from '../../lambdas/shared/minute-windows';
import type { ProcessedReading, RecordSource } from '../../lambdas/shared/processed-reading';
import type { EquipmentId } from '../../lambdas/shared/reading';
import { scoreRecord } from '../../lambdas/shared/score-record';
import { labReading } from '../fixtures/kinesis-event';
import { freshDetector, LIMITS } from '../shared/fixtures';
import { POWER_METER_SCHEMA, SKAB_SCHEMA, typicalValues } from './rows';

const NOW = Date.UTC(2026, 10, 23, 19, 50, 30);

/** An in-memory table answering Query on pk (and begins_with on sk) the way DynamoDB does. */
function fakeTable() {
  const items: Record<string, unknown>[] = [];
  const stub: AwsClientStub<DynamoDBDocumentClient> = mockClient(DynamoDBDocumentClient);
  stub.on(GetCommand).callsFake((input) => ({
    Item: items.find((item) => item.pk === input.Key.pk && item.sk === input.Key.sk),
  }));
  stub.on(QueryCommand).callsFake((input) => {
    const values = input.ExpressionAttributeValues;
    const prefix = values[':equipment'] as string | undefined;
    return {
      Items: items.filter(
        (item) => item.pk === values[':pk'] && (prefix === undefined || String(item.sk).startsWith(prefix)),
      ),
    };
  });
  return { items, stub };
}

/** Stores one Kinesis record's readings as the transform does: documents and newest-reading markers. */
function storeRecord(
  items: Record<string, unknown>[],
  sequence: number,
  readings: Record<string, unknown>[],
) {
  const source: RecordSource = {
    stream: 'sensor-readings',
    shardId: 'shardId-000000000000',
    partitionKey: String(readings[0].equipment_id),
    sequenceNumber: String(sequence),
    arrivalMs: NOW,
  };
  const { processed } = scoreRecord(source, Buffer.from(JSON.stringify(readings)), freshDetector(), LIMITS);
  items.push(...(buildDocuments(source, processed) as unknown as Record<string, unknown>[]));
  for (const { reading } of processed) {
    const marker = items.find((i) => i.pk === LATEST_PK && i.sk === String(reading.equipmentId));
    if (!marker)
      items.push({ pk: LATEST_PK, sk: String(reading.equipmentId), latest_ms: reading.timestampMs });
    else marker.latest_ms = Math.max(Number(marker.latest_ms), reading.timestampMs);
  }
}

/** An episode item as the alerter saves it. */
function episodeItem(state: EpisodeState): Record<string, unknown> {
  return { pk: EPISODE_PK, sk: String(state.equipmentId), state, expires_at: 0 };
}

const hotEpisode: EpisodeState = {
  equipmentId: 102,
  episodeId: `102-${NOW - 60_000}`,
  startedMs: NOW - 60_000,
  lastAnomalyMs: NOW - 60_000,
  anomalyCount: 1,
  peakScore: 0.99,
  features: ['temperature'],
  subject: 'Anomaly on equipment 102: temperature +58% over baseline',
  severity: 'high',
};

/** Saved before the alerter kept subject and severity, and started long before the window. */
const oldEpisode: EpisodeState = {
  equipmentId: 101,
  episodeId: `101-${NOW - 3_600_000}`,
  startedMs: NOW - 3_600_000,
  lastAnomalyMs: NOW - 3_590_000,
  anomalyCount: 4,
  peakScore: 0.8,
  features: ['vibration_amplitude', 'humidity'],
};

let table: ReturnType<typeof fakeTable>;
const client = () => DynamoDBDocumentClient.from(new DynamoDBClient({}));

beforeEach(() => {
  table = fakeTable();
  // Equipment 101: a reading every 10 s over the last 5 minutes; 102: two readings, one anomalous.
  storeRecord(
    table.items,
    1,
    Array.from({ length: 31 }, (_, i) => labReading(101, NOW - 300_000 + i * 10_000)),
  );
  storeRecord(table.items, 2, [
    labReading(102, NOW - 60_500),
    labReading(102, NOW - 60_000, { temperature: 95 }),
  ]);
  table.items.push(episodeItem(oldEpisode), episodeItem(hotEpisode));
});
afterEach(() => table.stub.restore());

describe('TableSource', () => {
  test('reads the last 3 minutes, binned per equipment, with the anomalous reading marked', async () => {
    const snapshot = await new TableSource(client(), 'readings', {
      target: 'local',
      now: () => NOW,
    }).snapshot();

    expect(snapshot).toMatchObject({
      target: 'local',
      generatedAt: new Date(NOW).toISOString(),
      window: { fromMs: NOW - 180_000, toMs: NOW },
      binMs: 1_000,
    });
    expect(snapshot.equipment.map((s) => [s.equipmentId, s.readings, s.anomalies])).toEqual([
      [101, 19, 0],
      [102, 2, 1],
    ]);
    expect(snapshot.equipment[1].anomalousReadings).toEqual([
      expect.objectContaining({
        t: NOW - 60_000,
        features: ['temperature'],
        values: expect.objectContaining({ temperature: 95 }),
      }),
    ]);
    expect(snapshot.counters).toEqual([
      { name: 'readings in window', value: 21 },
      { name: 'anomalous readings', value: 1 },
      { name: 'equipment', value: 2 },
      { name: 'alerts in window', value: 1 },
    ]);
  });

  test('maps the episode items to alerts, newest first, describing episodes saved without a subject', async () => {
    const snapshot = await new TableSource(client(), 'readings', { now: () => NOW }).snapshot();

    expect(snapshot.target).toBe('aws');
    expect(snapshot.alerts).toEqual([
      {
        startedMs: hotEpisode.startedMs,
        equipmentId: 102,
        subject: hotEpisode.subject,
        severity: 'high',
        features: ['temperature'],
        episodeId: hotEpisode.episodeId,
      },
      {
        startedMs: oldEpisode.startedMs,
        equipmentId: 101,
        subject: 'Anomaly on equipment 101: vibration amplitude, humidity anomalous',
        severity: 'medium',
        features: ['vibration_amplitude', 'humidity'],
        episodeId: oldEpisode.episodeId,
      },
    ]);
    const limited = await new TableSource(client(), 'readings', { now: () => NOW, maxAlerts: 1 }).snapshot();
    expect(limited.alerts.map((alert) => alert.episodeId)).toEqual([hotEpisode.episodeId]);
  });

  test('uses Query only: the minute partitions of readings and of windows, the episode items, never Scan', async () => {
    await new TableSource(client(), 'readings', { now: () => NOW }).snapshot();

    expect(table.stub.commandCalls(ScanCommand)).toHaveLength(0);
    // Besides one GetItem: the table's number of key suffixes, read once for both queries.
    expect(table.stub.commandCalls(GetCommand).map((call) => call.args[0].input.Key)).toEqual([
      { pk: 'settings', sk: 'key-suffixes' },
    ]);
    const queries = table.stub.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.every((query) => query.TableName === 'readings')).toBe(true);
    expect(queries.map((query) => query.ExpressionAttributeValues?.[':pk']).sort()).toEqual([
      EPISODE_PK,
      'minutes#2026-11-23T19:47',
      'minutes#2026-11-23T19:48',
      'minutes#2026-11-23T19:49',
      'minutes#2026-11-23T19:50',
      'readings#2026-11-23T19:47',
      'readings#2026-11-23T19:48',
      'readings#2026-11-23T19:49',
      'readings#2026-11-23T19:50',
    ]);
  });

  test('relative to latest, the window ends at the newest reading stored', async () => {
    const later = NOW + 3_600_000;

    const snapshot = await new TableSource(client(), 'readings', {
      relativeTo: 'latest',
      now: () => later,
    }).snapshot();

    expect(snapshot.window).toEqual({ fromMs: NOW - 180_000, toMs: NOW });
    expect(snapshot.equipment.map((s) => s.equipmentId)).toEqual([101, 102]);
  });

  test('an empty table gives an empty snapshot, relative to now or to latest', async () => {
    table.items.length = 0;

    const now = await new TableSource(client(), 'readings', { now: () => NOW }).snapshot();
    const latest = await new TableSource(client(), 'readings', { relativeTo: 'latest' }).snapshot();

    expect(now).toMatchObject({ window: { fromMs: NOW - 180_000, toMs: NOW }, equipment: [], alerts: [] });
    expect(latest).toMatchObject({ window: null, equipment: [], alerts: [] });
    expect(latest.counters.map((counter) => counter.value)).toEqual([0, 0, 0, 0]);
  });

  test("another schema's readings: its features, string equipment ids, per-minute means by name, alerts labelled by it", async () => {
    table.items.length = 0;
    const normal = typicalValues(SKAB_SCHEMA);
    storeSchemaRecord(
      table.items,
      SKAB_SCHEMA,
      7,
      Array.from({ length: 12 }, (_, i) => ({
        equipmentId: i % 2 === 0 ? 'pump-2' : 'pump-1',
        timestampMs: NOW - 60_000 + i * 1_000,
        values: { ...normal, current: 2 + i / 10 },
      })),
    );
    table.items.push(
      episodeItem({
        ...oldEpisode,
        equipmentId: 'pump-1',
        episodeId: `pump-1-${NOW - 30_000}`,
        startedMs: NOW - 30_000,
        features: ['temperature', 'volume_flow_rate_rms'],
      }),
    );

    const snapshot = await new TableSource(client(), 'readings', {
      now: () => NOW,
      schema: SKAB_SCHEMA,
    }).snapshot();

    expect(snapshot.schema).toBe('skab-pump@1');
    expect(snapshot.features.map((f) => `${f.label} (${f.unit})`)).toEqual([
      'accelerometer 1 RMS (g)',
      'accelerometer 2 RMS (g)',
      'motor current (A)',
      'pressure (bar)',
      'motor temperature (°C)',
      'fluid temperature (°C)',
      'motor voltage (V)',
      'flow rate (L/min)',
    ]);
    expect(snapshot.undeclaredFeatures).toBeUndefined();
    expect(snapshot.equipment.map((s) => [s.equipmentId, s.readings])).toEqual([
      ['pump-1', 6],
      ['pump-2', 6],
    ]);
    expect(Object.keys(snapshot.equipment[0].bins[0].means)).toEqual(SKAB_SCHEMA.featureNames);
    expect(snapshot.minutes?.map((m) => [m.equipmentId, m.count, m.means.current])).toEqual([
      ['pump-1', 6, expect.closeTo(2.6, 9)],
      ['pump-2', 6, expect.closeTo(2.5, 9)],
    ]);
    expect(snapshot.alerts).toEqual([
      expect.objectContaining({
        equipmentId: 'pump-1',
        subject: 'Anomaly on equipment pump-1: motor temperature, flow rate anomalous',
      }),
    ]);
    expect(snapshot.counters).toContainEqual({ name: 'equipment', value: 2 });
  });

  test('an optional feature left out is null in the per-minute means, not NaN', async () => {
    table.items.length = 0;
    const normal = typicalValues(POWER_METER_SCHEMA);
    storeSchemaRecord(
      table.items,
      POWER_METER_SCHEMA,
      8,
      [0, 1, 2].map((i) => ({
        equipmentId: 'feeder-01',
        timestampMs: NOW - 10_000 + i * 1_000,
        values: { ...normal, frequency_hz: Number.NaN },
      })),
    );

    const snapshot = await new TableSource(client(), 'readings', {
      now: () => NOW,
      schema: POWER_METER_SCHEMA,
    }).snapshot();

    expect(snapshot.minutes).toEqual([
      expect.objectContaining({
        equipmentId: 'feeder-01',
        count: 3,
        means: { power_kw: 320, voltage_v: 400, power_factor: 0.93, frequency_hz: null },
      }),
    ]);
    expect(snapshot.equipment[0].bins.every((bin) => bin.means.frequency_hz === null)).toBe(true);
  });
});

/** Stores readings of any schema as the transform does: documents and per-minute window contributions. */
function storeSchemaRecord(
  items: Record<string, unknown>[],
  schema: typeof SKAB_SCHEMA,
  sequence: number,
  readings: { equipmentId: EquipmentId; timestampMs: number; values: Record<string, number> }[],
) {
  const source: RecordSource = {
    stream: 'sensor-readings',
    shardId: 'shardId-000000000000',
    partitionKey: String(readings[0].equipmentId),
    sequenceNumber: String(sequence),
    arrivalMs: NOW,
  };
  const processed: ProcessedReading[] = readings.map((reading, index) => ({
    source,
    index,
    reading,
    score: 0.1,
    isAnomaly: false,
    anomalousFeatures: [],
    reasons: [],
    modelVersion: 'test',
  }));
  items.push(
    ...(buildDocuments(source, processed, undefined, schema) as unknown as Record<string, unknown>[]),
    ...(windowContributions(source, processed, 60_000, 3_600, schema) as unknown as Record<
      string,
      unknown
    >[]),
  );
}
