import type { RecordSource } from './processed-reading';

/**
 * A reading (or a whole record, when it cannot be decoded) that failed validation, with why; or the
 * summary of a record's rejected readings past the first few, which keeps the record whole.
 */
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
  /** Readings this entry stands for: 1, or, for a record's summary, the rejected readings it counts. */
  readings: number;
  /** A summary's reasons, with how many readings each (at most REASON_KINDS of them, then "other"). */
  reasons?: Record<string, number>;
}

/** Rejected readings of one record quarantined one by one; the rest are counted in one summary entry. */
export const DETAILED_READINGS = 10;
/** Distinct reasons a summary counts apart; the rest are counted together. */
const REASON_KINDS = 20;
const OTHER_REASONS = '(other reasons)';

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
    readings: 1,
  };
}

/**
 * A record's rejected readings, in bytes and memory proportional to the record at most, however many
 * there are: the first DETAILED_READINGS one entry each (with the reading), the rest counted per
 * reason in one summary entry that holds the record's own bytes once, so it can be read and replayed.
 */
export class RecordQuarantine {
  readonly entries: QuarantineEntry[] = [];
  private summarised = 0;
  private readonly reasons = new Map<string, number>();

  constructor(private readonly source: RecordSource) {}

  add(readingIndex: number, reason: string, reading: unknown): void {
    if (this.entries.length < DETAILED_READINGS) {
      this.entries.push(quarantineEntry(this.source, readingIndex, reason, reading, 'json'));
      return;
    }
    this.summarised++;
    const kind = this.reasons.has(reason) || this.reasons.size < REASON_KINDS ? reason : OTHER_REASONS;
    this.reasons.set(kind, (this.reasons.get(kind) ?? 0) + 1);
  }

  /** The entries, with the summary (and the record's bytes) when there were more than the detailed ones. */
  finish(data: Uint8Array): QuarantineEntry[] {
    if (this.summarised === 0) return this.entries;
    const raw = rawRecordData(data);
    const summary = quarantineEntry(
      this.source,
      null,
      `${this.summarised} more readings of this record rejected (by reason in "reasons"); the record is kept whole in "data"`,
      raw.data,
      raw.encoding,
    );
    summary.readings = this.summarised;
    summary.reasons = Object.fromEntries(this.reasons);
    return [...this.entries, summary];
  }
}

/** The readings a set of entries stands for. */
export function quarantinedReadings(entries: readonly QuarantineEntry[]): number {
  let readings = 0;
  for (const entry of entries) readings += entry.readings;
  return readings;
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
