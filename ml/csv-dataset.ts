import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { parseTimestamp } from '../lambdas/shared/timestamp';
import type { Dataset } from './dataset';

/** Which columns of a CSV file hold what; the rest are ignored. */
export interface CsvMapping {
  /** The features' names, as the dataset (and what is written from it) calls them. */
  features: string[];
  /**
   * Per feature, the CSV columns that may hold it, in order of preference: the first a file has is
   * read (a reading schema's feature: its source column, then its name). Default: its name.
   */
  columns?: (readonly string[])[];
  /** Where `columns` come from (a reading schema's file), for errors. */
  columnsFrom?: string;
  /** Per feature, whether an empty cell is a missing value (NaN: not scored, not learnt) rather than an error. */
  optional?: readonly boolean[];
  /** The ground-truth column (anything parsing to a number >= 0.5 is anomalous), if any. */
  label?: string;
  timestamp?: string;
  /** A column naming the stream of each row (equipment_id in the CSV lake); one stream when absent. */
  key?: string;
  delimiter: string;
}

/** A label covering every feature, for data labelled per reading only. */
export const ALL_FEATURES_ANOMALOUS = 255;

/**
 * CSV files of sensor readings as a dataset: one stream per file, or per value of the key column (its
 * rows ordered by timestamp), features in the order given.
 */
export function readCsvDataset(files: string | string[], mapping: CsvMapping): Dataset {
  const width = mapping.features.length;
  const streams = new Map<
    string,
    { timestamps: number[]; texts: string[]; values: number[]; labels: number[] }
  >();
  for (const file of Array.isArray(files) ? files : [files]) {
    const { rows, featureColumns } = readRows(file, mapping);
    rows.forEach((row, i) => {
      const where = `${file}, row ${i + 2}`;
      const key = mapping.key ? row[mapping.key] : basename(file);
      let stream = streams.get(key);
      if (!stream) {
        stream = { timestamps: [], texts: [], values: [], labels: [] };
        streams.set(key, stream);
      }
      for (let f = 0; f < width; f++) {
        const cell = row[featureColumns[f]];
        if (cell === '' && mapping.optional?.[f]) {
          stream.values.push(Number.NaN);
          continue;
        }
        const value = Number(cell);
        if (cell === '' || !Number.isFinite(value)) {
          const feature = mapping.features[f];
          const named =
            featureColumns[f] === feature ? feature : `${feature} (column "${featureColumns[f]}")`;
          throw new Error(`${where}: ${named} is not a number: "${cell}"`);
        }
        stream.values.push(value);
      }
      stream.timestamps.push(
        mapping.timestamp ? timestampOf(row[mapping.timestamp], where) : stream.timestamps.length,
      );
      if (mapping.timestamp) stream.texts.push(row[mapping.timestamp]);
      if (mapping.label) stream.labels.push(isTrue(row[mapping.label]) ? ALL_FEATURES_ANOMALOUS : 0);
    });
  }
  const name = Array.isArray(files) ? `${files.length} CSV files` : basename(files);
  return {
    name,
    features: mapping.features,
    streams: [...streams].map(([key, stream]) => {
      const order = stream.timestamps.map((_, i) => i);
      if (mapping.key) order.sort((a, b) => stream.timestamps[a] - stream.timestamps[b]);
      return {
        key,
        timestamps: Float64Array.from(order, (i) => stream.timestamps[i]),
        values: Float64Array.from(order.flatMap((i) => stream.values.slice(i * width, (i + 1) * width))),
        labels: mapping.label ? Uint8Array.from(order, (i) => stream.labels[i]) : undefined,
        timestampTexts: mapping.timestamp ? order.map((i) => stream.texts[i]) : undefined,
      };
    }),
  };
}

/** A file's rows, and the column each feature is read from in it. */
function readRows(
  file: string,
  mapping: CsvMapping,
): { rows: Record<string, string>[]; featureColumns: string[] } {
  let rows: Record<string, string>[];
  try {
    rows = parse(readCsvFile(file), {
      columns: true,
      delimiter: mapping.delimiter,
      skip_empty_lines: true,
      trim: true,
    });
  } catch (error) {
    throw new Error(
      `${file}: not a readable CSV file with delimiter '${mapping.delimiter}': ${(error as Error).message}`,
    );
  }
  if (rows.length === 0) throw new Error(`${file}: no rows`);
  const columns = Object.keys(rows[0]);
  const featureColumns = mapping.features.map((feature, f) => {
    const candidates = mapping.columns?.[f] ?? [feature];
    const column = candidates.find((c) => columns.includes(c));
    if (column !== undefined) return column;
    const wanted = candidates.map((c) => `"${c}"`).join(' or ');
    const of =
      candidates.length === 1 && candidates[0] === feature
        ? ''
        : ` for the feature ${feature}${mapping.columnsFrom ? ` of ${mapping.columnsFrom}` : ''}`;
    throw new Error(`${file}: no column ${wanted}${of} (columns: ${columns.join(', ')})`);
  });
  for (const column of [mapping.label, mapping.timestamp, mapping.key]) {
    if (column !== undefined && !columns.includes(column)) {
      throw new Error(`${file}: no column "${column}" (columns: ${columns.join(', ')})`);
    }
  }
  return { rows, featureColumns };
}

/** The column names of a CSV file's header; none when it cannot be read (reading it whole then says why). */
export function readCsvHeader(file: string, delimiter: string): string[] {
  try {
    // The header is at the start: read no more than 1 MiB of a file that may be large.
    // A GZIP file (the CSV lake's `.csv.gz`) is read whole: its header is compressed with the rest.
    if (file.endsWith('.gz')) return csvHeaderOf(readCsvFile(file), delimiter);
    const start = Buffer.alloc(1 << 20);
    const fd = openSync(file, 'r');
    let length: number;
    try {
      length = readSync(fd, start, 0, start.length, 0);
    } finally {
      closeSync(fd);
    }
    return csvHeaderOf(start.subarray(0, length).toString('utf8'), delimiter);
  } catch {
    return [];
  }
}

function csvHeaderOf(text: string, delimiter: string): string[] {
  const [header] = parse(text, { delimiter, to_line: 1, skip_empty_lines: true, trim: true }) as string[][];
  return header ?? [];
}

/** A CSV file's text; a `.gz` one (the CSV lake's objects, `.csv.gz`) unzipped. */
function readCsvFile(file: string): string {
  return file.endsWith('.gz') ? gunzipSync(readFileSync(file)).toString('utf8') : readFileSync(file, 'utf8');
}

function timestampOf(raw: string, where: string): number {
  const parsed = parseTimestamp(/^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
  if (!parsed.ok) throw new Error(`${where}: ${parsed.reason}`);
  return parsed.epochMs;
}

/** A label cell: 1, 1.0, true (the CSV lake's is_anomaly) are anomalous. */
function isTrue(cell: string): boolean {
  return cell === 'true' || Number(cell) >= 0.5;
}

/** The first `rows` readings of each stream of a dataset, and the rest. */
export function splitRows(dataset: Dataset, rows: number): { train: Dataset; test: Dataset } {
  const width = dataset.features.length;
  const part = (from: (n: number) => number, to: (n: number) => number) => ({
    ...dataset,
    streams: dataset.streams.map((stream) => {
      const n = stream.timestamps.length;
      return {
        key: stream.key,
        timestamps: stream.timestamps.subarray(from(n), to(n)),
        values: stream.values.subarray(from(n) * width, to(n) * width),
        labels: stream.labels?.subarray(from(n), to(n)),
      };
    }),
  });
  return {
    train: part(
      () => 0,
      (n) => Math.min(rows, n),
    ),
    test: part(
      (n) => Math.min(rows, n),
      (n) => n,
    ),
  };
}
