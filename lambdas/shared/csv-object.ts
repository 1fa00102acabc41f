import { promisify } from 'node:util';
import { constants, gunzipSync, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * The CSV lake's objects are GZIP files (`.csv.gz`), which Athena reads as they are (it goes by the
 * extension). Level 1 (zlib's fastest): measured on the lab simulator's readings (`npm run cost`
 * measures it again), it makes a batch's CSV about 13x smaller (240 -> 18.5 bytes a reading) for about
 * 1 to 2 ms of CPU per 1,000 readings, a few per cent of the transform's time; level 6 saves 2.5 more
 * bytes a reading for twice that CPU, which the storage and scans it saves do not repay.
 */
export const CSV_GZIP_LEVEL = constants.Z_BEST_SPEED;

/** The suffix of the objects the transform writes; objects of earlier versions end in `.csv`. */
export const CSV_OBJECT_SUFFIX = '.csv.gz';

/**
 * The object's metadata: a GZIP file, with no `Content-Encoding: gzip`, which would make browsers and
 * HTTP clients unzip it on download while it keeps its `.gz` name (and Athena needs none).
 */
export const CSV_OBJECT_CONTENT_TYPE = 'application/gzip';

/** A CSV text as the lake's object body. */
export function gzipCsv(csv: string): Promise<Buffer> {
  return gzipAsync(csv, { level: CSV_GZIP_LEVEL });
}

/** True for an object of the CSV lake, either form: `.csv.gz` (now) or `.csv` (before). */
export function isCsvObjectKey(key: string): boolean {
  return key.endsWith('.csv.gz') || key.endsWith('.csv');
}

/** A CSV lake object's text from its bytes: unzipped when its key ends in `.gz`, as Athena decides. */
export function csvObjectText(key: string, body: Uint8Array): string {
  return (key.endsWith('.gz') ? gunzipSync(body) : Buffer.from(body)).toString('utf8');
}
