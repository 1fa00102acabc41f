import { FEATURES } from './features';
import type { EquipmentId, Reading } from './reading';
import type { ReadingSchema } from './reading-schema';

/** Where a reading came from: the Kinesis metadata the lab's view exposes. */
export interface RecordSource {
  stream: string;
  shardId: string;
  partitionKey: string;
  sequenceNumber: string;
  arrivalMs: number;
}

/** A valid reading after scoring. */
export interface ProcessedReading {
  source: RecordSource;
  /** Position of the reading within its Kinesis record (0 for a single-reading record). */
  index: number;
  reading: Reading;
  score: number;
  isAnomaly: boolean;
  anomalousFeatures: string[];
  reasons: string[];
  modelVersion: string;
}

/**
 * One reading as a flat row: the CSV lake's columns, and what `last3` returns. The column order
 * (readingColumns) is the CSV header and the Athena DDL's column order; a feature's cell is empty (NaN
 * here) when an optional feature was left out.
 */
export interface ReadingRow {
  [feature: string]: string | number | boolean;
  stream: string;
  shard_id: string;
  partition_key: string;
  sequence_number: string;
  reading_index: number;
  arrival_time: string;
  timestamp: string;
  equipment_id: EquipmentId;
  anomaly_score: number;
  is_anomaly: boolean;
  anomalous_features: string;
  reasons: string;
  model_version: string;
}

/** The columns before the features, and after them. */
export const LEADING_COLUMNS = [
  'stream',
  'shard_id',
  'partition_key',
  'sequence_number',
  'reading_index',
  'arrival_time',
  'timestamp',
  'equipment_id',
] as const;
export const TRAILING_COLUMNS = [
  'anomaly_score',
  'is_anomaly',
  'anomalous_features',
  'reasons',
  'model_version',
] as const;

/** The CSV lake's columns for a reading schema: the features between the metadata and the scores. */
export function readingColumns(schema: ReadingSchema): string[] {
  return [...LEADING_COLUMNS, ...schema.featureNames, ...TRAILING_COLUMNS];
}

/** The lab schema's columns. */
export const READING_COLUMNS = [...LEADING_COLUMNS, ...FEATURES, ...TRAILING_COLUMNS] as const;

/** Scores are kept to 4 decimals everywhere they are stored, so every copy agrees. */
export function roundScore(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}

/** Separator inside the anomalous_features and reasons cells. */
export const LIST_SEPARATOR = '; ';
