import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { FEATURES } from '../lambdas/shared/features';
import type { EquipmentId } from '../lambdas/shared/reading';
import type { SentRecord } from './sender';

/**
 * Ground truth for evaluation (`--labels FILE`): a row per reading sent, with its equipment, timestamp,
 * whether each feature was anomalous, and the malformed kind when it was replaced by a bad reading.
 * Kinesis coordinates and the reading's index in its record join a row to the pipeline's CSV lake
 * (timestamps alone do not: the pipeline keeps milliseconds, the lab takes readings 0.33 ms apart).
 * `.csv` files get CSV with 0/1 flags; any other name JSON Lines. With another reading schema, the
 * flag columns are its features' (`<feature>_anomalous`).
 */

export const LABEL_COLUMNS = [
  'equipment_id',
  'timestamp',
  ...FEATURES.map((feature) => `${feature}_anomalous` as const),
  'malformed',
  'shard_id',
  'sequence_number',
  'reading_index',
] as const;

/** The columns of a labels file for a schema's features. */
export function labelColumns(features: readonly string[]): string[] {
  return [
    'equipment_id',
    'timestamp',
    ...features.map((feature) => `${feature}_anomalous`),
    'malformed',
    'shard_id',
    'sequence_number',
    'reading_index',
  ];
}

/** What a labels file needs of a generated burst (the lab generator's or a schema's). */
export interface LabelledBurst {
  equipmentId: EquipmentId;
  /** Bit f (2 ** f) for feature f. */
  anomalyMask: number;
  readings: number;
  timestamps: readonly string[];
  malformed: readonly { index: number; kind: string }[];
}

export interface LabelsWriter {
  /** Writes the rows of a record that was delivered. */
  write(burst: LabelledBurst, sent: SentRecord): void;
  close(): Promise<void>;
}

export function openLabels(path: string, features: readonly string[] = FEATURES): LabelsWriter {
  // Opened now, so a bad path fails before anything is sent.
  const file = createWriteStream(path, { fd: openSync(path, 'w') });
  // A write error is reported by close(), which every run reaches.
  file.on('error', () => {});
  const csv = path.toLowerCase().endsWith('.csv');
  if (csv) file.write(`${labelColumns(features).join(',')}\n`);
  return {
    write: (burst, sent) =>
      file.write(csv ? csvRows(burst, sent, features) : jsonLines(burst, sent, features)),
    close: () => closeFile(file),
  };
}

const isAnomalous = (mask: number, f: number) => Math.floor(mask / 2 ** f) % 2 === 1;

/** A CSV cell: quoted when it holds a delimiter, a quote or a line break (a string equipment id may). */
function cell(value: EquipmentId): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvRows(burst: LabelledBurst, sent: SentRecord, features: readonly string[]): string {
  const flags = features.map((_, f) => (isAnomalous(burst.anomalyMask, f) ? 1 : 0)).join(',');
  const id = cell(burst.equipmentId);
  const tail = `,${sent.shardId ?? ''},${sent.sequenceNumber ?? ''},`;
  const kinds = malformedKinds(burst);
  let rows = '';
  for (let i = 0; i < burst.readings; i++) {
    rows += `${id},${burst.timestamps[i]},${flags},${kinds.get(i) ?? ''}${tail}${i}\n`;
  }
  return rows;
}

function jsonLines(burst: LabelledBurst, sent: SentRecord, features: readonly string[]): string {
  const flags = features.map(
    (feature, f) => `${JSON.stringify(`${feature}_anomalous`)}:${isAnomalous(burst.anomalyMask, f)}`,
  );
  const head = `{"equipment_id":${JSON.stringify(burst.equipmentId)},"timestamp":"`;
  const middle = `",${flags.join(',')},"malformed":`;
  const tail = `,"shard_id":${JSON.stringify(sent.shardId ?? null)},"sequence_number":${JSON.stringify(sent.sequenceNumber ?? null)},"reading_index":`;
  const kinds = malformedKinds(burst);
  let rows = '';
  for (let i = 0; i < burst.readings; i++) {
    rows += `${head}${burst.timestamps[i]}${middle}${JSON.stringify(kinds.get(i) ?? null)}${tail}${i}}\n`;
  }
  return rows;
}

function malformedKinds(burst: LabelledBurst): Map<number, string> {
  return new Map(burst.malformed.map(({ index, kind }) => [index, kind]));
}

async function closeFile(file: WriteStream): Promise<void> {
  file.end();
  await finished(file);
}
