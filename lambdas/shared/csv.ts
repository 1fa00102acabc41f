import { numberText } from './number-text';
import {
  isoTime,
  LIST_SEPARATOR,
  type ProcessedReading,
  READING_COLUMNS,
  type RecordSource,
  roundScore,
} from './processed-reading';

const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180 cell: quoted when it holds a comma, quote or line break (numbers and booleans never do). */
export function csvCell(value: string | number | boolean): string {
  if (typeof value === 'number') return numberText(value);
  if (typeof value !== 'string') return String(value);
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const CSV_HEADER = READING_COLUMNS.join(',');

/**
 * The CSV lake's object of some scored readings: the header, then one line per reading, each
 * ending in \n; the cells are those of `toReadingRow`, in READING_COLUMNS order (tested). Written
 * straight from the readings, because the transform writes every reading this way: the metadata
 * cells are formatted once per record and a repeated reason text is checked for quoting once.
 */
export function toCsv(readings: readonly ProcessedReading[]): string {
  let csv = `${CSV_HEADER}\n`;
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
    csv +=
      `${sourceCells},${processed.index},${arrivalCell},${isoTime(reading.timestampMs)},${reading.equipmentId},` +
      `${numberText(values.vibration_amplitude)},${numberText(values.vibration_frequency)},` +
      `${numberText(values.temperature)},${numberText(values.humidity)},` +
      `${numberText(roundScore(processed.score))},${flagCells},${modelCell}\n`;
  }
  return csv;
}
