import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { parseTimestamp } from '../lambdas/shared/timestamp';

/** Where the NAB development subset is, beside this repository (it is not part of it). */
export const DEFAULT_NAB_DIR = join(__dirname, '..', '..', 'shared', 'datasets', 'nab-dev');

/** One NAB data file: `category/name.csv`, its rows, and its labelled anomaly windows. */
export interface NabFile {
  /** As NAB names it: `realTweets/Twitter_volume_AAPL.csv`. */
  name: string;
  category: string;
  timestamps: Float64Array;
  values: Float64Array;
  windows: [number, number][];
}

/** Reads every data file of a NAB corpus folder (data/, labels/combined_windows.json), in name order. */
export function readNabCorpus(root: string): NabFile[] {
  const data = join(root, 'data');
  const labelsFile = join(root, 'labels', 'combined_windows.json');
  if (!existsSync(data) || !existsSync(labelsFile)) {
    throw new Error(
      `the NAB data is not here: ${root} has no data/ and labels/combined_windows.json (it is read from ../shared/datasets/nab-dev)`,
    );
  }
  const labels = JSON.parse(readFileSync(labelsFile, 'utf8')) as Record<string, [string, string][]>;
  const files: NabFile[] = [];
  for (const category of readdirSync(data).sort()) {
    for (const fileName of readdirSync(join(data, category)).sort()) {
      if (!fileName.endsWith('.csv')) continue;
      const name = `${category}/${fileName}`;
      const windows = labels[name];
      if (!windows) throw new Error(`${labelsFile} has no windows for ${name}`);
      const rows = readTimeSeries(join(data, category, fileName), 'value');
      files.push({
        name,
        category,
        timestamps: rows.timestamps,
        values: rows.values,
        windows: windows.map(([start, end]) => [nabTime(start, name), nabTime(end, name)]),
      });
    }
  }
  return files;
}

/** A NAB-style CSV (`timestamp,<column>`) as timestamps (epoch ms) and values. */
export function readTimeSeries(
  file: string,
  column: string,
): { timestamps: Float64Array; values: Float64Array } {
  const rows = parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const timestamps = new Float64Array(rows.length);
  const values = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    timestamps[i] = nabTime(row.timestamp, `${file}, row ${i + 2}`);
    values[i] = Number(row[column]);
    if (row[column] === undefined || !Number.isFinite(values[i])) {
      throw new Error(`${file}, row ${i + 2}: ${column} is not a number: "${row[column]}"`);
    }
  });
  return { timestamps, values };
}

function nabTime(text: string, where: string): number {
  const parsed = parseTimestamp(text);
  if (!parsed.ok) throw new Error(`${where}: ${parsed.reason}`);
  return parsed.epochMs;
}
