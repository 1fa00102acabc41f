import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { objectPages } from '../cli/object-pages';
import { curatedPrefix, readingsPrefix } from '../lambdas/shared/object-keys';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import {
  athenaDuckDbConnection,
  type CurationCounts,
  createCuratedReadings,
  createProcessedReadings,
  curateHourInDuckDb,
  type LakeHour,
  lakeHourOf,
  lakeHourPath,
  previousLakeHour,
} from './athena-duckdb';

/**
 * The curation of local mode (`npm run curate -- --target local`, `npm start -- --count N --curate`):
 * what the state machine does in AWS, with DuckDB standing in for Athena and the same SQL
 * (sql/curation/). For each hour: the CSV objects of the hour and the hour before are read from the
 * local S3 into a temporary folder (DuckDB's S3 extension is not available offline), DuckDB writes the
 * hour's Parquet, the hour's curated folder in S3 is emptied and the Parquet put there
 * (`curated/dt=.../hour=.../data.parquet`), and the row count is checked against the lake's.
 */

export interface HourCuration extends CurationCounts {
  dt: string;
  hour: string;
  /** The curated object written (none for an hour without readings). */
  key?: string;
  /** Its size, and the size of the hour's CSV objects (its copies of readings of the hour before excluded). */
  parquetBytes: number;
  csvBytes: number;
}

export interface LocalCurationOptions {
  s3: S3Client;
  bucket: string;
  schema?: ReadingSchema;
  /** The hours to curate; with `all`, every hour the CSV lake holds. */
  hours?: LakeHour[];
  all?: boolean;
  /** With `all`: the current hour too (only once nothing more arrives: a finished `npm start --count`). */
  includeCurrent?: boolean;
  nowMs?: number;
}

/** The hours of the CSV lake's keys, in order. */
export async function lakeHours(s3: S3Client, bucket: string, schema: ReadingSchema): Promise<LakeHour[]> {
  const prefix = readingsPrefix(schema);
  const hours = new Map<string, LakeHour>();
  for await (const page of objectPages(s3, bucket, prefix)) {
    for (const object of page) {
      const match = /^dt=(\d{4}-\d\d-\d\d)\/hour=(\d\d)\/[^/]+$/.exec(
        (object.Key ?? '').slice(prefix.length),
      );
      if (match) hours.set(`${match[1]}/${match[2]}`, { dt: match[1], hour: match[2] });
    }
  }
  return [...hours.values()].sort((a, b) => `${a.dt}${a.hour}`.localeCompare(`${b.dt}${b.hour}`));
}

async function keysUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ key: string; size: number }[]> {
  const keys: { key: string; size: number }[] = [];
  for await (const page of objectPages(s3, bucket, prefix))
    for (const object of page) if (object.Key) keys.push({ key: object.Key, size: object.Size ?? 0 });
  return keys;
}

export async function curateLocal(options: LocalCurationOptions): Promise<HourCuration[]> {
  const schema = options.schema ?? LAB_SCHEMA;
  const { s3, bucket } = options;
  const now = lakeHourOf(options.nowMs ?? Date.now());
  let hours = options.hours ?? [];
  if (options.all) {
    hours = await lakeHours(s3, bucket, schema);
    if (!options.includeCurrent) hours = hours.filter((h) => `${h.dt}${h.hour}` < `${now.dt}${now.hour}`);
  }
  const results: HourCuration[] = [];
  for (const hour of hours) results.push(await curateOneHour(s3, bucket, schema, hour));
  return results;
}

async function curateOneHour(
  s3: S3Client,
  bucket: string,
  schema: ReadingSchema,
  hour: LakeHour,
): Promise<HourCuration> {
  const dir = mkdtempSync(join(tmpdir(), 'curate-'));
  const processedDir = join(dir, 'processed');
  const connection = await athenaDuckDbConnection();
  try {
    const hourPrefix = `${readingsPrefix(schema)}${lakeHourPath(hour)}`;
    const inHour = await keysUnder(s3, bucket, hourPrefix);
    const before = await keysUnder(
      s3,
      bucket,
      `${readingsPrefix(schema)}${lakeHourPath(previousLakeHour(hour))}`,
    );
    const files: string[] = [];
    for (const { key } of [...before, ...inHour]) {
      const result = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = await (
        result.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      const file = join(processedDir, key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      files.push(file);
    }
    await createProcessedReadings(connection, files, schema);
    await createCuratedReadings(connection, processedDir, schema);
    const { file, counts } = await curateHourInDuckDb(connection, { processedDir, hour, schema });

    // As the state machine does: empty the hour's curated folder, then write it.
    const folder = `${curatedPrefix(schema)}${lakeHourPath(hour)}`;
    for (const { key } of await keysUnder(s3, bucket, folder))
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const key = file ? `${folder}data.parquet` : undefined;
    if (file && key)
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: readFileSync(file),
          ContentType: 'application/vnd.apache.parquet',
        }),
      );
    if (counts.curatedReadings !== counts.lakeReadings)
      throw new Error(
        `curation of ${hour.dt} ${hour.hour}:00: curated ${counts.curatedReadings} readings, the lake holds ${counts.lakeReadings}`,
      );
    return {
      dt: hour.dt,
      hour: hour.hour,
      key,
      ...counts,
      parquetBytes: file ? statSync(file).size : 0,
      csvBytes: inHour.reduce((sum, object) => sum + object.size, 0),
    };
  } finally {
    connection.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}
