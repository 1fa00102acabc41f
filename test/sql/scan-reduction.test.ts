import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { csvObjectText } from '../../lambdas/shared/csv-object';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { curateToParquet } from '../../local/athena-duckdb';
import { createLabGenerator } from '../../simulator/generator';
import { kinesisEvent, sequenceNumber, type TestRecord } from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';

/**
 * Issue 14's target for Athena: a query of one equipment over curated data scans at least 10x fewer
 * bytes than the same query over the CSV lake. Athena reads a CSV object whole (no column or row can be
 * skipped), so the CSV query scans every object of the period; over Parquet it reads the footer and,
 * of the row groups whose equipment_id statistics may hold the equipment, the column chunks of the
 * columns the query names. Both are measured here on the lab simulator's readings (3 equipment, bursts
 * of 1,000 as the lab sends them) run through the transform's own code and the curation's own SQL:
 * the CSV bytes are the objects' sizes, the Parquet bytes come from the file's metadata (DuckDB's
 * parquet_metadata: row-group statistics and column-chunk sizes).
 */

const START = Date.UTC(2026, 10, 23, 19, 0, 0);
const SECONDS = 12;
const RATE = 3_000;
/** The query: per-minute averages of one equipment's features and score (readings_per_minute's columns). */
const QUERY_COLUMNS = [
  'equipment_id',
  'timestamp',
  'vibration_amplitude',
  'vibration_frequency',
  'temperature',
  'humidity',
  'anomaly_score',
  'is_anomaly',
];

async function lakeOfAnHour(): Promise<{ bodies: Map<string, Uint8Array>; readings: number }> {
  const generator = createLabGenerator({ seed: 14, burstSize: 1_000 });
  const harness = transformHarness();
  let sequence = 0;
  let readings = 0;
  try {
    for (let s = 0; s < SECONDS; s++) {
      const records: TestRecord[] = generator.nextStep(START + s * 1_000, RATE).bursts.map((burst) => {
        readings += burst.readings;
        return {
          sequenceNumber: sequenceNumber(++sequence),
          partitionKey: String(burst.equipmentId),
          arrivalMs: START + s * 1_000 + 500,
          data: JSON.parse(burst.json),
        };
      });
      await processTransformBatch(kinesisEvent(records), harness.deps);
    }
  } finally {
    harness.restore();
  }
  const bodies = new Map<string, Uint8Array>();
  for (const [key, body] of harness.bodies)
    if (key.startsWith('readings/')) bodies.set(key, body as Uint8Array);
  return { bodies, readings };
}

test('a query of one equipment scans over 10x fewer bytes of curated Parquet than of the CSV lake', async () => {
  const { bodies, readings } = await lakeOfAnHour();
  expect(readings).toBe(SECONDS * RATE);
  const objectBytes = [...bodies.values()].reduce((sum, body) => sum + body.length, 0);
  const csvTextBytes = [...bodies].reduce(
    (sum, [key, body]) => sum + Buffer.byteLength(csvObjectText(key, body)),
    0,
  );
  const parquet = await curateToParquet(bodies);

  const dir = mkdtempSync(join(tmpdir(), 'scan-reduction-'));
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const file = join(dir, 'curated.parquet');
    writeFileSync(file, parquet);
    const rows = (sql: string) =>
      connection.runAndReadAll(sql).then((r) => r.getRowObjectsJson() as Record<string, unknown>[]);
    const chunks = await rows(
      `SELECT row_group_id, path_in_schema, total_compressed_size, stats_min_value, stats_max_value FROM parquet_metadata('${file}')`,
    );
    // Row groups whose equipment_id range may hold equipment 101 (the curation sorts by equipment).
    const groups = new Set(
      chunks
        .filter(
          (c) =>
            c.path_in_schema === 'equipment_id' &&
            Number(c.stats_min_value) <= 101 &&
            Number(c.stats_max_value) >= 101,
        )
        .map((c) => c.row_group_id),
    );
    const queryBytes = chunks
      .filter((c) => groups.has(c.row_group_id) && QUERY_COLUMNS.includes(String(c.path_in_schema)))
      .reduce((sum, c) => sum + Number(c.total_compressed_size), 0);
    // What is not a column chunk (the footer, the magic bytes) is read too.
    const overhead = parquet.length - chunks.reduce((sum, c) => sum + Number(c.total_compressed_size), 0);
    const parquetScan = queryBytes + overhead;

    const figures = {
      readings,
      csvBytesPerReading: +(csvTextBytes / readings).toFixed(1),
      gzipCsvBytesPerReading: +(objectBytes / readings).toFixed(1),
      parquetBytesPerReading: +(parquet.length / readings).toFixed(2),
      queryParquetBytesPerReading: +(parquetScan / readings).toFixed(2),
      reductionVsCsv: +(csvTextBytes / parquetScan).toFixed(1),
      reductionVsGzipCsv: +(objectBytes / parquetScan).toFixed(1),
    };
    // The figures of the report (docs/lake.md).
    console.log(`scan reduction: ${JSON.stringify(figures)}`);
    expect(csvTextBytes / parquetScan).toBeGreaterThan(10);
    expect(parquetScan).toBeLessThan(parquet.length);
    expect(
      Number((await rows(`SELECT count(*) AS n FROM read_parquet('${file}') WHERE equipment_id = 101`))[0].n),
    ).toBe(readings / 3);
  } finally {
    connection.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
