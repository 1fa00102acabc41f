import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { READING_COLUMNS } from '../../lambdas/shared/processed-reading';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import {
  ARRIVAL_MS,
  kinesisEvent,
  labBurst,
  labReading,
  sequenceNumber,
  type TestRecord,
} from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';
import { toDuckDb } from './athena-in-duckdb';

const SQL_DIR = join(__dirname, '..', '..', 'sql');
const tableDdl = readFileSync(join(SQL_DIR, 'processed_readings.sql'), 'utf8');
const readingsView = readFileSync(join(SQL_DIR, 'readings.sql'), 'utf8');

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
      for (const [key, body] of harness.objects) {
        const file = join(lake, key);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, body);
      }
      const columns = declaredColumns(tableDdl)
        .map(([name, type]) => `'${name}': '${DUCKDB_TYPES[type]}'`)
        .join(', ');
      const db = await DuckDBInstance.create(':memory:');
      const connection = await db.connect();
      await connection.run(
        `CREATE TABLE processed_readings AS SELECT * FROM read_csv('${lake}/readings/**/*.csv', header = true, hive_partitioning = true, columns = {${columns}})`,
      );
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
