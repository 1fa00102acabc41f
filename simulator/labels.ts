import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { FEATURES } from '../lambdas/shared/features';
import type { Burst } from './generator';
import type { SentRecord } from './sender';

/**
 * Ground truth for evaluation (`--labels FILE`): a row per reading sent, with its equipment, timestamp,
 * whether each feature was anomalous, and the malformed kind when it was replaced by a bad reading.
 * Kinesis coordinates and the reading's index in its record join a row to the pipeline's CSV lake
 * (timestamps alone do not: the pipeline keeps milliseconds, the lab takes readings 0.33 ms apart).
 * `.csv` files get CSV with 0/1 flags; any other name JSON Lines.
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

export interface LabelsWriter {
  /** Writes the rows of a record that was delivered. */
  write(burst: Burst, sent: SentRecord): void;
  close(): Promise<void>;
}

export function openLabels(path: string): LabelsWriter {
  // Opened now, so a bad path fails before anything is sent.
  const file = createWriteStream(path, { fd: openSync(path, 'w') });
  // A write error is reported by close(), which every run reaches.
  file.on('error', () => {});
  const csv = path.toLowerCase().endsWith('.csv');
  if (csv) file.write(`${LABEL_COLUMNS.join(',')}\n`);
  return {
    write: (burst, sent) => file.write(csv ? csvRows(burst, sent) : jsonLines(burst, sent)),
    close: () => closeFile(file),
  };
}

function csvRows(burst: Burst, sent: SentRecord): string {
  const flags = FEATURES.map((_, f) => (burst.anomalyMask & (1 << f) ? 1 : 0)).join(',');
  const tail = `,${sent.shardId ?? ''},${sent.sequenceNumber ?? ''},`;
  const kinds = malformedKinds(burst);
  let rows = '';
  for (let i = 0; i < burst.readings; i++) {
    rows += `${burst.equipmentId},${burst.timestamps[i]},${flags},${kinds.get(i) ?? ''}${tail}${i}\n`;
  }
  return rows;
}

function jsonLines(burst: Burst, sent: SentRecord): string {
  const flags = FEATURES.map(
    (feature, f) => `"${feature}_anomalous":${(burst.anomalyMask & (1 << f)) !== 0}`,
  );
  const head = `{"equipment_id":${burst.equipmentId},"timestamp":"`;
  const middle = `",${flags.join(',')},"malformed":`;
  const tail = `,"shard_id":${JSON.stringify(sent.shardId ?? null)},"sequence_number":${JSON.stringify(sent.sequenceNumber ?? null)},"reading_index":`;
  const kinds = malformedKinds(burst);
  let rows = '';
  for (let i = 0; i < burst.readings; i++) {
    rows += `${head}${burst.timestamps[i]}${middle}${JSON.stringify(kinds.get(i) ?? null)}${tail}${i}}\n`;
  }
  return rows;
}

function malformedKinds(burst: Burst): Map<number, string> {
  return new Map(burst.malformed.map(({ index, kind }) => [index, kind]));
}

async function closeFile(file: WriteStream): Promise<void> {
  file.end();
  await finished(file);
}
