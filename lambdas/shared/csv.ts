import { READING_COLUMNS, type ReadingRow } from './processed-reading';

/** RFC 4180 cell: quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number | boolean): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const CSV_HEADER = READING_COLUMNS.join(',');

/** A CSV document with a header line, one line per row, each line ending in \n. */
export function toCsv(rows: readonly ReadingRow[]): string {
  const lines = [CSV_HEADER];
  for (const row of rows) lines.push(READING_COLUMNS.map((column) => csvCell(row[column])).join(','));
  return `${lines.join('\n')}\n`;
}
