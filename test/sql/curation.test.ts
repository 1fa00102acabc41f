import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { curateToParquet, curationSql } from '../../local/athena-duckdb';
import { kinesisEvent, labReading, sequenceNumber, type TestRecord } from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';
import { type AthenaInDuckDb, athenaInDuckDb, sqlText, toDuckDb } from './athena-in-duckdb';

/**
 * The curated zone's SQL (sql/curated_readings.sql, sql/curation/*.sql) and the views that read it for
 * the hours curated, run in DuckDB (athena-in-duckdb.ts) over the CSV objects the transform writes:
 * the curation keeps one copy of each reading as the readings view does, re-running an hour replaces
 * it, and the views and reference queries give the same rows whatever hours are curated.
 */

const at = (hour: number, minute: number, second = 0) => Date.UTC(2026, 10, 23, hour, minute, second);
const NOW = at(21, 5);

let sequence = 0;
function record(arrivalMs: number, equipment: number, times: number[], hot = false): TestRecord {
  const data = times.map((t) => labReading(equipment, t, hot ? { temperature: 95 } : {}));
  return {
    sequenceNumber: sequenceNumber(++sequence),
    partitionKey: String(equipment),
    arrivalMs,
    data: data.length === 1 ? data[0] : data,
  };
}

// Hour 18 and 19 closed, 20 closed, 21 the current hour. The batch at 19:59:50 spans two arrival hours;
// Lambda bisected it after its object was written, and its second half (first record 20:00:02) was
// retried on its own: copies of its readings are in hour 19's object and in hour 20's.
const h18 = [
  record(at(18, 30), 101, [at(18, 29), at(18, 29, 1)]),
  record(at(18, 31), 102, [at(18, 30)], true),
];
const spanning = [
  record(at(19, 59, 50), 101, [at(19, 59, 49), at(19, 59, 48)]),
  record(at(19, 59, 55), 102, [at(19, 59, 54)]),
  record(at(20, 0, 2), 103, [at(20, 0, 1), at(20, 0, 0)], true),
  record(at(20, 0, 3), 101, [at(20, 0, 2)]),
];
const h20 = [record(at(20, 30), 103, [at(20, 29, 59)])];
const h21 = [record(at(21, 1), 101, [at(21, 0, 59), at(21, 1)])];
const BATCHES = [h18, spanning, spanning.slice(2), h20, h21];
/** Readings sent, each once: 3 + 4 + 2 (hour 20's copies are hour 19's) + 1 + 2. */
const READINGS = 3 + 6 + 1 + 2;

async function transformOutput(): Promise<Map<string, string>> {
  const harness = transformHarness();
  try {
    for (const batch of BATCHES) await processTransformBatch(kinesisEvent(batch), harness.deps);
  } finally {
    harness.restore();
  }
  return harness.objects;
}

const hour = (h: number) => ({ dt: '2026-11-23', hour: String(h).padStart(2, '0') });
const ORDER = 'ORDER BY shard_id, sequence_number, reading_index';

describe('the curated zone in SQL', () => {
  let objects: Map<string, string>;
  let lake: AthenaInDuckDb;
  /** The readings view before any hour is curated: the CSV lake alone. */
  let before: Record<string, unknown>[];
  let countsBefore: Record<string, unknown>[];

  beforeAll(async () => {
    objects = await transformOutput();
    lake = await athenaInDuckDb({ processed: objects, nowMs: NOW });
    await lake.runFile('readings.sql');
    before = await lake.rows(`SELECT * FROM readings ${ORDER}`);
    countsBefore = await lake.runFile('query_counts.sql');
  });
  afterAll(() => lake?.close());

  test('the lake holds the copies the retry left, in two hours; the readings view counts each once', async () => {
    const keys = [...objects.keys()].filter((key) => key.startsWith('readings/'));
    expect(keys.map((key) => /hour=(\d\d)/.exec(key)?.[1]).sort()).toEqual(['18', '19', '20', '20', '21']);
    expect(await lake.rows('SELECT count(*) AS n FROM processed_readings')).toEqual([
      { n: String(READINGS + 3) },
    ]);
    expect(before).toHaveLength(READINGS);
  });

  /** What the curation of an hour should count: the hour's rows of the readings view before any curation. */
  const expected = (h: number) => {
    const rows = before.filter((row) => row.hour === hour(h).hour);
    return {
      lakeReadings: rows.length,
      curatedReadings: rows.length,
      curatedAnomalies: rows.filter((row) => row.is_anomaly === true).length,
      equipment: new Set(rows.map((row) => row.equipment_id)).size,
    };
  };

  test('curating an hour writes its readings, one copy each, as Parquet (ZSTD) under curated/dt=/hour=/', async () => {
    const { file, counts } = await lake.curate(hour(19));
    expect(file).toMatch(/processed\/curated\/dt=2026-11-23\/hour=19\/data\.parquet$/);
    expect(counts).toEqual(expected(19));
    expect(counts).toMatchObject({ curatedReadings: 6, equipment: 3 });
    const meta = await lake.rows(
      `SELECT DISTINCT compression FROM parquet_metadata('${file}') WHERE path_in_schema = 'temperature'`,
    );
    expect(meta).toEqual([{ compression: 'ZSTD' }]);
    // Text as sent, features as DOUBLE, no partition columns in the file (they are the folders).
    const columns = (
      await lake.connection.runAndReadAll(
        `SELECT * FROM read_parquet('${file}', hive_partitioning = false) LIMIT 0`,
      )
    )
      .columnNames()
      .sort();
    expect(columns).toEqual(
      (await lake.connection.runAndReadAll('SELECT * FROM readings LIMIT 0'))
        .columnNames()
        .filter((c) => c !== 'dt' && c !== 'hour')
        .sort(),
    );
  });

  test("the next hour's curation drops the copies whose first copy is in the hour before", async () => {
    const { counts } = await lake.curate(hour(20));
    // Hour 20 holds the retry's 2 copies and 1 reading of its own: only the latter is hour 20's.
    expect(counts).toEqual(expected(20));
    expect(counts).toMatchObject({ curatedReadings: 1, equipment: 1 });
    expect(await lake.rows("SELECT count(*) AS n FROM processed_readings WHERE hour = '20'")).toEqual([
      { n: '4' },
    ]);
  });

  test('the readings view reads curated hours from curated_readings and the others from the lake: the same rows', async () => {
    expect(await lake.rows(`SELECT * FROM readings ${ORDER}`)).toEqual(before);
    // Hours 19 and 20 curated, 18 (never curated) and 21 (the current hour) from the CSV lake.
    expect(await lake.rows('SELECT DISTINCT dt, hour FROM curated_readings ORDER BY hour')).toEqual([
      { dt: '2026-11-23', hour: '19' },
      { dt: '2026-11-23', hour: '20' },
    ]);
    expect(await lake.runFile('query_counts.sql')).toEqual(countsBefore);
  });

  test('re-running an hour replaces it: no row twice, the same counts', async () => {
    const first = await lake.rows(`SELECT * FROM curated_readings WHERE hour = '19' ${ORDER}`);
    const again = await lake.curate(hour(19));
    expect(again.counts).toEqual(expected(19));
    expect(await lake.rows(`SELECT * FROM curated_readings WHERE hour = '19' ${ORDER}`)).toEqual(first);
    expect(await lake.rows(`SELECT * FROM readings ${ORDER}`)).toEqual(before);
  });

  test('an hour with no readings curates to nothing, and the view is unchanged', async () => {
    const { file, counts } = await lake.curate(hour(15));
    expect(file).toBeUndefined();
    expect(counts).toEqual({ lakeReadings: 0, curatedReadings: 0, curatedAnomalies: 0, equipment: 0 });
    expect(await lake.rows(`SELECT * FROM readings ${ORDER}`)).toEqual(before);
  });

  test('every hour curated, current one included: the views and reference queries give the same rows', async () => {
    for (const h of [18, 21]) await lake.curate(hour(h));
    expect(await lake.rows(`SELECT * FROM readings ${ORDER}`)).toEqual(before);
    expect(await lake.runFile('query_counts.sql')).toEqual(countsBefore);
    // No CSV row is read for a curated hour.
    const lakeOnly = await lake.rows(
      `SELECT count(*) AS n FROM readings r WHERE NOT EXISTS (SELECT 1 FROM curated_readings c WHERE c.dt = r.dt AND c.hour = r.hour)`,
    );
    expect(lakeOnly).toEqual([{ n: '0' }]);
  });
});

describe('the curation statements', () => {
  test('the hour and the hour before are written in, across midnight too', () => {
    const sql = curationSql('curate_hour.sql', { dt: '2026-11-24', hour: '00' });
    expect(sql).toMatch(/^UNLOAD \(/);
    expect(sql).toContain("(dt = '2026-11-24' AND hour = '00') OR (dt = '2026-11-23' AND hour = '23')");
    expect(sql).toContain(
      `TO 's3://${'$'}{PROCESSED_BUCKET}/curated/dt=2026-11-24/hour=00/'\nWITH (format = 'PARQUET', compression = 'ZSTD')`,
    );
    expect(sql).not.toMatch(/\{(DT|HOUR|PREVIOUS_DT|PREVIOUS_HOUR)\}/);
    expect(toDuckDb(sqlText('curated_readings.sql'))).toContain("LOCATION 's3://processed-bucket/curated/'");
  });

  test('curateToParquet: the Parquet of CSV objects, a reading in well under its CSV bytes', async () => {
    const readings = Array.from({ length: 2_000 }, (_, i) =>
      labReading(101 + (i % 3), at(19, 10) + i * 100, { temperature: 60 + (i % 50) / 10 }),
    );
    const records: TestRecord[] = Array.from({ length: 20 }, (_, i) => ({
      sequenceNumber: sequenceNumber(1_000 + i),
      partitionKey: '101',
      arrivalMs: at(19, 10, i),
      data: readings.slice(i * 100, i * 100 + 100),
    }));
    const harness = transformHarness();
    await processTransformBatch(kinesisEvent(records), harness.deps);
    harness.restore();
    const csv = new Map([...harness.objects].filter(([key]) => key.startsWith('readings/')));
    const csvBytes = [...csv.values()].reduce((sum, body) => sum + Buffer.byteLength(body), 0);
    // The objects as the transform wrote them (GZIP `.csv.gz`); csvBytes counts their text.
    const written = [...harness.bodies].filter(([key]) => key.startsWith('readings/'));
    const parquet = await curateToParquet(new Map(written as [string, Uint8Array][]));
    expect(parquet.subarray(0, 4).toString()).toBe('PAR1');
    expect(parquet.length).toBeLessThan(csvBytes / 3);
    const file = join(tmpdir(), `curate-to-parquet-${process.pid}.parquet`);
    writeFileSync(file, parquet);
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      const [[n]] = (await db.runAndReadAll(`SELECT count(*) FROM read_parquet('${file}')`)).getRows();
      expect(Number(n)).toBe(2_000);
    } finally {
      db.closeSync();
      rmSync(file, { force: true });
    }
  });
});
