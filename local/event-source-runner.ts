import { randomUUID } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import type { CheckpointStore } from './checkpoints';
import { openShardReaders, type ShardReader, type ShardRecord } from './shard-reader';

/**
 * What the Lambda event source mapping does for a Kinesis stream, locally: one poller per shard, the
 * real KinesisStreamEvent shape, batch size and batching window, partial batch responses (the shard
 * resumes from the first reported record), bisection of a batch that fails as a whole, bounded retries
 * with backoff and a maximum record age, after which records go to the failure destination, and a
 * checkpoint per shard so a restarted runner reads nothing twice.
 *
 * As in Lambda, splitting a batch does not count as a retry; a record is retried `maxRetryAttempts`
 * times once it fails alone or at the head of a batch.
 */

export type KinesisBatchHandler = (
  event: KinesisStreamEvent,
  context: Context,
  // biome-ignore lint/suspicious/noConfusingVoidType: like a Lambda handler, a handler may return nothing.
) => Promise<KinesisStreamBatchResponse | undefined | void>;

export interface FailedBatch {
  consumer: string;
  streamName: string;
  shardId: string;
  reason: string;
  records: ShardRecord[];
}

export interface EventSourceSettings {
  batchSize: number;
  batchingWindowMs: number;
  maxRetryAttempts: number;
  maxRecordAgeMs: number;
  bisectOnError: boolean;
  /** Wait before the first retry of a failing record; doubles with each retry, up to 30 s. */
  retryBaseDelayMs: number;
  pollIntervalMs: number;
}

export const DEFAULT_EVENT_SOURCE_SETTINGS: EventSourceSettings = {
  batchSize: 100,
  batchingWindowMs: 1_000,
  maxRetryAttempts: 3,
  maxRecordAgeMs: 3_600_000,
  bisectOnError: true,
  retryBaseDelayMs: 1_000,
  pollIntervalMs: 100,
};

export interface EventSourceRunnerOptions {
  /** Names the consumer: its checkpoints, its function name in the Lambda context, its logs. */
  consumer: string;
  kinesis: KinesisClient;
  streamName: string;
  region: string;
  handler: KinesisBatchHandler;
  settings: EventSourceSettings;
  checkpoints: CheckpointStore;
  /** The failure destination (Lambda's on-failure destination). */
  onFailure: (batch: FailedBatch) => Promise<void>;
  /** Called with the records of each batch the handler completed. */
  onProcessed?: (shardId: string, records: ShardRecord[], completedMs: number) => void;
  log?: (message: string) => void;
}

export interface RunnerStats {
  invocations: number;
  functionErrors: number;
  partialFailures: number;
  recordsProcessed: number;
  recordsDeadLettered: number;
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; firstFailed: number }
  | { kind: 'error'; error: Error };

export class EventSourceRunner {
  readonly stats: RunnerStats = {
    invocations: 0,
    functionErrors: 0,
    partialFailures: 0,
    recordsProcessed: 0,
    recordsDeadLettered: 0,
  };
  private readers: ShardReader[] = [];
  private readonly buffers = new Map<string, ShardRecord[]>();
  private readonly busy = new Set<string>();
  private loops: Promise<void>[] = [];
  private readonly stopping = new AbortController();
  private readonly headAttempts = new Map<string, { sequenceNumber: string; attempts: number }>();
  private readonly streamArn: string;

  constructor(private readonly options: EventSourceRunnerOptions) {
    this.streamArn = `arn:aws:kinesis:${options.region}:000000000000:stream/${options.streamName}`;
  }

  async start(): Promise<void> {
    const { kinesis, streamName, checkpoints, consumer } = this.options;
    this.readers = await openShardReaders(kinesis, streamName, (shardId) =>
      checkpoints.get(consumer, shardId),
    );
    this.loops = this.readers.map((reader) => this.pollShard(reader));
  }

  /** Stops polling after the batches in flight complete. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  /**
   * Every record put before `sinceMs` is done: each shard was read to its tip by a read that started
   * after `sinceMs`, and nothing is buffered or in flight.
   */
  caughtUp(sinceMs: number): boolean {
    return (
      this.readers.length > 0 &&
      this.readers.every(
        (reader) =>
          reader.caughtUp &&
          reader.tipReadStartedMs > sinceMs &&
          !this.busy.has(reader.shardId) &&
          (this.buffers.get(reader.shardId)?.length ?? 0) === 0,
      )
    );
  }

  private async pollShard(reader: ShardReader): Promise<void> {
    const { settings } = this.options;
    const buffer: ShardRecord[] = [];
    /** When each buffered record was read: the window runs from the oldest one's. */
    const readAt: number[] = [];
    this.buffers.set(reader.shardId, buffer);
    while (!this.stopping.signal.aborted) {
      if (buffer.length < settings.batchSize) {
        try {
          const records = await reader.read();
          const now = Date.now();
          buffer.push(...records);
          for (const _ of records) readAt.push(now);
        } catch (error) {
          this.log(`cannot read ${reader.shardId}: ${(error as Error).message}; retrying`);
          await sleep(1_000, this.stopping.signal);
          continue;
        }
      }
      const windowElapsed = buffer.length > 0 && Date.now() - readAt[0] >= settings.batchingWindowMs;
      if (buffer.length === 0 || (buffer.length < settings.batchSize && !windowElapsed)) {
        await sleep(settings.pollIntervalMs, this.stopping.signal);
        continue;
      }
      this.busy.add(reader.shardId);
      try {
        const finished = await this.deliver(reader.shardId, buffer.slice(0, settings.batchSize));
        buffer.splice(0, finished);
        readAt.splice(0, finished);
      } finally {
        this.busy.delete(reader.shardId);
      }
    }
  }

  /**
   * Hands a batch to the handler until its records are done (processed, or sent to the failure
   * destination); returns how many records from the head of the batch are done.
   */
  private async deliver(shardId: string, batch: ShardRecord[]): Promise<number> {
    const { settings } = this.options;
    const tooOld = countTooOld(batch, settings.maxRecordAgeMs);
    if (tooOld > 0) {
      await this.deadLetter(
        shardId,
        batch.slice(0, tooOld),
        `older than the maximum record age (${settings.maxRecordAgeMs} ms)`,
      );
      return tooOld;
    }
    const outcome = await this.invoke(shardId, batch);
    if (outcome.kind === 'success') {
      this.complete(shardId, batch);
      return batch.length;
    }
    if (outcome.kind === 'error' && settings.bisectOnError && batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      const first = await this.deliver(shardId, batch.slice(0, half));
      if (first < half) return first;
      return half + (await this.deliver(shardId, batch.slice(half)));
    }
    const done = outcome.kind === 'partial' ? outcome.firstFailed : 0;
    if (done > 0) this.complete(shardId, batch.slice(0, done));
    const failing = batch.slice(done);
    const attempts = this.countFailure(shardId, failing[0].SequenceNumber);
    const why = outcome.kind === 'error' ? outcome.error.message : 'reported failed in the batch response';
    if (attempts > settings.maxRetryAttempts) {
      await this.deadLetter(shardId, failing, `retries exhausted (${settings.maxRetryAttempts}): ${why}`);
      return batch.length;
    }
    this.log(
      `${shardId} ${failing[0].SequenceNumber}: ${why}; retry ${attempts} of ${settings.maxRetryAttempts}`,
    );
    await sleep(Math.min(30_000, settings.retryBaseDelayMs * 2 ** (attempts - 1)), this.stopping.signal);
    return done;
  }

  private async invoke(shardId: string, batch: ShardRecord[]): Promise<Outcome> {
    this.stats.invocations++;
    try {
      const response = await this.options.handler(this.toEvent(shardId, batch), this.context());
      const failures = response?.batchItemFailures ?? [];
      if (failures.length === 0) return { kind: 'success' };
      this.stats.partialFailures++;
      const failed = new Set(failures.map((f) => f.itemIdentifier));
      const firstFailed = batch.findIndex((record) => failed.has(record.SequenceNumber));
      // An identifier that names no record of the batch fails the whole batch, as Lambda does.
      return { kind: 'partial', firstFailed: firstFailed < 0 ? 0 : firstFailed };
    } catch (error) {
      this.stats.functionErrors++;
      return { kind: 'error', error: error as Error };
    }
  }

  private complete(shardId: string, records: ShardRecord[]): void {
    this.options.checkpoints.set(this.options.consumer, shardId, records[records.length - 1].SequenceNumber);
    this.headAttempts.delete(shardId);
    this.stats.recordsProcessed += records.length;
    this.options.onProcessed?.(shardId, records, Date.now());
  }

  private async deadLetter(shardId: string, records: ShardRecord[], reason: string): Promise<void> {
    const { consumer, streamName } = this.options;
    await this.options.onFailure({ consumer, streamName, shardId, reason, records });
    this.options.checkpoints.set(consumer, shardId, records[records.length - 1].SequenceNumber);
    this.headAttempts.delete(shardId);
    this.stats.recordsDeadLettered += records.length;
    this.log(`${records.length} record(s) of ${shardId} sent to the failure destination: ${reason}`);
  }

  /** Failures so far of the record at the head of the shard. */
  private countFailure(shardId: string, sequenceNumber: string): number {
    const current = this.headAttempts.get(shardId);
    const attempts = current?.sequenceNumber === sequenceNumber ? current.attempts + 1 : 1;
    this.headAttempts.set(shardId, { sequenceNumber, attempts });
    return attempts;
  }

  private toEvent(shardId: string, batch: ShardRecord[]): KinesisStreamEvent {
    const { region, consumer } = this.options;
    return {
      Records: batch.map(
        (record): KinesisStreamRecord => ({
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: `${shardId}:${record.SequenceNumber}`,
          eventName: 'aws:kinesis:record',
          invokeIdentityArn: `arn:aws:iam::000000000000:role/${consumer}`,
          awsRegion: region,
          eventSourceARN: this.streamArn,
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: record.PartitionKey,
            sequenceNumber: record.SequenceNumber,
            data: Buffer.from(record.Data).toString('base64'),
            approximateArrivalTimestamp: record.ApproximateArrivalTimestamp.getTime() / 1000,
          },
        }),
      ),
    };
  }

  private context(): Context {
    const { consumer, region } = this.options;
    const deadline = Date.now() + 120_000;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: consumer,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${consumer}`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/local/${consumer}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => {},
      fail: () => {},
      succeed: () => {},
    };
  }

  private log(message: string): void {
    this.options.log?.(`[${this.options.consumer}] ${message}`);
  }
}

function countTooOld(batch: ShardRecord[], maxAgeMs: number): number {
  const oldest = Date.now() - maxAgeMs;
  let count = 0;
  while (count < batch.length && batch[count].ApproximateArrivalTimestamp.getTime() < oldest) count++;
  return count;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
