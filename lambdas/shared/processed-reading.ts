import { FEATURES, type Feature, type FeatureValues } from './features';
import type { Reading } from './reading';

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
  anomalousFeatures: Feature[];
  reasons: string[];
  modelVersion: string;
}

/**
 * One reading as a flat row: the CSV lake's columns, and what `last3` returns. The column order here
 * is the CSV header and the Athena DDL's column order.
 */
export interface ReadingRow extends FeatureValues {
  stream: string;
  shard_id: string;
  partition_key: string;
  sequence_number: string;
  reading_index: number;
  arrival_time: string;
  timestamp: string;
  equipment_id: number;
  anomaly_score: number;
  is_anomaly: boolean;
  anomalous_features: string;
  reasons: string;
  model_version: string;
}

export const READING_COLUMNS = [
  'stream',
  'shard_id',
  'partition_key',
  'sequence_number',
  'reading_index',
  'arrival_time',
  'timestamp',
  'equipment_id',
  ...FEATURES,
  'anomaly_score',
  'is_anomaly',
  'anomalous_features',
  'reasons',
  'model_version',
] as const satisfies ReadonlyArray<keyof ReadingRow>;

/** Scores are kept to 4 decimals everywhere they are stored, so every copy agrees. */
export function roundScore(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}

/** Separator inside the anomalous_features and reasons cells. */
export const LIST_SEPARATOR = '; ';
