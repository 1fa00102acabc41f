import type { RecordSource } from './processed-reading';

/** A reading (or a whole record, when it cannot be decoded) that failed validation, with why. */
export interface QuarantineEntry {
  reason: string;
  stream: string;
  shard_id: string;
  partition_key: string;
  sequence_number: string;
  arrival_time: string;
  /** Position in the record; null when the whole record was rejected. */
  reading_index: number | null;
  /** The rejected reading, or the record's text (base64 when it is not UTF-8). */
  data: unknown;
  data_encoding: 'json' | 'text' | 'base64';
}

export function quarantineEntry(
  source: RecordSource,
  readingIndex: number | null,
  reason: string,
  data: unknown,
  dataEncoding: QuarantineEntry['data_encoding'],
): QuarantineEntry {
  return {
    reason,
    stream: source.stream,
    shard_id: source.shardId,
    partition_key: source.partitionKey,
    sequence_number: source.sequenceNumber,
    arrival_time: new Date(source.arrivalMs).toISOString(),
    reading_index: readingIndex,
    data,
    data_encoding: dataEncoding,
  };
}

/** The record's raw bytes as they are best kept: text when they are UTF-8, base64 otherwise. */
export function rawRecordData(data: Uint8Array): { data: string; encoding: 'text' | 'base64' } {
  try {
    return { data: new TextDecoder('utf-8', { fatal: true }).decode(data), encoding: 'text' };
  } catch {
    return { data: Buffer.from(data).toString('base64'), encoding: 'base64' };
  }
}

/** JSON Lines; NaN and Infinity are kept as strings rather than becoming null. */
export function toJsonLines(entries: readonly QuarantineEntry[]): string {
  return entries
    .map((entry) =>
      JSON.stringify(entry, (_key, value) =>
        typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
      ),
    )
    .map((line) => `${line}\n`)
    .join('');
}
