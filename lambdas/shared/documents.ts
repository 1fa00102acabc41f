import { FEATURES, featuresToMask, maskToFeatures } from './features';
import {
  LIST_SEPARATOR,
  type ProcessedReading,
  type ReadingRow,
  type RecordSource,
  roundScore,
} from './processed-reading';
import type { EquipmentId } from './reading';
import { LAB_SCHEMA, type ReadingSchema } from './reading-schema';

/**
 * The DynamoDB documents. A Kinesis record's readings go into one document (a few when they span
 * several equipment, minutes, or more than `maxDocumentBytes`), keyed so that:
 *   - pk `readings#<UTC minute of the readings' event time>`: "the last 3 minutes" is a Query of 4 keys;
 *   - sk `<equipment id>#<shard id>#<sequence number>#<part>`: one equipment is a begins_with on the
 *     sort key, and a retried record rewrites exactly the items it wrote before, whatever the batch.
 * Readings are stored as rows of numbers (`columns` names them), which keeps an item of 1,000 readings
 * 60-75 KB (measured in test/shared/documents.test.ts); an item per reading would cost a write unit per reading.
 */

export const READINGS_PK_PREFIX = 'readings#';
/** Items holding the newest reading time, per equipment: the lab's view is relative to it. */
export const LATEST_PK = 'latest';

export const DOCUMENT_COLUMNS = [
  'reading_index',
  'offset_ms',
  ...FEATURES,
  'anomaly_score',
  'anomaly_mask',
] as const;

/** A document's columns for a reading schema: its features between the index and offset, and the score. */
export function documentColumns(schema: ReadingSchema): string[] {
  return ['reading_index', 'offset_ms', ...schema.featureNames, 'anomaly_score', 'anomaly_mask'];
}
const NOT_FEATURE_COLUMNS = new Set(['reading_index', 'offset_ms', 'anomaly_score', 'anomaly_mask']);

export interface ReadingDocument {
  pk: string;
  sk: string;
  equipment_id: EquipmentId;
  stream: string;
  shard_id: string;
  partition_key: string;
  sequence_number: string;
  part: number;
  arrival_ms: number;
  /** Event time of the first and last reading; offset_ms is relative to first_ms. */
  first_ms: number;
  last_ms: number;
  count: number;
  anomalies: number;
  model_version: string;
  /** The reading schema's `name@version`, for any schema but the lab's (whose documents are as they were). */
  schema?: string;
  columns: string[];
  /** A feature an optional reading left out is null. */
  readings: (number | null)[][];
  /** Reasons of the anomalous readings: each distinct reason, with the indexes of the readings it explains. */
  reasons: Record<string, number[]>;
  expires_at: number;
}

export interface DocumentOptions {
  /** Time to live of the documents, from the record's arrival. */
  ttlSeconds: number;
  /** Upper bound of an item's size (DynamoDB's limit is 400 KB). */
  maxDocumentBytes: number;
}

export const DEFAULT_DOCUMENT_OPTIONS: DocumentOptions = {
  ttlSeconds: 7 * 24 * 3600,
  maxDocumentBytes: 200_000,
};

/** Rough fixed size of a document's attributes other than readings and reasons. */
const DOCUMENT_OVERHEAD_BYTES = 600;

export function minuteBucket(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16);
}

export function readingsPartitionKey(epochMs: number): string {
  return `${READINGS_PK_PREFIX}${minuteBucket(epochMs)}`;
}

export function equipmentSortKeyPrefix(equipmentId: EquipmentId): string {
  return `${equipmentId}#`;
}

/** Builds the documents of one Kinesis record from its valid readings, in their order. */
export function buildDocuments(
  source: RecordSource,
  readings: readonly ProcessedReading[],
  options: DocumentOptions = DEFAULT_DOCUMENT_OPTIONS,
  schema: ReadingSchema = LAB_SCHEMA,
): ReadingDocument[] {
  const rowBytes = schema.featureNames.length * (MAX_NUMBER_CHARS + 1) + 40;
  // Grouped by equipment and minute; a record's readings are mostly one run of the same group.
  const groups = new Map<string, ProcessedReading[]>();
  let current: ProcessedReading[] | undefined;
  let currentEquipment: EquipmentId = Number.NaN;
  let currentMinute = Number.NaN;
  for (const processed of readings) {
    const { equipmentId, timestampMs } = processed.reading;
    const minute = Math.floor(timestampMs / 60_000);
    if (equipmentId !== currentEquipment || minute !== currentMinute) {
      const key = `${equipmentId}|${minute}`;
      current = groups.get(key);
      if (!current) {
        current = [];
        groups.set(key, current);
      }
      currentEquipment = equipmentId;
      currentMinute = minute;
    }
    (current as ProcessedReading[]).push(processed);
  }
  const documents: ReadingDocument[] = [];
  for (const group of groups.values()) {
    let start = 0;
    let chunkBytes = DOCUMENT_OVERHEAD_BYTES;
    for (let i = 0; i < group.length; i++) {
      const bytes = estimateReadingBytes(group[i], rowBytes);
      if (i > start && chunkBytes + bytes > options.maxDocumentBytes) {
        documents.push(toDocument(source, group, start, i, documents.length, options, schema));
        start = i;
        chunkBytes = DOCUMENT_OVERHEAD_BYTES;
      }
      chunkBytes += bytes;
    }
    documents.push(toDocument(source, group, start, group.length, documents.length, options, schema));
  }
  return documents;
}

/**
 * Upper bound of a reading's row as JSON: no finite number is written in more than 24 characters,
 * the other columns (index, offset, score, mask) and separators take at most 40, and an anomalous
 * reading adds its index to a reason's list (the reason's text is counted as if new). A bound from
 * the shape rather than each value's text keeps this off the transform's hot path.
 */
const MAX_NUMBER_CHARS = 24;

function estimateReadingBytes(processed: ProcessedReading, rowBytes: number): number {
  if (!processed.isAnomaly) return rowBytes;
  let reasonBytes = 10;
  for (const reason of processed.reasons) reasonBytes += reason.length + LIST_SEPARATOR.length;
  return rowBytes + reasonBytes;
}

/** The document of readings `group[start..end)`. */
function toDocument(
  source: RecordSource,
  group: readonly ProcessedReading[],
  start: number,
  end: number,
  part: number,
  options: DocumentOptions,
  schema: ReadingSchema,
): ReadingDocument {
  const features = schema.featureNames;
  const width = features.length + 4;
  const first = group[start].reading;
  const equipmentId = first.equipmentId;
  let firstMs = first.timestampMs;
  let lastMs = first.timestampMs;
  for (let i = start; i < end; i++) {
    const { timestampMs } = group[i].reading;
    if (timestampMs < firstMs) firstMs = timestampMs;
    if (timestampMs > lastMs) lastMs = timestampMs;
  }
  // Anomalous readings of a burst share a few reasons: each text is stored once, with its readings.
  const reasons: Record<string, number[]> = {};
  let anomalies = 0;
  const rows: (number | null)[][] = new Array(end - start);
  for (let i = start; i < end; i++) {
    const processed = group[i];
    if (processed.isAnomaly) {
      anomalies++;
      const reason = processed.reasons.join(LIST_SEPARATOR);
      if (reasons[reason]) reasons[reason].push(processed.index);
      else reasons[reason] = [processed.index];
    }
    const { values, timestampMs } = processed.reading;
    const row: (number | null)[] = new Array(width);
    row[0] = processed.index;
    row[1] = timestampMs - firstMs;
    for (let f = 0; f < features.length; f++) {
      const value = values[features[f]];
      row[f + 2] = Number.isNaN(value) ? null : value;
    }
    row[width - 2] = roundScore(processed.score);
    row[width - 1] = featuresToMask(processed.anomalousFeatures, features);
    rows[i - start] = row;
  }
  return {
    pk: readingsPartitionKey(firstMs),
    sk: `${equipmentSortKeyPrefix(equipmentId)}${source.shardId}#${source.sequenceNumber}#${part}`,
    equipment_id: equipmentId,
    stream: source.stream,
    shard_id: source.shardId,
    partition_key: source.partitionKey,
    sequence_number: source.sequenceNumber,
    part,
    arrival_ms: source.arrivalMs,
    first_ms: firstMs,
    last_ms: lastMs,
    count: end - start,
    anomalies,
    model_version: group[start].modelVersion,
    ...(schema.isLab ? {} : { schema: schema.id }),
    columns: schema.isLab ? [...DOCUMENT_COLUMNS] : documentColumns(schema),
    readings: rows,
    reasons,
    expires_at: Math.floor(source.arrivalMs / 1000) + options.ttlSeconds,
  };
}

/** Turns a document back into one row per reading, the shape of the CSV lake. */
export function flattenDocument(document: ReadingDocument): ReadingRow[] {
  const column = (name: string) => {
    const index = document.columns.indexOf(name);
    if (index < 0) throw new Error(`document ${document.pk}/${document.sk} has no column ${name}`);
    return index;
  };
  const features = document.columns.filter((name) => !NOT_FEATURE_COLUMNS.has(name));
  const at = {
    index: column('reading_index'),
    offset: column('offset_ms'),
    score: column('anomaly_score'),
    mask: column('anomaly_mask'),
    features: features.map(column),
  };
  const arrivalTime = new Date(document.arrival_ms).toISOString();
  const reasonOf = new Map<number, string>();
  for (const [reason, indexes] of Object.entries(document.reasons))
    for (const index of indexes) reasonOf.set(index, reason);
  return document.readings.map((cells) => {
    const row = cells as number[];
    const mask = row[at.mask];
    const values = Object.fromEntries(
      features.map((feature, i) => [feature, row[at.features[i]] ?? Number.NaN]),
    );
    return {
      stream: document.stream,
      shard_id: document.shard_id,
      partition_key: document.partition_key,
      sequence_number: document.sequence_number,
      reading_index: row[at.index],
      arrival_time: arrivalTime,
      timestamp: new Date(document.first_ms + row[at.offset]).toISOString(),
      equipment_id: document.equipment_id,
      ...values,
      anomaly_score: row[at.score],
      is_anomaly: mask !== 0,
      anomalous_features: maskToFeatures(mask, features).join(LIST_SEPARATOR),
      reasons: reasonOf.get(row[at.index]) ?? '',
      model_version: document.model_version,
    };
  });
}
