import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { type DashboardServer, startDashboardServer } from '../../dashboard/server';
import { TableSource } from '../../dashboard/table-source';
import { alertHistoryKey, EPISODE_PK } from '../../lambdas/alerter/episode-store';
import { buildDocuments, LATEST_PK } from '../../lambdas/shared/documents';
import type { EpisodeState } from '../../lambdas/shared/episodes';
import { windowContributions } from '../../lambdas/shared/minute-windows';
import type { ProcessedReading, RecordSource } from '../../lambdas/shared/processed-reading';
import type { EquipmentId } from '../../lambdas/shared/reading';
import { LAB_SCHEMA } from '../../lambdas/shared/reading-schema';
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
  // In sort-key order (reversed by ScanIndexForward: false), Limit items a page, as DynamoDB pages.
  stub.on(QueryCommand).callsFake((input) => {
    const values = input.ExpressionAttributeValues;
    const prefix = values[':equipment'] as string | undefined;
    const matching = items
      .filter(
        (item) => item.pk === values[':pk'] && (prefix === undefined || String(item.sk).startsWith(prefix)),
      )
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    if (input.ScanIndexForward === false) matching.reverse();
    const start = input.ExclusiveStartKey
      ? matching.findIndex((item) => item.sk === input.ExclusiveStartKey.sk) + 1
      : 0;
    const page = matching.slice(start, input.Limit === undefined ? undefined : start + input.Limit);
    const last = page.at(-1);
    const more = last !== undefined && start + page.length < matching.length;
    return { Items: page, ...(more ? { LastEvaluatedKey: { pk: last.pk, sk: last.sk } } : {}) };
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
    const marked = snapshot.equipment[1].bins.filter((bin) => bin.top);
    expect(marked).toEqual([
      expect.objectContaining({
        t: NOW - 60_000,
        anomalousFeatures: { temperature: 1 },
        means: expect.objectContaining({ temperature: 95 }),
        top: expect.objectContaining({ t: NOW - 60_000 }),
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
        start: new Date(hotEpisode.startedMs).toISOString(),
        endedMs: hotEpisode.lastAnomalyMs,
        end: new Date(hotEpisode.lastAnomalyMs).toISOString(),
        equipmentId: 102,
        subject: hotEpisode.subject,
        severity: 'high',
        features: ['temperature'],
        // Stored before episodes kept their reasons: none, and the page shows the subject.
        reasons: [],
        anomalyCount: 1,
        episodeId: hotEpisode.episodeId,
      },
      {
        startedMs: oldEpisode.startedMs,
        start: new Date(oldEpisode.startedMs).toISOString(),
        endedMs: oldEpisode.lastAnomalyMs,
        end: new Date(oldEpisode.lastAnomalyMs).toISOString(),
        equipmentId: 101,
        subject: 'Anomaly on equipment 101: vibration amplitude, humidity anomalous',
        severity: 'medium',
        features: ['vibration_amplitude', 'humidity'],
        reasons: [],
        anomalyCount: 4,
        episodeId: oldEpisode.episodeId,
      },
    ]);
    const limited = await new TableSource(client(), 'readings', { now: () => NOW, maxAlerts: 1 }).snapshot();
    expect(limited.alerts.map((alert) => alert.episodeId)).toEqual([hotEpisode.episodeId]);
  });

  test('uses Query only: the minute partitions of readings and of windows, the alert history, the episode items, never Scan', async () => {
    await new TableSource(client(), 'readings', { now: () => NOW }).snapshot();

    expect(table.stub.commandCalls(ScanCommand)).toHaveLength(0);
    // Besides one GetItem: the table's number of key suffixes, read once for both queries.
    expect(table.stub.commandCalls(GetCommand).map((call) => call.args[0].input.Key)).toEqual([
      { pk: 'settings', sk: 'key-suffixes' },
    ]);
    const queries = table.stub.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.every((query) => query.TableName === 'readings')).toBe(true);
    expect(queries.map((query) => query.ExpressionAttributeValues?.[':pk']).sort()).toEqual([
      // The alert history: a partition a day, from tomorrow back over the documents' 7 days and one.
      ...Array.from({ length: 10 }, (_, i) => `alerts#2026-11-${15 + i}`),
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

/** A history item as the alerter saves it (lambdas/alerter/episode-store.ts). */
function historyItem(state: EpisodeState): Record<string, unknown> {
  return { ...alertHistoryKey(state), state, expires_at: 0 };
}

/** An episode of equipment `id` started `agoMs` before NOW, with two reasons. */
function episodeOf(id: EquipmentId, agoMs: number, overrides: Partial<EpisodeState> = {}): EpisodeState {
  const startedMs = NOW - agoMs;
  return {
    equipmentId: id,
    episodeId: `${id}-${startedMs}`,
    startedMs,
    lastAnomalyMs: startedMs + 20_000,
    anomalyCount: 5,
    peakScore: 0.8,
    features: ['vibration_frequency', 'temperature'],
    subject: `Anomaly on equipment ${id}: vibration frequency +30% over baseline`,
    severity: 'medium',
    reasons: [
      { feature: 'vibration_frequency', text: 'vibration frequency +30% over baseline', score: 0.8 },
      { feature: 'temperature', text: 'temperature +41% over baseline', score: 0.78 },
    ],
    ...overrides,
  };
}

/** Per-minute windows as the transform writes them: `perMinute` readings of each equipment each minute, on time. */
function storeMinuteWindows(
  ids: EquipmentId[],
  minutes: number,
  perMinute: number,
  temperature: (minute: number) => number,
) {
  const lastMinute = Math.floor(NOW / 60_000) * 60_000;
  for (let m = 0; m < minutes; m++) {
    const minuteMs = lastMinute - m * 60_000;
    for (const equipmentId of ids) {
      const source: RecordSource = {
        stream: 'sensor-readings',
        shardId: 'shardId-000000000000',
        partitionKey: String(equipmentId),
        sequenceNumber: `${m}${equipmentId}`,
        arrivalMs: minuteMs + 59_000,
      };
      const processed: ProcessedReading[] = Array.from({ length: perMinute }, (_, i) => ({
        source,
        index: i,
        reading: {
          equipmentId,
          timestampMs: minuteMs + i * 1_000,
          values: {
            vibration_amplitude: 250,
            vibration_frequency: 1000,
            temperature: temperature(m),
            humidity: 30,
          },
        },
        score: i === 0 && m === 0 ? 0.97 : 0.1,
        isAnomaly: i === 0 && m === 0,
        anomalousFeatures: i === 0 && m === 0 ? ['temperature'] : [],
        reasons: [],
        modelVersion: 'test',
      }));
      table.items.push(
        ...(windowContributions(source, processed, 60_000, 3_600, LAB_SCHEMA) as unknown as Record<
          string,
          unknown
        >[]),
      );
    }
  }
}

describe('TableSource ranges and history', () => {
  test('a range over 3m is drawn from the per-minute windows: a bin a minute, only the range, no reading read', async () => {
    table.items.length = 0;
    storeMinuteWindows([101, 102], 30, 4, (m) => 60 + m);

    const source = new TableSource(client(), 'readings', { now: () => NOW });
    const snapshot = await source.snapshot({ range: '15m' });

    expect(snapshot).toMatchObject({ binMs: 60_000, window: { fromMs: NOW - 900_000, toMs: NOW } });
    const [s101, s102] = snapshot.equipment;
    expect([s101.equipmentId, s102.equipmentId]).toEqual([101, 102]);
    // 19:35:30 to 19:50:30: the minutes 19:35 (which the range overlaps) to 19:50, 16 windows.
    expect(s101.bins).toHaveLength(16);
    expect(s101.bins[0]).toEqual({
      t: Date.UTC(2026, 10, 23, 19, 35),
      count: 4,
      anomalies: 0,
      maxScore: 0.1,
      means: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 75, humidity: 30 },
    });
    // The anomalous minute is marked on the feature its reading concerned, and only there.
    expect(s101.bins.at(-1)).toMatchObject({
      t: Date.UTC(2026, 10, 23, 19, 50),
      anomalies: 1,
      maxScore: 0.97,
      means: { temperature: 60 },
      anomalousFeatures: { temperature: 1 },
    });
    expect(s101.bins.filter((bin) => bin.anomalousFeatures)).toHaveLength(1);
    expect([s101.readings, s101.anomalies]).toEqual([64, 1]);
    expect(snapshot.counters.slice(0, 3)).toEqual([
      { name: 'readings in window', value: 128 },
      { name: 'anomalous readings', value: 2 },
      { name: 'equipment', value: 2 },
    ]);
    const pks = table.stub
      .commandCalls(QueryCommand)
      .map((call) => String(call.args[0].input.ExpressionAttributeValues?.[':pk']));
    expect(pks.some((pk) => pk.startsWith('readings#'))).toBe(false);
    expect(pks.filter((pk) => pk.startsWith('minutes#'))).toHaveLength(16);

    // A window written before the per-feature counts marks every feature, as a reading naming none does.
    const older = table.items.find(
      (item) => item.equipment_id === 102 && typeof item.anomalies === 'number' && item.anomalies > 0,
    );
    delete (older as Record<string, unknown>).flagged;
    const marked = (await source.snapshot({ range: '15m' })).equipment[1].bins.at(-1);
    expect(marked?.anomalousFeatures).toEqual({
      vibration_amplitude: 1,
      vibration_frequency: 1,
      temperature: 1,
      humidity: 1,
    });

    const day = await source.snapshot({ range: '24h' });
    expect(day.window).toEqual({ fromMs: NOW - 86_400_000, toMs: NOW });
    expect(day.equipment[0].bins).toHaveLength(30);
  });

  test('an equipment filter restricts the series (3m and longer ranges) and the alerts to that equipment', async () => {
    storeMinuteWindows([101, 102], 5, 2, () => 60);
    table.items.push(historyItem(episodeOf(101, 120_000)), historyItem(episodeOf(102, 60_000)));
    const source = new TableSource(client(), 'readings', { now: () => NOW });

    const recent = await source.snapshot({ equipmentId: 102 });
    const hour = await source.snapshot({ range: '1h', equipmentId: 102 });

    for (const snapshot of [recent, hour]) {
      expect(snapshot.equipment.map((series) => series.equipmentId)).toEqual([102]);
      expect(snapshot.alerts.map((alert) => alert.equipmentId)).toEqual([102]);
    }
    expect(recent.minutes?.every((minute) => minute.equipmentId === 102)).toBe(true);
  });

  test('snapshot alerts come from the history, with every reason, their end, count and peak severity', async () => {
    table.items.length = 0;
    const grown = episodeOf(103, 30_000, { peakScore: 0.97, anomalyCount: 12 });
    table.items.push(historyItem(grown), episodeItem(grown), historyItem(episodeOf(103, 600_000)));

    const { alerts } = await new TableSource(client(), 'readings', { now: () => NOW }).snapshot();

    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toEqual({
      startedMs: grown.startedMs,
      start: new Date(grown.startedMs).toISOString(),
      endedMs: grown.lastAnomalyMs,
      end: new Date(grown.lastAnomalyMs).toISOString(),
      equipmentId: 103,
      episodeId: grown.episodeId,
      subject: grown.subject,
      // The first alert said medium; the episode peaked at 0.97.
      severity: 'high',
      features: ['vibration_frequency', 'temperature'],
      reasons: ['vibration frequency +30% over baseline', 'temperature +41% over baseline'],
      anomalyCount: 12,
    });
  });

  describe('behind the server', () => {
    let server: DashboardServer;
    afterEach(async () => {
      await server?.close();
    });
    // biome-ignore lint/suspicious/noExplicitAny: the JSON answers are checked field by field.
    const getJson = async (path: string): Promise<{ status: number; body: any }> => {
      const response = await fetch(`${server.url}${path}`);
      return { status: response.status, body: await response.json() };
    };

    test('GET /api/alerts pages the history newest first, 50 a page; page 2 continues exactly; nextPage null at the end', async () => {
      table.items.length = 0;
      // 130 episodes over three days: 101 and 102 in turn, an hour apart.
      const all = Array.from({ length: 130 }, (_, i) => episodeOf(i % 2 === 0 ? 101 : 102, i * 1_800_000));
      table.items.push(...all.map(historyItem));
      server = await startDashboardServer({
        source: new TableSource(client(), 'readings', { now: () => NOW }),
      });

      const pages = [
        await getJson('api/alerts'),
        await getJson('api/alerts?page=1'),
        await getJson('api/alerts?page=2'),
      ];

      expect(pages.map((page) => [page.status, page.body.items.length, page.body.nextPage])).toEqual([
        [200, 50, 1],
        [200, 50, 2],
        [200, 30, null],
      ]);
      const listed = pages.flatMap((page) =>
        page.body.items.map((alert: { episodeId: string }) => alert.episodeId),
      );
      expect(listed).toEqual(all.map((episode) => episode.episodeId));
      expect(pages[0].body.items[0]).toMatchObject({
        equipmentId: 101,
        reasons: ['vibration frequency +30% over baseline', 'temperature +41% over baseline'],
        anomalyCount: 5,
        end: new Date(all[0].lastAnomalyMs).toISOString(),
      });
      expect((await getJson('api/alerts?page=3')).body).toEqual({ items: [], nextPage: null });

      const only102 = [
        await getJson('api/alerts?equipment=102'),
        await getJson('api/alerts?equipment=102&page=1'),
      ];
      expect(only102.map((page) => [page.body.items.length, page.body.nextPage])).toEqual([
        [50, 1],
        [15, null],
      ]);
      expect(
        only102.flatMap((page) => page.body.items.map((alert: { equipmentId: number }) => alert.equipmentId)),
      ).toEqual(Array(65).fill(102));
    });

    test("GET /api/readings pages one equipment's readings oldest first, 1,000 a page, within [from, to] inclusive", async () => {
      table.items.length = 0;
      // 101: a reading every 100 ms for 5 minutes (3,000), in records of 500; 102 beside it.
      const startMs = NOW - 300_000;
      for (let r = 0; r < 6; r++)
        storeRecord(
          table.items,
          100 + r,
          Array.from({ length: 500 }, (_, i) => labReading(101, startMs + (r * 500 + i) * 100)),
        );
      storeRecord(table.items, 200, [labReading(102, startMs + 1_000)]);
      server = await startDashboardServer({
        source: new TableSource(client(), 'readings', { now: () => NOW }),
      });
      const from = new Date(startMs + 100).toISOString();
      const to = new Date(startMs + 250_000).toISOString();
      const query = `equipment=101&from=${from}&to=${to}`;

      const pages = [0, 1, 2].map((page) => getJson(`api/readings?${query}&page=${page}`));
      const answers = await Promise.all(pages);

      // 100 ms .. 250,000 ms inclusive: 2,500 readings.
      expect(answers.map((a) => [a.status, a.body.items.length, a.body.nextPage])).toEqual([
        [200, 1_000, 1],
        [200, 1_000, 2],
        [200, 500, null],
      ]);
      const times = answers.flatMap((a) => a.body.items.map((item: { t: number }) => item.t));
      expect(times).toEqual(Array.from({ length: 2_500 }, (_, i) => startMs + 100 + i * 100));
      expect(answers[0].body.items[0]).toEqual({
        t: startMs + 100,
        time: new Date(startMs + 100).toISOString(),
        equipmentId: 101,
        values: {
          vibration_amplitude: 251.3,
          vibration_frequency: 1003.2,
          temperature: 60.4,
          humidity: 29.8,
        },
        score: expect.any(Number),
        isAnomaly: false,
        features: [],
        reasons: [],
      });
      // Only 101's documents were read: begins_with on its sort key.
      const equipmentPrefixes = table.stub
        .commandCalls(QueryCommand)
        .map((call) => call.args[0].input.ExpressionAttributeValues?.[':equipment'])
        .filter(Boolean);
      expect(new Set(equipmentPrefixes)).toEqual(new Set(['101#']));
    });

    test('GET /api/readings.csv streams the readings as an attachment, formula text neutralised', async () => {
      table.items.length = 0;
      const source: RecordSource = {
        stream: 'sensor-readings',
        shardId: 'shardId-000000000000',
        partitionKey: '=HYPERLINK("http://evil.example","x")',
        sequenceNumber: '9',
        arrivalMs: NOW,
      };
      const values = { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 95, humidity: 30 };
      const processed: ProcessedReading[] = [0, 1].map((index) => ({
        source,
        index,
        reading: { equipmentId: 101, timestampMs: NOW - 10_000 + index * 1_000, values },
        score: 0.97,
        isAnomaly: index === 1,
        anomalousFeatures: index === 1 ? ['temperature'] : [],
        reasons: index === 1 ? ['=HYPERLINK("http://evil.example","click")', '-2+3'] : [],
        modelVersion: 'test',
      }));
      table.items.push(...(buildDocuments(source, processed) as unknown as Record<string, unknown>[]));
      server = await startDashboardServer({
        source: new TableSource(client(), 'readings', { now: () => NOW }),
      });
      const from = new Date(NOW - 60_000).toISOString();
      const to = new Date(NOW).toISOString();

      const response = await fetch(`${server.url}api/readings.csv?equipment=101&from=${from}&to=${to}`);

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe(
        'attachment; filename="readings-101-2026-11-23T19-49-30-000Z-2026-11-23T19-50-30-000Z.csv"',
      );
      expect((await response.text()).split('\n')).toEqual([
        'timestamp,equipment_id,vibration_amplitude,vibration_frequency,temperature,humidity,anomaly_score,is_anomaly,reasons',
        `${new Date(NOW - 10_000).toISOString()},101,250,1000,95,30,0.97,false,`,
        `${new Date(NOW - 9_000).toISOString()},101,250,1000,95,30,0.97,true,"'=HYPERLINK(""http://evil.example"",""click""); -2+3"`,
        '',
      ]);
    });
  });
});
