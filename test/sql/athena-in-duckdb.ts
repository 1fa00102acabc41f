import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import {
  sqlText as expandedSqlText,
  parseExternalTable,
  substitutePlaceholders,
} from '../../lib/constructs/analytics-sql';

/**
 * The Athena SQL of sql/, run in DuckDB over files written the way the pipeline writes them, expanded
 * for a reading schema (the lab's unless told) as the stack expands it. What is translated, and nothing
 * else:
 * - `${DATABASE}` becomes DuckDB's `main` schema (the stack substitutes the Glue database name the
 *   same way), and the buckets are local directories;
 * - Athena functions DuckDB lacks are DuckDB macros of the same name and meaning: `json_parse`,
 *   `json_format`, `json_extract_scalar` (NULL for an object or array, as in Athena),
 *   `from_iso8601_timestamp` and `date_format` (same `%Y %m %d %H` codes as DuckDB's strftime);
 * - the type `ARRAY(JSON)` is written `JSON[]`;
 * - with `nowMs`, `current_timestamp` is that instant, so the views relative to now are tested at
 *   chosen times;
 * - the CSV table reads the objects its partition projection would (storage.location.template, with
 *   `${dt}` and `${hour}` as wildcards): those of its own schema's prefix, nothing else under readings/.
 * The rest runs as written: try, try_cast, count_if, FILTER, CROSS JOIN UNNEST ... WITH ORDINALITY,
 * row_number() OVER, date_trunc, AT TIME ZONE, INTERVAL arithmetic.
 */

const HIVE_TO_DUCKDB: Record<string, string> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
};

const MACROS = [
  'CREATE MACRO json_parse(text) AS json(text)',
  'CREATE MACRO json_format(value) AS CAST(value AS VARCHAR)',
  `CREATE MACRO json_extract_scalar(value, path) AS
     CASE WHEN json_type(value, path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(value, path) END`,
  'CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)',
  'CREATE MACRO date_format(value, format) AS strftime(value, format)',
];

/** A file of sql/ expanded for the schema (the lab's by default). */
export const sqlText = (file: string, schema: ReadingSchema = LAB_SCHEMA) => expandedSqlText(file, schema);

/** The statement of a sql/ file as DuckDB runs it (see above for what changes). */
export function toDuckDb(sql: string, nowMs?: number): string {
  let translated = substitutePlaceholders(sql, {
    DATABASE: 'main',
    PROCESSED_BUCKET: 'processed-bucket',
    RAW_BUCKET: 'raw-bucket',
  }).replaceAll('ARRAY(JSON)', 'JSON[]');
  if (nowMs !== undefined)
    translated = translated.replace(
      /\bcurrent_timestamp\b/g,
      `TIMESTAMPTZ '${new Date(nowMs).toISOString().replace('T', ' ').replace('Z', '+00')}'`,
    );
  return translated;
}

export interface AthenaInDuckDb {
  connection: DuckDBConnection;
  /** Runs a sql/ file, expanded for the lake's schema (a view is created, a query returns its rows as JSON values). */
  runFile(file: string): Promise<Record<string, unknown>[]>;
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
      writeFileSync(file, body);
    }
  };
  write('processed', options.processed ?? new Map());
  write('raw', options.raw ?? new Map());
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  await connection.run("SET TimeZone = 'UTC'");
  for (const macro of MACROS) await connection.run(macro);

  const partitions = "hive_partitioning = true, hive_types = {'dt': 'VARCHAR', 'hour': 'VARCHAR'}";
  const processedTable = parseExternalTable(sqlText('processed_readings.sql', schema));
  // What partition projection lists: the location template, its partitions any value.
  const template = processedTable.properties['storage.location.template'];
  const prefix = `s3://\${PROCESSED_BUCKET}/`;
  if (!template?.startsWith(prefix)) throw new Error(`unexpected location template ${template}`);
  const objectsGlob = `${template.slice(prefix.length).replace(/\$\{(dt|hour)\}/g, '*')}*.csv`;
  const globRegExp = new RegExp(`^${objectsGlob.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
  const tableObjects = [...(options.processed?.keys() ?? [])].filter((key) => globRegExp.test(key));
  const csvColumns = processedTable.columns
    .map(({ name, type }) => `'${name}': '${HIVE_TO_DUCKDB[type]}'`)
    .join(', ');
  const empty = (table: string, columns: string) =>
    connection.run(`CREATE TABLE ${table} (${columns}, dt VARCHAR, hour VARCHAR)`);
  // The dialect the transform writes (RFC 4180: a quote in a quoted cell is doubled), not sniffed per file.
  if (tableObjects.length > 0)
    await connection.run(
      `CREATE TABLE processed_readings AS SELECT * FROM read_csv('${dir}/processed/${objectsGlob}', header = true, delim = ',', quote = '"', escape = '"', columns = {${csvColumns}}, ${partitions})`,
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

  const rows = async (sql: string) =>
    (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  return {
    connection,
    rows,
    runFile: (file: string) => rows(toDuckDb(sqlText(file, schema), options.nowMs)),
    close: () => {
      connection.closeSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
