import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { sqlText as expandedSqlText, parseExternalTable } from '../../lib/constructs/analytics-sql';
import {
  type CurationCounts,
  createCuratedReadings,
  curateHourInDuckDb,
  HIVE_TO_DUCKDB,
  installAthenaMacros,
  type LakeHour,
  toDuckDb as translate,
} from '../../local/athena-duckdb';

/**
 * The Athena SQL of sql/, run in DuckDB over files written the way the pipeline writes them, expanded
 * for a reading schema (the lab's unless told) as the stack expands it. What is translated, and nothing
 * else:
 * - the translation of local/athena-duckdb.ts (the database, Athena's functions, UNLOAD, `nowMs`);
 * - the CSV table reads the objects its partition projection would (storage.location.template, with
 *   `${dt}` and `${hour}` as wildcards): those of its own schema's prefix, nothing else under readings/.
 * - `curated_readings` reads the Parquet the curation (`curate`) wrote under curated/, as Athena would.
 */

/** A file of sql/ expanded for the schema (the lab's by default). */
export const sqlText = (file: string, schema: ReadingSchema = LAB_SCHEMA) => expandedSqlText(file, schema);

/** The statement of a sql/ file as DuckDB runs it (local/athena-duckdb.ts says what changes). */
export const toDuckDb = (sql: string, nowMs?: number) => translate(sql, { nowMs });

export interface AthenaInDuckDb {
  connection: DuckDBConnection;
  /** Runs a sql/ file, expanded for the lake's schema (a view is created, a query returns its rows as JSON values). */
  runFile(file: string): Promise<Record<string, unknown>[]>;
  /** Curates an hour (sql/curation/curate_hour.sql) into the curated zone, which curated_readings reads. */
  curate(hour: LakeHour): Promise<{ file?: string; counts: CurationCounts }>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): void;
}

/**
 * A DuckDB database holding the tables of sql/ over the objects given (S3 key -> body), as Athena
 * reads them: `processed_readings` (made from `schema`, the lab's by default) over the CSV objects of
 * its location template, `raw_archive` over the GZIP objects under raw/, one line per row; dt and hour
 * from the key, as strings, like the projection.
 */
export async function athenaInDuckDb(options: {
  processed?: Map<string, string>;
  raw?: Map<string, Buffer>;
  nowMs?: number;
  schema?: ReadingSchema;
}): Promise<AthenaInDuckDb> {
  const schema = options.schema ?? LAB_SCHEMA;
  const dir = mkdtempSync(join(tmpdir(), 'athena-in-duckdb-'));
  const write = (bucket: string, objects: Map<string, string | Buffer>) => {
    for (const [key, body] of objects) {
      const file = join(dir, bucket, key);
      mkdirSync(dirname(file), { recursive: true });
      // A `.gz` object given as its text (the transform harness unzips them) is stored zipped, as in S3.
      writeFileSync(file, key.endsWith('.gz') && typeof body === 'string' ? gzipSync(body) : body);
    }
  };
  write('processed', options.processed ?? new Map());
  write('raw', options.raw ?? new Map());
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  await installAthenaMacros(connection);

  const partitions = "hive_partitioning = true, hive_types = {'dt': 'VARCHAR', 'hour': 'VARCHAR'}";
  const processedTable = parseExternalTable(sqlText('processed_readings.sql', schema));
  // What partition projection lists: the location template, its partitions any value.
  const template = processedTable.properties['storage.location.template'];
  const prefix = `s3://\${PROCESSED_BUCKET}/`;
  if (!template?.startsWith(prefix)) throw new Error(`unexpected location template ${template}`);
  // The objects: `.csv.gz` (GZIP, unzipped by DuckDB as by Athena, by the extension) or `.csv` (older).
  const objectsGlob = `${template.slice(prefix.length).replace(/\$\{(dt|hour)\}/g, '*')}*.csv`;
  const globRegExp = new RegExp(`^${objectsGlob.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}(\\.gz)?$`);
  const tableObjects = [...(options.processed?.keys() ?? [])].filter((key) => globRegExp.test(key));
  const objectFiles = tableObjects.map((key) => `'${join(dir, 'processed', key).replaceAll("'", "''")}'`);
  const csvColumns = processedTable.columns
    .map(({ name, type }) => `'${name}': '${HIVE_TO_DUCKDB[type]}'`)
    .join(', ');
  const empty = (table: string, columns: string) =>
    connection.run(`CREATE TABLE ${table} (${columns}, dt VARCHAR, hour VARCHAR)`);
  // The dialect the transform writes (RFC 4180: a quote in a quoted cell is doubled), not sniffed per file.
  if (tableObjects.length > 0)
    await connection.run(
      `CREATE TABLE processed_readings AS SELECT * FROM read_csv([${objectFiles.join(', ')}], header = true, delim = ',', quote = '"', escape = '"', columns = {${csvColumns}}, ${partitions})`,
    );
  else
    await empty(
      'processed_readings',
      processedTable.columns.map(({ name, type }) => `"${name}" ${HIVE_TO_DUCKDB[type]}`).join(', '),
    );
  // The raw table: the whole line in one column, as the text SerDe reads it (its delimiter is \001).
  const rawTable = parseExternalTable(sqlText('raw_archive.sql'));
  if (rawTable.columns.length !== 1)
    throw new Error('raw_archive is expected to hold the line in one column');
  const line = rawTable.columns[0].name;
  if (options.raw?.size)
    await connection.run(
      `CREATE TABLE raw_archive AS SELECT * FROM read_csv('${dir}/raw/raw/**/*.gz', header = false, columns = {'${line}': 'VARCHAR'}, delim = '\u0001', quote = '', escape = '', compression = 'gzip', ${partitions})`,
    );
  else await empty('raw_archive', `${line} VARCHAR`);
  // The curated zone: the Parquet the curation wrote under the processed bucket's curated/ prefix.
  await createCuratedReadings(connection, join(dir, 'processed'), schema);

  const rows = async (sql: string) =>
    (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  return {
    connection,
    rows,
    runFile: (file: string) => rows(toDuckDb(sqlText(file, schema), options.nowMs)),
    curate: (hour: LakeHour) =>
      curateHourInDuckDb(connection, { processedDir: join(dir, 'processed'), hour, schema }),
    close: () => {
      connection.closeSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
