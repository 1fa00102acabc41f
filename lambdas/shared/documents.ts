import { decodeColumns, encodeColumns, MAX_VALUE_BYTES } from './column-codec';
import { FEATURES, featuresToMask, maskToFeatures } from './features';
import { keySuffix, suffixedKey, suffixedKeys } from './key-suffixes';
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
 *   - pk `readings#<UTC minute of the readings' event time>[#<suffix>]`: "the last 3 minutes" is a
 *     Query of 4 minutes times K key suffixes (key-suffixes.ts: the writes of a minute spread over K
 *     partitions, suffix 0 written without `#0`);
 *   - sk `<equipment id>#<shard id>#<sequence number>#<part>`: one equipment is a begins_with on the
 *     sort key, and a retried record rewrites exactly the items it wrote before, whatever the batch.
 *
 * Form 2 (`form: 2`, written since issue 14): a readable summary (equipment, stream position, time
 * range, counts, the model, the column names, and the reasons of the anomalous readings with their
 * indexes) beside the readings as compact typed columns compressed into one binary attribute `data`
 * (column-codec.ts). A 1,000-reading lab document is about 9 KB, 9 write units, where form 1 was about
 * 36 KB (measured in test/shared/documents.test.ts; docs/storage.md).
 *
 * Form 1 (no `form` attribute, written before): the same summary with the readings as rows of numbers
 * (`readings`, one row per reading in `columns` order). Readers read both (flattenDocument).
 */

export const READINGS_PK_PREFIX = 'readings#';
/** Items holding the newest reading time, per equipment: the lab's view is relative to it. */
export const LATEST_PK = 'latest';
/** The form of the documents buildDocuments writes. */
export const DOCUMENT_FORM = 2;

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

/** What both forms hold besides the readings. */
interface DocumentSummary {
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
  /** The reading schema's `name@version`, for any schema but the lab's. */
  schema?: string;
  columns: string[];
  /** Reasons of the anomalous readings: each distinct reason, with the indexes of the readings it explains. */
  reasons: Record<string, number[]>;
  expires_at: number;
}

/** Form 2: the readings as compressed typed columns (column-codec.ts), `columns` naming them. */
export interface CompactReadingDocument extends DocumentSummary {
  form: typeof DOCUMENT_FORM;
  data: Uint8Array;
}

/** Form 1, written before form 2 and still read: a row of numbers per reading. */
export interface LegacyReadingDocument extends DocumentSummary {
  form?: undefined;
  /** A feature an optional reading left out is null. */
  readings: (number | null)[][];
}

export type ReadingDocument = CompactReadingDocument | LegacyReadingDocument;

export interface DocumentOptions {
  /** Time to live of the documents, from the record's arrival. */
  ttlSeconds: number;
  /** Upper bound of an item's size (DynamoDB's limit is 400 KB). */
  maxDocumentBytes: number;
  /** K: the partition keys a minute's documents spread over (key-suffixes.ts). */
  keySuffixes: number;
}

export const DEFAULT_DOCUMENT_OPTIONS: DocumentOptions = {
  ttlSeconds: 7 * 24 * 3600,
  maxDocumentBytes: 200_000,
  keySuffixes: 1,
};

/** Rough fixed size of a document's attributes other than the readings and reasons. */
const DOCUMENT_OVERHEAD_BYTES = 700;

export function minuteBucket(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16);
}

/** The partition key of the documents of a minute, for one key suffix (0: the unsuffixed key). */
export function readingsPartitionKey(epochMs: number, suffix = 0): string {
  return suffixedKey(`${READINGS_PK_PREFIX}${minuteBucket(epochMs)}`, suffix);
}

/** Every partition key of a minute's documents when K is `suffixes`. */
export function readingsPartitionKeys(epochMs: number, suffixes: number): string[] {
  return suffixedKeys(`${READINGS_PK_PREFIX}${minuteBucket(epochMs)}`, suffixes);
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
): CompactReadingDocument[] {
  const rowBytes = (schema.featureNames.length + 4) * MAX_VALUE_BYTES + 1;
  // The summary: its fixed attributes, and the column names (a wide schema's are not few).
  let overheadBytes = DOCUMENT_OVERHEAD_BYTES;
  for (const feature of schema.featureNames) overheadBytes += feature.length + 1;
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
  const documents: CompactReadingDocument[] = [];
  for (const group of groups.values()) {
    let start = 0;
    let chunkBytes = overheadBytes;
    for (let i = 0; i < group.length; i++) {
      const bytes = estimateReadingBytes(group[i], rowBytes);
      if (i > start && chunkBytes + bytes > options.maxDocumentBytes) {
        documents.push(toDocument(source, group, start, i, documents.length, options, schema));
        start = i;
        chunkBytes = overheadBytes;
      }
      chunkBytes += bytes;
    }
    documents.push(toDocument(source, group, start, group.length, documents.length, options, schema));
  }
  return documents;
}

/**
 * Upper bound of a reading's share of a document: each column's value takes at most MAX_VALUE_BYTES
 * before compression (and deflate adds a few bytes per 16 KB at worst), and an anomalous reading
 * adds its index to a reason's list (the reason's text is counted as if new). A bound from the shape
 * rather than each value keeps this off the transform's hot path.
 */
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
): CompactReadingDocument {
  const features = schema.featureNames;
  const count = end - start;
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
  const columns = Array.from({ length: features.length + 4 }, () => new Float64Array(count));
  const [indexes, offsets] = columns;
  const scores = columns[features.length + 2];
  const masks = columns[features.length + 3];
  for (let i = start, row = 0; i < end; i++, row++) {
    const processed = group[i];
    if (processed.isAnomaly) {
      anomalies++;
      const reason = processed.reasons.join(LIST_SEPARATOR);
      if (reasons[reason]) reasons[reason].push(processed.index);
      else reasons[reason] = [processed.index];
    }
    const { values, timestampMs } = processed.reading;
    indexes[row] = processed.index;
    offsets[row] = timestampMs - firstMs;
    // An optional feature a reading left out is NaN: the codec stores it as absent.
    for (let f = 0; f < features.length; f++) columns[f + 2][row] = values[features[f]];
    scores[row] = roundScore(processed.score);
    masks[row] = featuresToMask(processed.anomalousFeatures, features);
  }
  const sk = `${equipmentSortKeyPrefix(equipmentId)}${source.shardId}#${source.sequenceNumber}#${part}`;
  return {
    pk: readingsPartitionKey(firstMs, keySuffix(sk, options.keySuffixes)),
    sk,
    form: DOCUMENT_FORM,
    equipment_id: equipmentId,
    stream: source.stream,
    shard_id: source.shardId,
    partition_key: source.partitionKey,
    sequence_number: source.sequenceNumber,
    part,
    arrival_ms: source.arrivalMs,
    first_ms: firstMs,
    last_ms: lastMs,
    count,
    anomalies,
    model_version: group[start].modelVersion,
    ...(schema.isLab ? {} : { schema: schema.id }),
    columns: schema.isLab ? [...DOCUMENT_COLUMNS] : documentColumns(schema),
    reasons,
    data: encodeColumns(columns, count),
    expires_at: Math.floor(source.arrivalMs / 1000) + options.ttlSeconds,
  };
}

/** A document that cannot be read: named by its keys, with what is wrong. */
export class DocumentFormatError extends Error {
  constructor(document: { pk?: unknown; sk?: unknown }, problem: string) {
    super(`document ${String(document.pk)}/${String(document.sk)}: ${problem}`);
    this.name = 'DocumentFormatError';
  }
}

/** A document's readings, column by column, whichever its form: `cell(row, column)`, NaN for absent. */
function readingCells(document: ReadingDocument): {
  count: number;
  cell: (row: number, column: number) => number;
} {
  if (!Array.isArray(document.columns) || !document.columns.every((name) => typeof name === 'string'))
    throw new DocumentFormatError(document, 'columns is not a list of names');
  if (document.form === DOCUMENT_FORM) {
    if (!Number.isSafeInteger(document.count) || document.count < 0)
      throw new DocumentFormatError(document, `count ${String(document.count)} is not a number of readings`);
    let columns: Float64Array[];
    try {
      columns = decodeColumns(document.data, { readings: document.count, columns: document.columns.length });
    } catch (error) {
      throw new DocumentFormatError(document, (error as Error).message);
    }
    return { count: document.count, cell: (row, column) => columns[column][row] };
  }
  if ((document as { form?: unknown }).form !== undefined)
    throw new DocumentFormatError(
      document,
      `form ${String((document as { form?: unknown }).form)} is unknown`,
    );
  const rows = document.readings;
  if (!Array.isArray(rows)) throw new DocumentFormatError(document, 'it holds no readings');
  return {
    count: rows.length,
    cell: (row, column) => {
      const cell = Array.isArray(rows[row]) ? rows[row][column] : undefined;
      return typeof cell === 'number' ? cell : Number.NaN;
    },
  };
}

/** The number of readings a document holds, read from its readings (decoded, for form 2). */
export function documentReadingCount(document: ReadingDocument): number {
  return readingCells(document).count;
}

/** Turns a document, of either form, back into one row per reading, the shape of the CSV lake. */
export function flattenDocument(document: ReadingDocument): ReadingRow[] {
  const column = (name: string) => {
    const index = document.columns.indexOf(name);
    if (index < 0) throw new DocumentFormatError(document, `no column ${name}`);
    return index;
  };
  const { count, cell } = readingCells(document);
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
  for (const [reason, indexes] of Object.entries(document.reasons ?? {}))
    for (const index of indexes) reasonOf.set(index, reason);
  const rows: ReadingRow[] = new Array(count);
  for (let r = 0; r < count; r++) {
    const mask = cell(r, at.mask);
    const index = cell(r, at.index);
    const values: Record<string, number> = {};
    for (let f = 0; f < features.length; f++) values[features[f]] = cell(r, at.features[f]);
    rows[r] = {
      stream: document.stream,
      shard_id: document.shard_id,
      partition_key: document.partition_key,
      sequence_number: document.sequence_number,
      reading_index: index,
      arrival_time: arrivalTime,
      timestamp: new Date(document.first_ms + cell(r, at.offset)).toISOString(),
      equipment_id: document.equipment_id,
      ...values,
      anomaly_score: cell(r, at.score),
      is_anomaly: mask !== 0,
      anomalous_features: maskToFeatures(mask, features).join(LIST_SEPARATOR),
      reasons: reasonOf.get(index) ?? '',
      model_version: document.model_version,
    };
  }
  return rows;
}
