import { join, resolve } from 'node:path';
import { CreateTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAlerterHandler } from '../lambdas/alerter/handler';
import { defaultKeySuffixes } from '../lambdas/shared/key-suffixes';
import { createObservability } from '../lambdas/shared/observability';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { createTransformHandler } from '../lambdas/transform/handler';
import { type CheckpointStore, fileCheckpoints, memoryCheckpoints } from './checkpoints';
import { type LocalClients, localClients } from './clients';
import {
  DEFAULT_EVENT_SOURCE_SETTINGS,
  EventSourceRunner,
  type EventSourceSettings,
  type FailedBatch,
  type KinesisBatchHandler,
  sleep,
} from './event-source-runner';
import { LatencyTracker } from './latency';
import { DEAD_LETTER_PREFIX, LOCAL_NAMES } from './names';
import { LocalRawArchive } from './raw-archive';
import { type LocalServices, startLocalServices } from './services';
import type { PublishedMessage } from './sns-sink';

export interface LocalPipelineOptions {
  dataDir?: string;
  inputShards?: number;
  /** K, the table's key suffixes (TABLE_KEY_SUFFIXES); default: as in AWS, one per input shard. */
  tableKeySuffixes?: number;
  transform?: Partial<EventSourceSettings>;
  alerter?: Partial<EventSourceSettings>;
  archiveBufferIntervalMs?: number;
  archiveBufferSizeBytes?: number;
  /** The reading schema (JSON or YAML) the transform reads (READING_SCHEMA_PATH); the lab's when absent. */
  readingSchemaPath?: string;
  /**
   * A model artifact (MODEL_PATH). Default: the shipped model of the lab's features with the lab's
   * schema, none with any other (the detector then learns every feature online, as it always does).
   */
  modelPath?: string;
  alertQuietPeriodSeconds?: number;
  /** Wraps the transform handler: tests use it to inject faults. */
  wrapTransform?: (handler: KinesisBatchHandler) => KinesisBatchHandler;
  onAlert?: (message: PublishedMessage) => void;
  /** Runs once the resources exist and before any consumer reads: what the stores hold untouched. */
  beforeConsumers?: (clients: LocalClients) => Promise<void>;
  log?: (line: string) => void;
  handlerLogLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

/**
 * The whole pipeline on this machine: embedded services, the same transform and alerter handlers as
 * in Lambda behind local event source mappings, a local Firehose, and the SNS sink.
 */
export class LocalPipeline {
  readonly latency = new LatencyTracker();

  private constructor(
    /** The reading schema the transform validates and writes readings of. */
    readonly schema: ReadingSchema,
    readonly services: LocalServices,
    readonly clients: LocalClients,
    readonly transform: EventSourceRunner,
    readonly alerter: EventSourceRunner,
    readonly archive: LocalRawArchive,
    /** The transform handler as the runner invokes it, for replaying batches. */
    readonly transformHandler: KinesisBatchHandler,
  ) {}

  static async start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
    const log = options.log ?? (() => {});
    // EMF metrics lines are for CloudWatch; locally they would only flood the console.
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    // Read first: a schema file with an error stops here, before any service starts.
    const schemaPath =
      options.readingSchemaPath === undefined ? undefined : resolve(options.readingSchemaPath);
    const schema = schemaPath === undefined ? LAB_SCHEMA : loadReadingSchema(schemaPath);
    const modelPath =
      options.modelPath ?? (schema.isLab ? join(__dirname, '..', 'model', 'default-model.json') : undefined);
    const services = await startLocalServices({ dataDir: options.dataDir, onAlert: options.onAlert });
    try {
      const clients = localClients(services);
      await createLocalResources(clients, options.inputShards ?? 1);
      const checkpoints: CheckpointStore = options.dataDir
        ? fileCheckpoints(join(options.dataDir, 'checkpoints.json'))
        : memoryCheckpoints();
      const handlerEnv = {
        PROCESSED_BUCKET: LOCAL_NAMES.processedBucket,
        READINGS_TABLE: LOCAL_NAMES.table,
        ANOMALIES_STREAM: LOCAL_NAMES.anomaliesStream,
        TABLE_KEY_SUFFIXES: String(
          options.tableKeySuffixes ?? defaultKeySuffixes('provisioned', options.inputShards ?? 1),
        ),
        ...(schemaPath === undefined ? {} : { READING_SCHEMA_PATH: schemaPath }),
        ...(modelPath === undefined ? {} : { MODEL_PATH: modelPath }),
        ALERTS_TOPIC_ARN: LOCAL_NAMES.alertsTopicArn,
        QUIET_PERIOD_SECONDS: String(options.alertQuietPeriodSeconds ?? 60),
      };
      const level = options.handlerLogLevel;
      const transformHandler = createTransformHandler(
        handlerEnv,
        clients,
        createObservability('transform', level),
      );
      const alerterHandler = createAlerterHandler(handlerEnv, clients, createObservability('alerter', level));
      const onFailure = (batch: FailedBatch) => writeDeadLetter(clients, batch);

      let pipeline: LocalPipeline | undefined;
      const wrappedTransform = options.wrapTransform
        ? options.wrapTransform(transformHandler)
        : transformHandler;
      const transform = new EventSourceRunner({
        consumer: 'transform',
        kinesis: clients.kinesis,
        streamName: LOCAL_NAMES.inputStream,
        region: services.region,
        handler: wrappedTransform,
        settings: { ...DEFAULT_EVENT_SOURCE_SETTINGS, ...options.transform },
        checkpoints,
        onFailure,
        onProcessed: (_shardId, records, completedMs) => pipeline?.latency.processed(records, completedMs),
        log,
      });
      const alerter = new EventSourceRunner({
        consumer: 'alerter',
        kinesis: clients.kinesis,
        streamName: LOCAL_NAMES.anomaliesStream,
        region: services.region,
        handler: alerterHandler,
        settings: { ...DEFAULT_EVENT_SOURCE_SETTINGS, ...options.alerter },
        checkpoints,
        onFailure,
        log,
      });
      const archive = new LocalRawArchive({
        kinesis: clients.kinesis,
        s3: clients.s3,
        streamName: LOCAL_NAMES.inputStream,
        bucket: LOCAL_NAMES.rawBucket,
        deliveryStreamName: LOCAL_NAMES.deliveryStream,
        checkpoints,
        bufferIntervalMs: options.archiveBufferIntervalMs ?? 10_000,
        bufferSizeBytes: options.archiveBufferSizeBytes ?? 5 * 1024 * 1024,
        log,
      });
      pipeline = new LocalPipeline(schema, services, clients, transform, alerter, archive, wrappedTransform);
      await options.beforeConsumers?.(clients);
      await Promise.all([transform.start(), alerter.start(), archive.start()]);
      return pipeline;
    } catch (error) {
      await services.close();
      throw error;
    }
  }

  /**
   * Waits until every record put on the input stream before this call is processed, every anomaly
   * event it produced alerted on, and every record archived.
   */
  async drain(timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const wait = async (what: string, done: () => boolean) => {
      while (!done()) {
        if (Date.now() > deadline)
          throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
        await sleep(50);
      }
    };
    const putsDone = Date.now();
    await wait('the transform', () => this.transform.caughtUp(putsDone));
    const transformDone = Date.now();
    await wait('the alerter', () => this.alerter.caughtUp(transformDone));
    await wait('the raw archive', () => this.archive.caughtUp(putsDone));
    await this.archive.flush();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.transform.stop(), this.alerter.stop(), this.archive.stop()]);
    await this.services.close();
  }
}

/** The streams, table and buckets of the pipeline, as the stack creates them (kept if they exist). */
export async function createLocalResources(clients: LocalClients, inputShards: number): Promise<void> {
  const stream = async (name: string, shards: number) => {
    try {
      await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    } catch (error) {
      if ((error as Error).name !== 'ResourceInUseException') throw error;
    }
    for (;;) {
      const summary = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
      await sleep(20);
    }
  };
  await stream(LOCAL_NAMES.inputStream, inputShards);
  await stream(LOCAL_NAMES.anomaliesStream, 1);
  try {
    await clients.documents.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (const bucket of [LOCAL_NAMES.processedBucket, LOCAL_NAMES.rawBucket]) {
    try {
      await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((error as Error).name)) throw error;
    }
  }
}

/** One JSON object per failed batch, records included (AWS's dead-letter messages carry only their coordinates). */
async function writeDeadLetter(clients: LocalClients, batch: FailedBatch): Promise<void> {
  const first = batch.records[0].SequenceNumber;
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: LOCAL_NAMES.processedBucket,
      Key: `${DEAD_LETTER_PREFIX}${batch.consumer}/${batch.shardId}-${first}.json`,
      ContentType: 'application/json',
      Body: JSON.stringify({
        consumer: batch.consumer,
        stream: batch.streamName,
        shardId: batch.shardId,
        reason: batch.reason,
        startSequenceNumber: first,
        endSequenceNumber: batch.records[batch.records.length - 1].SequenceNumber,
        records: batch.records.map((record) => ({
          sequenceNumber: record.SequenceNumber,
          partitionKey: record.PartitionKey,
          approximateArrivalTimestamp: record.ApproximateArrivalTimestamp.toISOString(),
          data: Buffer.from(record.Data).toString('base64'),
        })),
      }),
    }),
  );
}
