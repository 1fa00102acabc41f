/**
 * S3 keys of the processed bucket. A batch's objects are named after its first record (shard id and
 * sequence number) and partitioned by that record's arrival hour, so a retried batch rewrites the same
 * keys. Firehose writes the raw archive under the same dt=/hour= scheme.
 */

export const READINGS_PREFIX = 'readings/';
export const QUARANTINE_PREFIX = 'quarantine/';
export const RAW_PREFIX = 'raw/';
export const RAW_ERROR_PREFIX = 'raw-errors/';

/** `dt=2026-11-23/hour=19`, in UTC. */
export function timePartition(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

export interface BatchKeyParts {
  shardId: string;
  firstSequenceNumber: string;
  firstArrivalMs: number;
}

export function readingsObjectKey(batch: BatchKeyParts): string {
  return `${READINGS_PREFIX}${timePartition(batch.firstArrivalMs)}/${batch.shardId}-${batch.firstSequenceNumber}.csv`;
}

export function quarantineObjectKey(batch: BatchKeyParts): string {
  return `${QUARANTINE_PREFIX}${timePartition(batch.firstArrivalMs)}/${batch.shardId}-${batch.firstSequenceNumber}.jsonl`;
}
