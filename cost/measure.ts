import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { toAnomalyEvent, toAnomalyRecords } from '../lambdas/shared/anomaly-events';
import { detectorStateKey, normalAttribute } from '../lambdas/shared/aws/detector-state';
import { marshallItem } from '../lambdas/shared/aws/item-marshalling';
import { toCsv } from '../lambdas/shared/csv';
import { gzipCsv } from '../lambdas/shared/csv-object';
import { DEFAULT_DECODE_LIMITS } from '../lambdas/shared/decode';
import { createDetector, parseDetectorModel } from '../lambdas/shared/detector';
import { buildDocuments, DEFAULT_DOCUMENT_OPTIONS } from '../lambdas/shared/documents';
import {
  EQUIPMENT_DIMENSION,
  EQUIPMENT_METRICS,
  equipmentMetricNames,
  featureSumMetric,
  METRICS_NAMESPACE,
  TRANSFORM_METRICS,
} from '../lambdas/shared/metrics-catalog';
import { windowContributions } from '../lambdas/shared/minute-windows';
import { readingsObjectKey } from '../lambdas/shared/object-keys';
import type { ProcessedReading, RecordSource } from '../lambdas/shared/processed-reading';
import { type QuarantineEntry, quarantinedReadings, toJsonLines } from '../lambdas/shared/quarantine';
import { DEFAULT_VALIDATION_LIMITS } from '../lambdas/shared/reading';
import { LAB_SCHEMA } from '../lambdas/shared/reading-schema';
import { scoreRecord } from '../lambdas/shared/score-record';
import type { PipelineConfig } from '../lib/config';
import {
  athenaDuckDbConnection,
  createProcessedReadings,
  curateHourInDuckDb,
  lakeHourOf,
} from '../local/athena-duckdb';
import defaultModel from '../model/default-model.json';
import { createLabGenerator, LAB_EQUIPMENT } from '../simulator/generator';

/**
 * Sizes measured by running the project's own code on the lab simulator's readings: the generator's
 * records, scored by the transform's scoreRecord with the shipped model, then each batch's DynamoDB
 * documents and per-minute windows (marshalled, sized as DynamoDB counts an item), its CSV object
 * (toCsv, then the transform's GZIP), the anomaly records, the detector's saved states, the Firehose
 * archive (the records, one a line, GZIP) and the curated Parquet of those objects (DuckDB, as
 * `npm run curate` writes it). Deterministic for a seed, except `cpuMsPer1000` (timed).
 */

export interface MeasureOptions {
  rate: number;
  equipment: number;
  seed: number;
  /** Records per transform batch (from the batch settings and the rate). */
  recordsPerBatch: number;
  badRatio: number;
  config: PipelineConfig;
  /** Time the transform's code (CPU ms per 1,000 readings); otherwise not measured. */
  timeCpu: boolean;
}

export interface MeasuredSizes {
  equipmentIds: number[];
  readings: number;
  records: number;
  batches: number;
  /** Readings generated (valid and malformed): every one was sent. */
  sentReadings: number;
  recordBytes: number[];
  documentItems: number;
  documentBytes: number;
  documentWriteUnits: number;
  windowItems: number;
  windowBytes: number;
  windowWriteUnits: number;
  csvBytes: number;
  csvGzipBytes: number;
  csvObjects: number;
  quarantineBytes: number;
  quarantineObjects: number;
  quarantinedReadings: number;
  anomalies: number;
  anomalyRecords: number;
  anomalyRecordBytes: number[];
  /** Anomaly onsets (a reading anomalous after one that was not), per equipment. */
  onsets: number;
  /** Seconds of readings generated, at the rate. */
  seconds: number;
  rawGzipBytes: number;
  parquetBytes: number;
  /** Per equipment, a saved detector state item: bytes and write units. */
  stateItemBytes: number;
  stateWriteUnits: number;
  /** Log bytes a batch prints (Powertools' EMF records and the batch line), as measured for one batch. */
  logBytesPerBatch: number;
  /** CloudWatch metrics the transform publishes (per equipment included). */
  transformMetrics: number;
  cpuMsPer1000?: number;
}

/** The bytes DynamoDB counts for an item: attribute names plus values, by its published rules. */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueBytes(value);
  return size;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + valueBytes(element), 0);
  if (value.M !== undefined)
    return (
      3 +
      Object.entries(value.M).reduce(
        (sum, [key, element]) => sum + 1 + Buffer.byteLength(key) + valueBytes(element),
        0,
      )
    );
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  throw new Error(`no size for ${JSON.stringify(value)}`);
}

/** A number: about one byte per two significant digits, plus one. */
function numberBytes(text: string): number {
  const digits = text
    .replace(/^-/, '')
    .split(/[eE]/)[0]
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** The equipment ids of a simulator of `count` equipment: the lab's 101, 102, 103, then on. */
export function equipmentIds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => LAB_EQUIPMENT[0] + i);
}

/** Measured at a fixed arrival hour, so the measurement is the same whenever it runs. */
const MEASURE_START_MS = Date.UTC(2026, 10, 23, 19, 0, 0);

export async function measureSizes(options: MeasureOptions): Promise<MeasuredSizes> {
  const { config } = options;
  const ids = equipmentIds(options.equipment);
  const generator = createLabGenerator({ seed: options.seed, equipment: ids, badRatio: options.badRatio });
  const limits = { ...DEFAULT_DECODE_LIMITS, ...DEFAULT_VALIDATION_LIMITS };
  const ttlSeconds = config.readingsTtlDays * 86_400;
  const documentOptions = { ...DEFAULT_DOCUMENT_OPTIONS, ttlSeconds, keySuffixes: config.tableKeySuffixes };
  // At least 60 records and 10 batches, whole steps (one record per equipment).
  const batches = Math.max(10, Math.ceil(60 / options.recordsPerBatch));
  const wantedRecords = batches * options.recordsPerBatch;

  const m: MeasuredSizes = {
    equipmentIds: ids,
    readings: 0,
    records: 0,
    batches: 0,
    sentReadings: 0,
    recordBytes: [],
    documentItems: 0,
    documentBytes: 0,
    documentWriteUnits: 0,
    windowItems: 0,
    windowBytes: 0,
    windowWriteUnits: 0,
    csvBytes: 0,
    csvGzipBytes: 0,
    csvObjects: 0,
    quarantineBytes: 0,
    quarantineObjects: 0,
    quarantinedReadings: 0,
    anomalies: 0,
    anomalyRecords: 0,
    anomalyRecordBytes: [],
    onsets: 0,
    seconds: 0,
    rawGzipBytes: 0,
    parquetBytes: 0,
    stateItemBytes: 0,
    stateWriteUnits: 0,
    logBytesPerBatch: 0,
    transformMetrics: 0,
  };

  // The records, in arrival order, as the simulator sends them at the rate.
  const records: { data: Buffer; equipmentId: number; arrivalMs: number }[] = [];
  let t = MEASURE_START_MS - 60_000;
  while (records.length < wantedRecords) {
    const step = generator.nextStep(t, options.rate);
    t = step.endMs;
    for (const burst of step.bursts) {
      records.push({ data: Buffer.from(burst.json), equipmentId: burst.equipmentId, arrivalMs: t });
      m.sentReadings += burst.readings;
    }
  }
  m.seconds = (t - (MEASURE_START_MS - 60_000)) / 1000;

  const detector = createDetector(config.modelPath === 'none' ? undefined : parseDetectorModel(defaultModel));
  const wasAnomalous = new Map<number, boolean>();
  const csvObjects = new Map<string, Uint8Array>();
  let cpuMs = 0;
  for (let b = 0; b * options.recordsPerBatch < records.length; b++) {
    const batch = records.slice(b * options.recordsPerBatch, (b + 1) * options.recordsPerBatch);
    m.batches++;
    const started = performance.now();
    const processed: ProcessedReading[] = [];
    const quarantined: QuarantineEntry[] = [];
    let firstSource: RecordSource | undefined;
    const sequence = (i: number) =>
      String(49_650_000_000_000_000n * 1_000_000n + BigInt(i)).padStart(56, '0');
    batch.forEach((record, r) => {
      const source: RecordSource = {
        stream: `${config.namePrefix}sensor-readings`,
        shardId: 'shardId-000000000000',
        partitionKey: String(record.equipmentId),
        sequenceNumber: sequence(b * options.recordsPerBatch + r),
        // When its last reading was taken: the simulator sends a burst once it is complete.
        arrivalMs: Math.ceil(record.arrivalMs),
      };
      firstSource ??= source;
      const scored = scoreRecord(source, record.data, detector, limits, LAB_SCHEMA);
      processed.push(...scored.processed);
      quarantined.push(...scored.quarantined);
      for (const document of buildDocuments(source, scored.processed, documentOptions, LAB_SCHEMA)) {
        const bytes = itemBytes(marshallItem(document));
        m.documentItems++;
        m.documentBytes += bytes;
        m.documentWriteUnits += writeUnits(bytes);
      }
      for (const window of windowContributions(
        source,
        scored.processed,
        config.windowLatenessSeconds * 1000,
        ttlSeconds,
        LAB_SCHEMA,
        config.tableKeySuffixes,
      )) {
        const bytes = itemBytes(marshallItem(window));
        m.windowItems++;
        m.windowBytes += bytes;
        m.windowWriteUnits += writeUnits(bytes);
      }
      const events = scored.processed.filter((p) => p.isAnomaly).map(toAnomalyEvent);
      m.anomalies += events.length;
      for (const entry of toAnomalyRecords(events)) {
        m.anomalyRecords++;
        m.anomalyRecordBytes.push(entry.data.byteLength + Buffer.byteLength(entry.partitionKey));
      }
      m.records++;
      m.recordBytes.push(record.data.byteLength + Buffer.byteLength(source.partitionKey));
    });
    const csv = toCsv(processed, LAB_SCHEMA);
    const body = await gzipCsv(csv);
    cpuMs += performance.now() - started;
    m.readings += processed.length;
    if (processed.length > 0 && firstSource) {
      m.csvObjects++;
      m.csvBytes += Buffer.byteLength(csv);
      m.csvGzipBytes += body.byteLength;
      csvObjects.set(
        readingsObjectKey({
          shardId: firstSource.shardId,
          firstSequenceNumber: firstSource.sequenceNumber,
          // Every object in one hour's folder: the curated zone is measured on one hour (by its path).
          firstArrivalMs: MEASURE_START_MS,
        }),
        body,
      );
    }
    if (quarantined.length > 0) {
      m.quarantineObjects++;
      m.quarantineBytes += Buffer.byteLength(toJsonLines(quarantined));
      m.quarantinedReadings += quarantinedReadings(quarantined);
    }
    for (const p of processed) {
      const id = p.reading.equipmentId as number;
      if (p.isAnomaly && !wasAnomalous.get(id)) m.onsets++;
      wasAnomalous.set(id, p.isAnomaly);
    }
  }
  if (options.timeCpu) m.cpuMsPer1000 = (cpuMs / m.readings) * 1000;

  // Firehose: the records as they arrived, one a line (its delimiter processor), GZIP.
  m.rawGzipBytes = gzipSync(
    Buffer.concat(records.slice(0, m.records).flatMap(({ data }) => [data, Buffer.from('\n')])),
  ).byteLength;
  m.parquetBytes = await curatedParquetBytes(csvObjects, MEASURE_START_MS);

  // The detector's saved state of an equipment, as DetectorStateStore writes it.
  let stateBytes = 0;
  for (const id of ids) {
    const state = detector.streams.saveState(id);
    if (!state) continue;
    const item = marshallItem({
      ...detectorStateKey(id),
      state,
      normal: normalAttribute(detector.streams.features, detector.streams.normal(id) ?? []),
      last_ms: detector.streams.lastLearntMs(id),
      equipment_id: id,
      model_version: detector.modelVersion,
      saved_at: new Date(MEASURE_START_MS).toISOString(),
      expires_at: Math.floor(MEASURE_START_MS / 1000) + ttlSeconds,
    });
    stateBytes = Math.max(stateBytes, itemBytes(item));
  }
  m.stateItemBytes = stateBytes;
  m.stateWriteUnits = writeUnits(stateBytes);

  m.transformMetrics =
    Object.keys(TRANSFORM_METRICS).length + equipmentMetricNames(LAB_SCHEMA).length * ids.length;
  m.logBytesPerBatch = batchLogBytes(ids.slice(0, Math.min(ids.length, options.recordsPerBatch)));
  return m;
}

/**
 * The bytes a transform batch prints to CloudWatch Logs, printed by Powertools here as in the function:
 * the batch's metrics (one EMF record), each equipment's (one each), and the `batch processed` line.
 */
function batchLogBytes(equipment: readonly number[]): number {
  let bytes = 0;
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  }) as typeof process.stdout.write;
  // As in the function, whatever this process's environment says (the tests silence Powertools).
  const pinned = {
    POWERTOOLS_DEV: undefined,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'false',
  };
  const saved = Object.fromEntries(Object.keys(pinned).map((key) => [key, process.env[key]]));
  const setEnvironment = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  try {
    setEnvironment(pinned);
    const metrics = new Metrics({ serviceName: 'transform', namespace: METRICS_NAMESPACE });
    for (const name of Object.values(TRANSFORM_METRICS)) metrics.addMetric(name, MetricUnit.Count, 1000);
    metrics.publishStoredMetrics();
    const perEquipment = new Metrics({ serviceName: 'transform', namespace: METRICS_NAMESPACE });
    for (const id of equipment) {
      perEquipment.addDimension(EQUIPMENT_DIMENSION, String(id));
      perEquipment.addMetric(EQUIPMENT_METRICS.readings, MetricUnit.Count, 1000);
      perEquipment.addMetric(EQUIPMENT_METRICS.anomalies, MetricUnit.Count, 3);
      for (const feature of LAB_SCHEMA.features)
        perEquipment.addMetric(featureSumMetric(feature.name), MetricUnit.NoUnit, 123456.78);
      perEquipment.publishStoredMetrics();
    }
    new Logger({ serviceName: 'transform', logLevel: 'INFO' }).info('batch processed', {
      records: 3,
      recordsProcessed: 3,
      readingsValid: 3000,
      readingsQuarantined: 0,
      readingsAnomalous: 3,
    });
  } finally {
    process.stdout.write = write;
    setEnvironment(saved);
  }
  return bytes;
}

/**
 * The bytes of the curated Parquet of one hour's CSV objects, written as the curation writes it
 * (local/athena-duckdb.ts: sql/curation/curate_hour.sql, deduplicated, ZSTD), on one DuckDB thread so
 * that the same objects always make the same file (several threads split the row groups differently).
 */
async function curatedParquetBytes(
  objects: ReadonlyMap<string, Uint8Array>,
  hourMs: number,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-parquet-'));
  const connection = await athenaDuckDbConnection();
  try {
    await connection.run('SET threads = 1');
    const files: string[] = [];
    for (const [key, body] of objects) {
      const file = join(dir, 'processed', key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      files.push(file);
    }
    await createProcessedReadings(connection, files, LAB_SCHEMA);
    const { file } = await curateHourInDuckDb(connection, {
      processedDir: join(dir, 'processed'),
      hour: lakeHourOf(hourMs),
      schema: LAB_SCHEMA,
    });
    return file ? statSync(file).size : 0;
  } finally {
    connection.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}
