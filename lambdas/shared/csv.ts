import { numberText } from './number-text';
import {
  LIST_SEPARATOR,
  type ProcessedReading,
  READING_COLUMNS,
  type RecordSource,
  readingColumns,
  roundScore,
} from './processed-reading';
import { LAB_SCHEMA, type ReadingSchema } from './reading-schema';

const NEEDS_QUOTES = /[",]/;
const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /[\r\n]/g;

/**
 * First characters that make a spreadsheet run a cell as a formula (OWASP, CSV injection), and `'`
 * itself: so a reader gets any text cell back by dropping one leading `'`.
 */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', "'"]);

/**
 * RFC 4180 cell: quoted when it holds a comma or quote; line breaks become spaces. Text whose first character a
 * spreadsheet would run (a partition key `=HYPERLINK(...)`, say) is neutralised as OWASP says: a `'`
 * first, and quoted. The column decides, not the content: numbers (-3.5 too) and booleans are as
 * they are.
 */
export function csvCell(value: string | number | boolean): string {
  if (typeof value === 'number') return numberText(value);
  if (typeof value !== 'string') return String(value);
  // Athena's CSV reader takes every line break for the end of a row, quoted or not: a producer's
  // partition key holding one would forge rows. A row stays one line; the documents keep the exact key.
  if (LINE_BREAK.test(value)) value = value.replace(LINE_BREAKS, ' ');
  if (FORMULA_START.has(value.charAt(0))) return `"'${value.replaceAll('"', '""')}"`;
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const CSV_HEADER = READING_COLUMNS.join(',');

/** A feature's cell: its number, or empty for an optional feature the reading left out. */
function featureCell(value: number): string {
  return !Number.isNaN(value) ? numberText(value) : '';
}

/**
 * The CSV lake's object of some scored readings: the header, then one line per reading, each
 * ending in \n, with the ReadingRow cells in READING_COLUMNS order (checked cell for cell against a
 * plain reference in the tests). The metadata cells are formatted once per record and a repeated
 * reason text is checked for quoting once: the transform writes every reading this way. Text goes
 * through csvCell; the times are ISO 8601 of years 2000 on (older readings are rejected): a digit first.
 */
export function toCsv(readings: readonly ProcessedReading[], schema: ReadingSchema = LAB_SCHEMA): string {
  const features = schema.featureNames;
  const optional = schema.features.some((f) => f.optional);
  let csv = `${schema.isLab ? CSV_HEADER : readingColumns(schema).join(',')}\n`;
  let source: RecordSource | undefined;
  let sourceCells = '';
  let arrivalCell = '';
  let reasonsText: string | undefined;
  let reasonsCell = '';
  let modelVersion: string | undefined;
  let modelCell = '';
  for (const processed of readings) {
    if (processed.source !== source) {
      source = processed.source;
      sourceCells = `${csvCell(source.stream)},${csvCell(source.shardId)},${csvCell(source.partitionKey)},${csvCell(source.sequenceNumber)}`;
      arrivalCell = isoTime(source.arrivalMs);
    }
    if (processed.modelVersion !== modelVersion) {
      modelVersion = processed.modelVersion;
      modelCell = csvCell(modelVersion);
    }
    const { reading } = processed;
    const { values } = reading;
    let flagCells = 'false,,';
    if (processed.isAnomaly) {
      const reasons = processed.reasons.join(LIST_SEPARATOR);
      if (reasons !== reasonsText) {
        reasonsText = reasons;
        reasonsCell = csvCell(reasons);
      }
      flagCells = `true,${csvCell(processed.anomalousFeatures.join(LIST_SEPARATOR))},${reasonsCell}`;
    }
    let valueCells = '';
    if (optional)
      for (let f = 0; f < features.length; f++) valueCells += `${featureCell(values[features[f]])},`;
    else for (let f = 0; f < features.length; f++) valueCells += `${numberText(values[features[f]])},`;
    const equipment = reading.equipmentId;
    csv +=
      `${sourceCells},${processed.index},${arrivalCell},${isoTime(reading.timestampMs)},` +
      `${typeof equipment === 'number' ? equipment : csvCell(equipment)},${valueCells}` +
      `${numberText(roundScore(processed.score))},${flagCells},${modelCell}\n`;
  }
  return csv;
}

/** The minute whose ISO 8601 prefix was formatted last: a record's readings mostly share it. */
let cachedMinute = Number.NaN;
let cachedMinutePrefix = '';

/** `new Date(ms).toISOString()`, formatting the date part once per minute. */
export function isoTime(epochMs: number): string {
  const minute = Math.floor(epochMs / 60_000);
  if (minute !== cachedMinute) {
    const iso = new Date(minute * 60_000).toISOString();
    if (iso.length !== 24) return new Date(epochMs).toISOString(); // years outside 0000-9999
    cachedMinute = minute;
    cachedMinutePrefix = iso.slice(0, 17);
  }
  const millisOfMinute = epochMs - minute * 60_000;
  const seconds = Math.floor(millisOfMinute / 1000);
  const millis = millisOfMinute - seconds * 1000;
  return `${cachedMinutePrefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
