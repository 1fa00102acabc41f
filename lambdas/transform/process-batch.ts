import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import { toAnomalyEvent, toAnomalyRecords } from '../shared/anomaly-events';
import type { DetectorStateStore, SaveOutcome } from '../shared/aws/detector-state';
import { putAllItems, raiseLatest } from '../shared/aws/dynamo-writes';
import { marshallItem } from '../shared/aws/item-marshalling';
import { raiseKeySuffixes } from '../shared/aws/key-suffix-setting';
import { putAllRecords } from '../shared/aws/kinesis-writes';
import { DEFAULT_RETRY, type RetryOptions } from '../shared/aws/retry';
import { toCsv } from '../shared/csv';
import { CSV_OBJECT_CONTENT_TYPE, gzipCsv } from '../shared/csv-object';
import type { Detector } from '../shared/detector';
import { buildDocuments, DEFAULT_DOCUMENT_OPTIONS } from '../shared/documents';
import {
  EQUIPMENT_DIMENSION,
  EQUIPMENT_METRICS,
  featureReadingsMetric,
  featureSumMetric,
  TRANSFORM_METRICS,
} from '../shared/metrics-catalog';
import { windowContributions } from '../shared/minute-windows';
import { quarantineObjectKey, readingsObjectKey } from '../shared/object-keys';
import type { ProcessedReading, RecordSource } from '../shared/processed-reading';
import { type QuarantineEntry, quarantinedReadings, toJsonLines } from '../shared/quarantine';
import type { EquipmentId } from '../shared/reading';
import type { ReadingSchema } from '../shared/reading-schema';
import { recordSource, scoreValidRecord, validateRecord } from '../shared/score-record';
import type { TransformConfig } from './config';

export interface TransformDeps {
  config: TransformConfig;
  detector: Detector;
  /** Where each equipment's detector state is saved and restored (none: it lives in memory only). */
  detectorState?: DetectorStateStore;
  s3: S3Client;
  documents: DynamoDBDocumentClient;
  kinesis: KinesisClient;
  logger: Logger;
  metrics: Metrics;
  /** Per-equipment metrics are published from their own instance, each with its equipment dimension. */
  equipmentMetrics: Metrics;
  retry?: RetryOptions;
}

interface RecordOutcome {
  source: RecordSource;
  processed: ProcessedReading[];
  quarantined: QuarantineEntry[];
  anomalies: number;
  warmingUp: number;
  /** Detector states restored for the record's equipment. */
  restored: number;
  /** Newest reading time per equipment in the record. */
  latest: Map<EquipmentId, number>;
}

/** Reported for the records after a failed one: they are retried with it, so the shard stays in order. */
export class SkippedAfterFailureError extends Error {
  constructor(sequenceNumber: string) {
    super(
      `not processed: an earlier record of the batch failed (retried from there, ${sequenceNumber} included)`,
    );
    this.name = 'SkippedAfterFailureError';
  }
}

/**
 * One batch of the input stream, in shard order. Per record: decode, validate, score, write its
 * DynamoDB documents and put its anomalies. Then, for the records that succeeded (a prefix of the
 * batch: after a failure the rest is skipped), one CSV object, one quarantine object and the
 * newest-reading markers. Failed and
 * skipped records are named in the partial batch response, and Lambda retries from the first of them;
 * when those objects cannot be written, every record is named. When every record fails, the batch
 * fails as a whole, which Lambda retries by bisecting it. Writes are keyed by shard and sequence
 * number, so retries overwrite what they wrote before.
 */
export async function processTransformBatch(
  event: KinesisStreamEvent,
  deps: TransformDeps,
  context?: Context,
): Promise<KinesisStreamBatchResponse> {
  const outcomes: RecordOutcome[] = [];
  let failed = false;
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  processor.register(
    event.Records,
    async (record: KinesisStreamRecord) => {
      if (failed) throw new SkippedAfterFailureError(record.kinesis.sequenceNumber);
      try {
        outcomes.push(await processRecord(record, deps));
      } catch (error) {
        failed = true;
        deps.logger.error('record failed', {
          sequenceNumber: record.kinesis.sequenceNumber,
          shard: record.eventID.split(':')[0],
          error: error as Error,
        });
        throw error;
      }
    },
    { context, processInParallel: false },
  );
  let written: RecordOutcome[] = [];
  let saved: SaveOutcome = { saved: 0, bytes: 0, superseded: 0 };
  try {
    // Throws when every record failed, so Lambda retries (and bisects) the batch.
    await processor.process();
    if (outcomes.length > 0) await writeBatchObjects(outcomes, deps);
    written = outcomes;
    saved = await saveDetectorStates(outcomes, deps);
  } catch (error) {
    if (outcomes.length === 0) throw error;
    // The batch's CSV (or quarantine) object holds every processed record: all of them failed.
    deps.logger.error('batch objects not written; every record of the batch is reported failed', {
      error: error as Error,
    });
    return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
  } finally {
    recordBatchMetrics(deps, event.Records.length, written, saved);
  }
  return processor.response();
}

/** Per equipment: readings, anomalies and the sum of each feature (the dashboard's averages). */
function publishEquipmentMetrics(
  metrics: Metrics,
  readings: readonly ProcessedReading[],
  schema: ReadingSchema,
): void {
  const features = schema.features;
  const byEquipment = new Map<
    EquipmentId,
    { readings: number; anomalies: number; sums: number[]; present: number[] }
  >();
  for (const { reading, isAnomaly } of readings) {
    let totals = byEquipment.get(reading.equipmentId);
    if (!totals) {
      totals = { readings: 0, anomalies: 0, sums: features.map(() => 0), present: features.map(() => 0) };
      byEquipment.set(reading.equipmentId, totals);
    }
    totals.readings++;
    if (isAnomaly) totals.anomalies++;
    for (let f = 0; f < features.length; f++) {
      const value = reading.values[features[f].name];
      if (Number.isNaN(value)) continue; // an optional feature left out
      totals.sums[f] += value;
      totals.present[f]++;
    }
  }
  for (const [equipmentId, totals] of byEquipment) {
    metrics.addDimension(EQUIPMENT_DIMENSION, String(equipmentId));
    metrics.addMetric(EQUIPMENT_METRICS.readings, MetricUnit.Count, totals.readings);
    metrics.addMetric(EQUIPMENT_METRICS.anomalies, MetricUnit.Count, totals.anomalies);
    features.forEach((feature, f) => {
      metrics.addMetric(featureSumMetric(feature.name), MetricUnit.NoUnit, totals.sums[f]);
      if (feature.optional)
        metrics.addMetric(featureReadingsMetric(feature.name), MetricUnit.Count, totals.present[f]);
    });
    metrics.publishStoredMetrics();
  }
}

/** Counts of a batch: only the records whose every write landed count as processed. */
function recordBatchMetrics(
  deps: TransformDeps,
  records: number,
  written: readonly RecordOutcome[],
  saved: SaveOutcome,
): void {
  const rows = sum(written, (o) => o.processed.length);
  const quarantined = sum(written, (o) => quarantinedReadings(o.quarantined));
  const anomalies = sum(written, (o) => o.anomalies);
  deps.metrics.addMetric(TRANSFORM_METRICS.recordsProcessed, MetricUnit.Count, written.length);
  deps.metrics.addMetric(TRANSFORM_METRICS.recordsFailed, MetricUnit.Count, records - written.length);
  deps.metrics.addMetric(TRANSFORM_METRICS.readingsValid, MetricUnit.Count, rows);
  deps.metrics.addMetric(TRANSFORM_METRICS.readingsQuarantined, MetricUnit.Count, quarantined);
  deps.metrics.addMetric(TRANSFORM_METRICS.readingsAnomalous, MetricUnit.Count, anomalies);
  deps.metrics.addMetric(
    TRANSFORM_METRICS.readingsWarmingUp,
    MetricUnit.Count,
    sum(written, (o) => o.warmingUp),
  );
  deps.metrics.addMetric(
    TRANSFORM_METRICS.detectorStatesRestored,
    MetricUnit.Count,
    sum(written, (o) => o.restored),
  );
  deps.metrics.addMetric(TRANSFORM_METRICS.detectorStatesSaved, MetricUnit.Count, saved.saved);
  deps.metrics.addMetric(TRANSFORM_METRICS.detectorStateBytes, MetricUnit.Bytes, saved.bytes);
  publishEquipmentMetrics(
    deps.equipmentMetrics,
    written.flatMap((o) => o.processed),
    deps.config.schema,
  );
  deps.logger.info('batch processed', {
    records,
    recordsProcessed: written.length,
    readingsValid: rows,
    readingsQuarantined: quarantined,
    readingsAnomalous: anomalies,
  });
}

async function processRecord(record: KinesisStreamRecord, deps: TransformDeps): Promise<RecordOutcome> {
  const { config } = deps;
  const retry = deps.retry ?? DEFAULT_RETRY;
  const source = recordSource(record);
  const valid = validateRecord(
    source,
    Buffer.from(record.kinesis.data, 'base64'),
    config.limits,
    config.schema,
  );
  let restored = 0;
  if (deps.detectorState && valid.valid.length > 0) {
    // Equipment this environment has not seen continue from their saved state (cold start, re-shard).
    const restore = await deps.detectorState.restoreUnseen(valid.valid.map((v) => v.reading.equipmentId));
    restored = restore.restored;
    for (const { equipmentId, reason } of restore.refused) {
      deps.logger.warn('detector state not restored; learning this equipment afresh', {
        equipmentId,
        reason,
      });
    }
  }
  const { processed, quarantined, warmingUp } = scoreValidRecord(source, valid, deps.detector);

  const documents = buildDocuments(
    source,
    processed,
    { ...DEFAULT_DOCUMENT_OPTIONS, ttlSeconds: config.ttlSeconds, keySuffixes: config.keySuffixes },
    config.schema,
  );
  const windows = windowContributions(
    source,
    processed,
    config.windowLatenessMs,
    config.ttlSeconds,
    config.schema,
    config.keySuffixes,
  );
  // Readers must know K before the first item under a suffix above 0 exists.
  await keySuffixesRaised(deps);
  const events = processed.filter((p) => p.isAnomaly).map(toAnomalyEvent);
  // The record's two writes are independent: wait for both, fail the record if either fails.
  await settleAll([
    putAllItems(deps.documents, config.readingsTable, [...documents, ...windows].map(marshallItem), retry),
    putAllRecords(deps.kinesis, config.anomaliesStream, toAnomalyRecords(events), retry),
  ]);

  const latest = new Map<EquipmentId, number>();
  for (const { reading } of processed) {
    if (reading.timestampMs > (latest.get(reading.equipmentId) ?? Number.NEGATIVE_INFINITY)) {
      latest.set(reading.equipmentId, reading.timestampMs);
    }
  }
  return { source, processed, quarantined, anomalies: events.length, warmingUp, restored, latest };
}

/** Per set of dependencies (an execution environment), the table's K raised once. */
const raisedKeySuffixes = new WeakMap<TransformDeps, Promise<void>>();

/**
 * Raises the table's record of K (key-suffix-setting.ts) once per execution environment, before its
 * first write: K = 1 needs no record. A failed raise is tried again with the next record.
 */
function keySuffixesRaised(deps: TransformDeps): Promise<void> {
  const { keySuffixes, readingsTable } = deps.config;
  if (keySuffixes <= 1) return Promise.resolve();
  let raised = raisedKeySuffixes.get(deps);
  if (!raised) {
    raised = raiseKeySuffixes(deps.documents, readingsTable, keySuffixes);
    raisedKeySuffixes.set(deps, raised);
    raised.catch(() => raisedKeySuffixes.delete(deps));
  }
  return raised;
}

/** The batch's CSV and quarantine objects, and its newest-reading markers. */
async function writeBatchObjects(outcomes: readonly RecordOutcome[], deps: TransformDeps): Promise<void> {
  const first = outcomes[0].source;
  const keyParts = {
    shardId: first.shardId,
    firstSequenceNumber: first.sequenceNumber,
    firstArrivalMs: first.arrivalMs,
  };
  const readings = outcomes.flatMap((o) => o.processed);
  const quarantined = outcomes.flatMap((o) => o.quarantined);
  const writes: Promise<unknown>[] = [];
  if (readings.length > 0) {
    // GZIP (csv-object.ts), compressed off the event loop while the other writes go out.
    const csvObject = gzipCsv(toCsv(readings, deps.config.schema));
    writes.push(
      csvObject.then((body) =>
        deps.s3.send(
          new PutObjectCommand({
            Bucket: deps.config.processedBucket,
            Key: readingsObjectKey(keyParts, deps.config.schema),
            Body: body,
            ContentType: CSV_OBJECT_CONTENT_TYPE,
          }),
        ),
      ),
    );
  }
  if (quarantined.length > 0) {
    writes.push(
      deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.config.processedBucket,
          Key: quarantineObjectKey(keyParts),
          Body: toJsonLines(quarantined),
          ContentType: 'application/x-ndjson; charset=utf-8',
        }),
      ),
    );
  }
  writes.push(raiseLatestOfBatch(outcomes, deps));
  await settleAll(writes);
}

/**
 * Waits for every write to finish, then fails with the first failure. A batch must not return (and be
 * retried) while one of its writes is still under way: that write would land after the retry's and
 * put back the first attempt's object (a CSV object of the whole batch over the half the retry wrote).
 */
async function settleAll(writes: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** One newest-reading update per equipment for the whole batch, rather than one per record. */
async function raiseLatestOfBatch(outcomes: readonly RecordOutcome[], deps: TransformDeps): Promise<void> {
  const latest = new Map<EquipmentId, { latestMs: number; expiresAt: number }>();
  for (const outcome of outcomes) {
    const expiresAt = Math.floor(outcome.source.arrivalMs / 1000) + deps.config.ttlSeconds;
    for (const [equipmentId, latestMs] of outcome.latest) {
      if (latestMs > (latest.get(equipmentId)?.latestMs ?? Number.NEGATIVE_INFINITY)) {
        latest.set(equipmentId, { latestMs, expiresAt });
      }
    }
  }
  await Promise.all(
    [...latest].map(([equipmentId, { latestMs, expiresAt }]) =>
      raiseLatest(
        deps.documents,
        deps.config.readingsTable,
        equipmentId,
        latestMs,
        expiresAt,
        deps.config.keySuffixes,
      ),
    ),
  );
}

/**
 * Saves the detector state of the batch's equipment that are due. A failed save loses nothing the
 * batch wrote: it is logged, and the state is saved with a later batch (or relearnt after a cold start).
 */
async function saveDetectorStates(
  outcomes: readonly RecordOutcome[],
  deps: TransformDeps,
): Promise<SaveOutcome> {
  const none = { saved: 0, bytes: 0, superseded: 0 };
  if (!deps.detectorState) return none;
  try {
    return await deps.detectorState.saveDue(outcomes.flatMap((o) => [...o.latest.keys()]));
  } catch (error) {
    deps.logger.warn('detector state not saved; it is saved with a later batch', { error: error as Error });
    return none;
  }
}

function sum<T>(items: readonly T[], count: (item: T) => number): number {
  return items.reduce((total, item) => total + count(item), 0);
}
