import { CSV_OBJECT_SUFFIX } from './csv-object';
import type { ReadingSchema } from './reading-schema';

/**
 * S3 keys of the processed bucket. A batch's objects are named after its first record (shard id and
 * sequence number) and partitioned by that record's arrival hour, so a retried batch rewrites the same
 * keys. Firehose writes the raw archive under the same dt=/hour= scheme.
 *
 * The CSV objects of the lab's schema are under `readings/dt=.../hour=.../`; those of any other reading
 * schema under a prefix of its name and version, `readings/<name>-v<version>/dt=.../hour=.../`, so the
 * Athena table of one schema version reads its own objects only, and the objects an earlier version
 * wrote stay readable by a table of that version (their columns differ).
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

/** The part of a schema that names its objects' prefix. */
export type SchemaKeyParts = Pick<ReadingSchema, 'name' | 'version' | 'isLab'>;

/** Where a schema's CSV objects go: `readings/` for the lab's columns, `readings/<name>-v<version>/` otherwise. */
export function readingsPrefix(schema?: SchemaKeyParts): string {
  return !schema || schema.isLab ? READINGS_PREFIX : `${READINGS_PREFIX}${schema.name}-v${schema.version}/`;
}

/**
 * The CSV object (GZIP, `.csv.gz`: csv-object.ts) of a batch of readings of this schema (the lab's when
 * none is given). Earlier versions wrote `.csv`: readers take both.
 */
export function readingsObjectKey(batch: BatchKeyParts, schema?: SchemaKeyParts): string {
  return `${readingsPrefix(schema)}${timePartition(batch.firstArrivalMs)}/${batch.shardId}-${batch.firstSequenceNumber}${CSV_OBJECT_SUFFIX}`;
}

/** The curated zone's prefix (Parquet, one folder per hour: docs/lake.md). */
export const CURATED_PREFIX = 'curated/';

/** Where a schema's curated Parquet goes: `curated/` for the lab's, `curated/<name>-v<version>/` otherwise. */
export function curatedPrefix(schema?: SchemaKeyParts): string {
  return !schema || schema.isLab ? CURATED_PREFIX : `${CURATED_PREFIX}${schema.name}-v${schema.version}/`;
}

export function quarantineObjectKey(batch: BatchKeyParts): string {
  return `${QUARANTINE_PREFIX}${timePartition(batch.firstArrivalMs)}/${batch.shardId}-${batch.firstSequenceNumber}.jsonl`;
}
