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

/** The arrival time of the last source converted: all readings of a record share it. */
let lastSource: RecordSource | undefined;
let lastArrivalTime = '';

export function toReadingRow(processed: ProcessedReading): ReadingRow {
  const { source, reading } = processed;
  if (source !== lastSource) {
    lastSource = source;
    lastArrivalTime = new Date(source.arrivalMs).toISOString();
  }
  return {
    stream: source.stream,
    shard_id: source.shardId,
    partition_key: source.partitionKey,
    sequence_number: source.sequenceNumber,
    reading_index: processed.index,
    arrival_time: lastArrivalTime,
    timestamp: isoTime(reading.timestampMs),
    equipment_id: reading.equipmentId,
    ...reading.values,
    anomaly_score: roundScore(processed.score),
    is_anomaly: processed.isAnomaly,
    anomalous_features: processed.anomalousFeatures.join(LIST_SEPARATOR),
    reasons: processed.reasons.join(LIST_SEPARATOR),
    model_version: processed.modelVersion,
  };
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
