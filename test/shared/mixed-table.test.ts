import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { emptyTable } from '../../cli/clean-data';
import { TableSource } from '../../dashboard/table-source';
import { alertHistoryKey } from '../../lambdas/alerter/episode-store';
import { putAllItems, raiseLatest } from '../../lambdas/shared/aws/dynamo-writes';
import { marshallItem } from '../../lambdas/shared/aws/item-marshalling';
import { raiseKeySuffixes, readKeySuffixes } from '../../lambdas/shared/aws/key-suffix-setting';
import { latestReadingMs, queryLastMinutes } from '../../lambdas/shared/aws/last-minutes';
import { queryMinuteAggregates } from '../../lambdas/shared/aws/minute-aggregates';
import { buildDocuments, DEFAULT_DOCUMENT_OPTIONS, LATEST_PK } from '../../lambdas/shared/documents';
import { KEY_SUFFIXES_PK, KEY_SUFFIXES_SK } from '../../lambdas/shared/key-suffixes';
import { windowContributions } from '../../lambdas/shared/minute-windows';
import type { ProcessedReading, RecordSource } from '../../lambdas/shared/processed-reading';
import { scoreRecord } from '../../lambdas/shared/score-record';
import { type LocalClients, localClients } from '../../local/clients';
import { LOCAL_NAMES } from '../../local/names';
import { createLocalResources } from '../../local/pipeline';
import { readBackCounts } from '../../local/read-back';
import { type LocalServices, startLocalServices } from '../../local/services';
import { labReading } from '../fixtures/kinesis-event';
import { buildLegacyDocuments } from '../fixtures/legacy-documents';
import { freshDetector, LIMITS } from './fixtures';

/**
 * One table (dynalite, as in `npm start`) holding what an upgraded deployment holds: form 1 documents
 * and window contributions under the unsuffixed keys, written before issue 14, beside form 2 ones
 * spread over K = 3 key suffixes. Every reader sees each reading once.
 */

const NOW = Date.UTC(2026, 10, 23, 19, 50, 30);
const TABLE = LOCAL_NAMES.table;
const K = 3;

let services: LocalServices;
let clients: LocalClients;

function scored(sequence: number, readings: Record<string, unknown>[]) {
  const source: RecordSource = {
    stream: 'sensor-readings',
    shardId: 'shardId-000000000000',
    partitionKey: String(readings[0].equipment_id),
    sequenceNumber: String(sequence),
    arrivalMs: NOW,
  };
  const { processed } = scoreRecord(source, Buffer.from(JSON.stringify(readings)), freshDetector(), LIMITS);
  return { source, processed };
}

async function put(items: object[]) {
  await putAllItems(clients.documents, TABLE, items.map(marshallItem) as Record<string, AttributeValue>[]);
}

/** Equipment 101, a reading every 10 s over the last 4 minutes: the older half of each minute before the upgrade. */
const records: { source: RecordSource; processed: ProcessedReading[]; legacy: boolean }[] = [];

beforeAll(async () => {
  services = await startLocalServices();
  clients = localClients(services);
  await createLocalResources(clients, 1);
  for (let i = 0; i < 24; i++) {
    const readings = [labReading(101, NOW - 235_000 + i * 10_000, i % 5 === 0 ? { temperature: 95 } : {})];
    records.push({ ...scored(1000 + i, readings), legacy: i % 2 === 0 });
  }
  // A record written in form 1 and then again in form 2 (a retry after the upgrade): counted once.
  records.push({ ...scored(1000, [labReading(101, NOW - 235_000)]), legacy: false });
  await raiseKeySuffixes(clients.documents, TABLE, K);
  for (const { source, processed, legacy } of records) {
    await put(
      legacy
        ? [
            ...buildLegacyDocuments(source, processed),
            ...windowContributions(source, processed, 120_000, 86_400),
          ]
        : [
            ...buildDocuments(source, processed, { ...DEFAULT_DOCUMENT_OPTIONS, keySuffixes: K }),
            ...windowContributions(source, processed, 120_000, 86_400, undefined, K),
          ],
    );
  }
  // Newest-reading markers: 102's written before the upgrade (unsuffixed), 101's since, under its suffix.
  await put([{ pk: LATEST_PK, sk: '102', latest_ms: NOW - 600_000 }]);
  await raiseLatest(clients.documents, TABLE, 101, NOW - 5_000, 0, K);
}, 60_000);

afterAll(async () => {
  await services?.close();
});

describe('a table of form 1 and form 2 documents, unsuffixed and over 3 key suffixes', () => {
  it('holds documents under every suffix and the unsuffixed key', async () => {
    const { Items = [] } = await clients.documents.send(new ScanCommand({ TableName: TABLE }));
    const keys = new Set(Items.map((item) => String(item.pk).replace(/T\d\d:\d\d/, 'T<minute>')));
    expect([...keys].sort()).toEqual([
      'latest',
      'latest#2',
      'minutes#2026-11-23T<minute>',
      'minutes#2026-11-23T<minute>#1',
      'minutes#2026-11-23T<minute>#2',
      'readings#2026-11-23T<minute>',
      'readings#2026-11-23T<minute>#1',
      'readings#2026-11-23T<minute>#2',
      KEY_SUFFIXES_PK,
    ]);
    expect(Items.some((item) => item.form === 2)).toBe(true);
    expect(Items.some((item) => Array.isArray(item.readings))).toBe(true);
    expect(await readKeySuffixes(clients.documents, TABLE)).toBe(K);
  });

  it('last3: the window’s readings of both forms, each once, oldest first', async () => {
    const result = await queryLastMinutes(clients.documents, {
      tableName: TABLE,
      relativeTo: 'now',
      nowMs: NOW,
      windowMs: 240_000,
    });
    const expected = records
      .slice(0, 24)
      .map((r) => r.processed[0].reading.timestampMs)
      .map((ms) => new Date(ms).toISOString());
    expect(result.rows.map((row) => row.timestamp)).toEqual(expected);
    expect(result.rows.filter((row) => row.is_anomaly)).toHaveLength(5);
    expect(result.rows[0]).toMatchObject({ equipment_id: 101, temperature: 95, vibration_amplitude: 251.3 });
  });

  it('last3 --relative-to latest: the newest reading over every key of the markers', async () => {
    expect(await latestReadingMs(clients.documents, TABLE)).toBe(NOW - 5_000);
    expect(await latestReadingMs(clients.documents, TABLE, 102)).toBe(NOW - 600_000);
    const result = await queryLastMinutes(clients.documents, { tableName: TABLE, relativeTo: 'latest' });
    expect(result.toMs).toBe(NOW - 5_000);
    expect(result.rows).toHaveLength(19);
  });

  it('the per-minute windows: every contribution of both forms, each once', async () => {
    const windows = await queryMinuteAggregates(clients.documents, {
      tableName: TABLE,
      fromMs: NOW - 240_000,
      toMs: NOW,
    });
    // Readings over 2 minutes older than their record count as late: the windows hold every one once.
    expect(windows.reduce((n, w) => n + w.count + w.late, 0)).toBe(24);
  });

  it('the dashboard: the same readings and windows', async () => {
    const snapshot = await new TableSource(clients.documents, TABLE, {
      now: () => NOW,
      windowMs: 240_000,
    }).snapshot();
    expect(snapshot.equipment.map((e) => [e.equipmentId, e.readings, e.anomalies])).toEqual([[101, 24, 5]]);
    expect((snapshot.minutes ?? []).reduce((n, m) => n + m.count + m.late, 0)).toBe(24);
  });

  it("the dashboard's readings of one equipment between two times: both forms, every suffix, each once, oldest first", async () => {
    const source = new TableSource(clients.documents, TABLE, { now: () => NOW });
    const chunks: number[][] = [];
    for await (const rows of source.readingsBetween({ equipmentId: 101, fromMs: NOW - 240_000, toMs: NOW }))
      chunks.push(rows.map((row) => Date.parse(row.timestamp)));
    const times = chunks.flat();
    expect(times).toHaveLength(24);
    expect(new Set(times).size).toBe(24);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // A minute a chunk: the readings of a minute, never a day at once.
    expect(chunks.every((chunk) => new Set(chunk.map((t) => Math.floor(t / 60_000))).size === 1)).toBe(true);
  });

  it("the dashboard's alert history on DynamoDB's own paging: newest first, pages that continue exactly", async () => {
    const states = Array.from({ length: 120 }, (_, i) => {
      const startedMs = NOW - i * 3_000_000;
      return {
        equipmentId: 101 + (i % 3),
        episodeId: `${101 + (i % 3)}-${startedMs}`,
        startedMs,
        lastAnomalyMs: startedMs + 5_000,
        anomalyCount: 2,
        peakScore: 0.9,
        features: ['temperature'],
      };
    });
    await put(states.map((state) => ({ ...alertHistoryKey(state), state, expires_at: 0 })));
    const source = new TableSource(clients.documents, TABLE, { now: () => NOW });
    try {
      const pages = [];
      for (let page = 0; page < 3; page++) pages.push(await source.alertHistory({ page }, 50));
      expect(pages.map((p) => [p.items.length, p.nextPage])).toEqual([
        [50, 1],
        [50, 2],
        [20, null],
      ]);
      expect(pages.flatMap((p) => p.items.map((alert) => alert.episodeId))).toEqual(
        states.map((state) => state.episodeId),
      );
      const only102 = await source.alertHistory({ page: 0, equipmentId: 102 }, 50);
      expect(only102.items.map((alert) => alert.episodeId)).toEqual(
        states.filter((state) => state.equipmentId === 102).map((state) => state.episodeId),
      );
    } finally {
      await Promise.all(
        states.map((state) =>
          clients.documents.send(new DeleteCommand({ TableName: TABLE, Key: alertHistoryKey(state) })),
        ),
      );
    }
  });

  it('local read-back counts the readings in documents of both forms', async () => {
    const counts = await readBackCounts(clients);
    // Every document's readings, the retried record's twice (read-back counts what is stored).
    expect(counts.dynamoReadings).toBe(25);
    expect(counts.documents).toBe(25);
  });

  it('a recorded K is never lowered, and refused when the table holds nonsense', async () => {
    await raiseKeySuffixes(clients.documents, TABLE, 2);
    expect(await readKeySuffixes(clients.documents, TABLE)).toBe(K);
    const marker = { pk: KEY_SUFFIXES_PK, sk: KEY_SUFFIXES_SK };
    await clients.documents.send(new PutCommand({ TableName: TABLE, Item: { ...marker, suffixes: 1e6 } }));
    await expect(readKeySuffixes(clients.documents, TABLE)).rejects.toThrow(
      /settings\/key-suffixes: 1000000 is not a number of key suffixes \(1 to 500\)/,
    );
    await clients.documents.send(new PutCommand({ TableName: TABLE, Item: { ...marker, suffixes: K } }));
  });

  it('clean-data empties both forms and keeps the key-suffix setting', async () => {
    const counts = await emptyTable(clients.documents, TABLE);
    expect(counts.readings).toBe(25);
    const { Items = [] } = await clients.documents.send(new ScanCommand({ TableName: TABLE }));
    expect(Items).toEqual([{ pk: KEY_SUFFIXES_PK, sk: KEY_SUFFIXES_SK, suffixes: K }]);
    expect(counts.latest).toBe(2);
  });
});
