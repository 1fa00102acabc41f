import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { curatedPrefix, readingsPrefix } from '../lambdas/shared/object-keys';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import {
  type CurationFile,
  curationStatement,
  fillHour,
  parseExternalTable,
  sqlText,
  substitutePlaceholders,
} from '../lib/constructs/analytics-sql';

/**
 * Athena's SQL of `sql/` run by DuckDB: the local mode's curation (`npm run curate -- --target local`)
 * and the SQL tests use it alike. What is translated, and nothing else:
 * - `${DATABASE}` becomes DuckDB's `main` schema (the stack substitutes the Glue database name the
 *   same way), and the buckets are local directories;
 * - Athena functions DuckDB lacks are DuckDB macros of the same name and meaning: `json_parse`,
 *   `json_format`, `json_extract_scalar` (NULL for an object or array, as in Athena),
 *   `from_iso8601_timestamp` and `date_format` (same `%Y %m %d %H` codes as DuckDB's strftime);
 * - the type `ARRAY(JSON)` is written `JSON[]`;
 * - `UNLOAD (query) TO 's3://<bucket>/<prefix>' WITH (format = 'PARQUET', compression = 'ZSTD')` becomes
 *   `COPY (query) TO '<directory of the bucket>/<prefix>data.parquet' (FORMAT parquet, COMPRESSION zstd)`;
 * - with `nowMs`, `current_timestamp` is that instant, so the views relative to now run at chosen times.
 * The rest runs as written: try, try_cast, count_if, FILTER, CROSS JOIN UNNEST ... WITH ORDINALITY,
 * row_number() OVER, NOT EXISTS, date_trunc, AT TIME ZONE, INTERVAL arithmetic.
 */

export const HIVE_TO_DUCKDB: Record<string, string> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
};

export const ATHENA_MACROS = [
  'CREATE MACRO json_parse(text) AS json(text)',
  'CREATE MACRO json_format(value) AS CAST(value AS VARCHAR)',
  `CREATE MACRO json_extract_scalar(value, path) AS
     CASE WHEN json_type(value, path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(value, path) END`,
  'CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)',
  'CREATE MACRO date_format(value, format) AS strftime(value, format)',
];

/** The bucket names the translated SQL uses: a bucket's objects are under `<root>/<bucket>/`. */
export const DUCKDB_BUCKETS = { PROCESSED_BUCKET: 'processed-bucket', RAW_BUCKET: 'raw-bucket' } as const;

export interface ToDuckDbOptions {
  nowMs?: number;
  /** Where UNLOAD writes: the directory holding the processed bucket's objects. */
  processedDir?: string;
}

/** The statement of a sql/ file as DuckDB runs it (see above for what changes). */
export function toDuckDb(sql: string, options: ToDuckDbOptions = {}): string {
  let translated = substitutePlaceholders(sql, { DATABASE: 'main', ...DUCKDB_BUCKETS }).replaceAll(
    'ARRAY(JSON)',
    'JSON[]',
  );
  if (options.nowMs !== undefined)
    translated = translated.replace(
      /\bcurrent_timestamp\b/g,
      `TIMESTAMPTZ '${new Date(options.nowMs).toISOString().replace('T', ' ').replace('Z', '+00')}'`,
    );
  const unload = /^UNLOAD\s*\(([\s\S]*)\)\s*TO\s*'s3:\/\/([^/']+)\/([^']*)'\s*WITH\s*\(([^)]*)\)\s*$/i.exec(
    translated.trim(),
  );
  if (unload) {
    const [, query, bucket, prefix, withOptions] = unload;
    if (bucket !== DUCKDB_BUCKETS.PROCESSED_BUCKET || !options.processedDir)
      throw new Error(
        `UNLOAD to s3://${bucket}/: only the processed bucket, with processedDir, is translated`,
      );
    const format = /format\s*=\s*'(\w+)'/i.exec(withOptions)?.[1]?.toLowerCase();
    const compression = /compression\s*=\s*'(\w+)'/i.exec(withOptions)?.[1]?.toLowerCase() ?? 'snappy';
    if (format !== 'parquet') throw new Error(`UNLOAD format ${format}: only PARQUET is translated`);
    const target = join(options.processedDir, prefix, 'data.parquet');
    mkdirSync(dirname(target), { recursive: true });
    translated = `COPY (${query}) TO '${target}' (FORMAT parquet, COMPRESSION ${compression})`;
  }
  return translated;
}

export async function installAthenaMacros(connection: DuckDBConnection): Promise<void> {
  await connection.run("SET TimeZone = 'UTC'");
  for (const macro of ATHENA_MACROS) await connection.run(macro);
}

/** A table's columns as DuckDB's: `"name" TYPE, ...`. */
function duckDbColumns(file: string, schema: ReadingSchema): { name: string; type: string }[] {
  return parseExternalTable(sqlText(file, schema)).columns.map(({ name, type }) => {
    const duck = HIVE_TO_DUCKDB[type];
    if (!duck) throw new Error(`${file}: no DuckDB type for ${type}`);
    return { name, type: duck };
  });
}

const PARTITIONS = "hive_partitioning = true, hive_types = {'dt': 'VARCHAR', 'hour': 'VARCHAR'}";

/**
 * `processed_readings` over CSV files of the lake (plain `.csv` or GZIP `.csv.gz`, by extension), whose
 * paths end in `dt=.../hour=.../<name>`: dt and hour from the path, like partition projection.
 */
export async function createProcessedReadings(
  connection: DuckDBConnection,
  files: readonly string[],
  schema: ReadingSchema = LAB_SCHEMA,
): Promise<void> {
  const columns = duckDbColumns('processed_readings.sql', schema);
  if (files.length === 0) {
    await connection.run(
      `CREATE OR REPLACE TABLE processed_readings (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')}, dt VARCHAR, hour VARCHAR)`,
    );
    return;
  }
  const list = files.map((file) => `'${file.replaceAll("'", "''")}'`).join(', ');
  const typed = columns.map((c) => `'${c.name}': '${c.type}'`).join(', ');
  // The dialect the transform writes (RFC 4180: a quote in a quoted cell is doubled), not sniffed per file.
  await connection.run(
    `CREATE OR REPLACE TABLE processed_readings AS SELECT * FROM read_csv([${list}], header = true, delim = ',', quote = '"', escape = '"', columns = {${typed}}, ${PARTITIONS})`,
  );
}

/** The Parquet files under a folder, recursively. */
function parquetFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.parquet'))
    .map((path) => join(dir, path));
}

/**
 * `curated_readings` as a view over the Parquet of the curated zone under `processedDir` (the curated
 * prefix's `dt=.../hour=.../` folders), or empty when there is none yet. Call it again after a curation.
 */
export async function createCuratedReadings(
  connection: DuckDBConnection,
  processedDir: string,
  schema: ReadingSchema = LAB_SCHEMA,
): Promise<void> {
  const columns = duckDbColumns('curated_readings.sql', schema);
  const files = parquetFiles(join(processedDir, curatedPrefix(schema))).filter((file) =>
    /\/dt=[^/]+\/hour=[^/]+\/[^/]+$/.test(file),
  );
  const select = columns.map((c) => `CAST("${c.name}" AS ${c.type}) AS "${c.name}"`).join(', ');
  if (files.length === 0) {
    const nulls = columns.map((c) => `CAST(NULL AS ${c.type}) AS "${c.name}"`).join(', ');
    await connection.run(
      `CREATE OR REPLACE VIEW curated_readings AS SELECT ${nulls}, CAST(NULL AS VARCHAR) AS dt, CAST(NULL AS VARCHAR) AS hour WHERE false`,
    );
    return;
  }
  const list = files.map((file) => `'${file.replaceAll("'", "''")}'`).join(', ');
  await connection.run(
    `CREATE OR REPLACE VIEW curated_readings AS SELECT ${select}, dt, hour FROM read_parquet([${list}], ${PARTITIONS})`,
  );
}

/** An hour of the lake's partitions: `dt=2026-11-28/hour=17`. */
export interface LakeHour {
  dt: string;
  hour: string;
}

/** The hour (UTC) holding an instant. */
export function lakeHourOf(epochMs: number): LakeHour {
  const iso = new Date(epochMs).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

export function lakeHourStartMs(hour: LakeHour): number {
  return Date.parse(`${hour.dt}T${hour.hour}:00:00Z`);
}

export const previousLakeHour = (hour: LakeHour): LakeHour => lakeHourOf(lakeHourStartMs(hour) - 3_600_000);

export const lakeHourPath = (hour: LakeHour) => `dt=${hour.dt}/hour=${hour.hour}/`;

/** A file of sql/curation/ expanded for the schema, with the hour written in (`{DT}`, `{HOUR}`, ...). */
export function curationSql(file: CurationFile, hour: LakeHour, schema: ReadingSchema = LAB_SCHEMA): string {
  return fillHour(curationStatement(file, schema), hour, previousLakeHour(hour));
}

export interface CurationCounts {
  /** The hour's readings in the CSV lake, deduplicated as the curation does. */
  lakeReadings: number;
  /** The hour's rows in curated_readings. */
  curatedReadings: number;
  curatedAnomalies: number;
  equipment: number;
}

/**
 * Curates one hour in DuckDB as the state machine does in Athena: deletes the hour's curated folder
 * under `processedDir`, runs sql/curation/curate_hour.sql (UNLOAD translated to COPY), refreshes
 * `curated_readings` and runs the count check. `processed_readings` must hold (at least) the hour and
 * the one before. Returns the Parquet file written (none when the hour has no readings) and the counts.
 */
export async function curateHourInDuckDb(
  connection: DuckDBConnection,
  options: { processedDir: string; hour: LakeHour; schema?: ReadingSchema },
): Promise<{ file?: string; counts: CurationCounts }> {
  const schema = options.schema ?? LAB_SCHEMA;
  const folder = join(options.processedDir, curatedPrefix(schema), lakeHourPath(options.hour));
  rmSync(folder, { recursive: true, force: true });
  await connection.run(
    toDuckDb(curationSql('curate_hour.sql', options.hour, schema), { processedDir: options.processedDir }),
  );
  let file: string | undefined = join(folder, 'data.parquet');
  const rows = Number(
    (await connection.runAndReadAll(`SELECT count(*) FROM read_parquet('${file}')`)).getRows()[0][0],
  );
  // Athena's UNLOAD writes no object for no rows: neither does this.
  if (rows === 0) {
    rmSync(folder, { recursive: true, force: true });
    file = undefined;
  }
  await createCuratedReadings(connection, options.processedDir, schema);
  const [row] = (
    await connection.runAndReadAll(toDuckDb(curationSql('check_counts.sql', options.hour, schema)))
  ).getRowObjectsJson() as Record<string, unknown>[];
  return {
    file,
    counts: {
      lakeReadings: Number(row.lake_readings),
      curatedReadings: Number(row.curated_readings),
      curatedAnomalies: Number(row.curated_anomalies),
      equipment: Number(row.equipment),
    },
  };
}

/** A DuckDB connection with Athena's macros, in memory. */
export async function athenaDuckDbConnection(): Promise<DuckDBConnection> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  await installAthenaMacros(connection);
  return connection;
}

/**
 * The curated Parquet (ZSTD) of CSV lake objects, as the curation writes it: every reading of the
 * objects, one copy of each (deduplicated as the curation does), in one Parquet file's bytes. Objects
 * are S3 keys (under readings/dt=.../hour=.../, `.csv` or `.csv.gz`) to their bodies (GZIP bytes, or
 * the text), or bare CSV texts (then taken as one hour's). For `npm run cost`: the Parquet bytes per reading, measured.
 */
export async function curateToParquet(
  objects: ReadonlyMap<string, string | Uint8Array> | readonly string[],
  schema: ReadingSchema = LAB_SCHEMA,
): Promise<Buffer> {
  const entries: [string, string | Uint8Array][] = Array.isArray(objects)
    ? (objects as readonly string[]).map((text, i) => [
        `${readingsPrefix(schema)}dt=2000-01-01/hour=00/object-${i}.csv`,
        text,
      ])
    : [...(objects as ReadonlyMap<string, string | Uint8Array>)];
  const dir = mkdtempSync(join(tmpdir(), 'curate-to-parquet-'));
  const connection = await athenaDuckDbConnection();
  try {
    const files: string[] = [];
    const hours = new Map<string, LakeHour>();
    for (const [key, body] of entries) {
      const hour = /dt=([^/]+)\/hour=([^/]+)\//.exec(key);
      if (!hour) throw new Error(`${key}: not a key of the lake (readings/.../dt=.../hour=.../)`);
      hours.set(`${hour[1]}/${hour[2]}`, { dt: hour[1], hour: hour[2] });
      // A `.gz` key's body given as text (unzipped already) is written as the `.csv` it is.
      const gzipped = typeof body !== 'string' && body[0] === 0x1f && body[1] === 0x8b;
      const file = join(
        dir,
        'processed',
        key.endsWith('.gz') && !gzipped ? key.slice(0, -'.gz'.length) : key,
      );
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      files.push(file);
    }
    if (hours.size !== 1) throw new Error(`the objects are of ${hours.size} hours: give one hour's`);
    await createProcessedReadings(connection, files, schema);
    const [hour] = hours.values();
    const { file } = await curateHourInDuckDb(connection, {
      processedDir: join(dir, 'processed'),
      hour,
      schema,
    });
    return file ? readFileSync(file) : Buffer.alloc(0);
  } finally {
    connection.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}
