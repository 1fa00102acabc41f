import { READING_COLUMNS, type ReadingRow } from './processed-reading';

const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180 cell: quoted when it holds a comma, quote or line break (numbers and booleans never do). */
export function csvCell(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const CSV_HEADER = READING_COLUMNS.join(',');

/** A CSV document with a header line, one line per row, each line ending in \n. */
export function toCsv(rows: readonly ReadingRow[]): string {
  const lines = [CSV_HEADER];
  for (const row of rows) lines.push(READING_COLUMNS.map((column) => csvCell(row[column])).join(','));
  return `${lines.join('\n')}\n`;
}
