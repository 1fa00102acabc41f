import { once } from 'node:events';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { StreamEntry } from '../lambdas/shared/anomaly-events';
import { putRecordsWithResults } from '../lambdas/shared/aws/kinesis-writes';
import { DEFAULT_RETRY, type RetryOptions } from '../lambdas/shared/aws/retry';

/** A record for the stream: the entry Kinesis takes, and how many readings its data holds. */
export interface OutgoingRecord extends StreamEntry {
  readings: number;
}

/** Where a record went and when: local mode measures end-to-end latency from `sentMs`. */
export interface SentRecord {
  partitionKey: string;
  /** Kinesis coordinates; absent when records are written to a file or stdout. */
  sequenceNumber?: string;
  shardId?: string;
  /** When the call that delivered the record returned (epoch ms). */
  sentMs: number;
  readings: number;
}

/** Kinesis refused records (or a whole call) for lack of throughput; they are being retried. */
export interface ThrottleNotice {
  throttledRecords: number;
  attempt: number;
}

export interface RecordSender {
  /** Delivers every record, or throws; the results are in the order of `records`. */
  send(records: readonly OutgoingRecord[]): Promise<SentRecord[]>;
}

export interface KinesisSenderOptions {
  kinesis: KinesisClient;
  streamName: string;
  retry?: RetryOptions;
  onThrottle?: (notice: ThrottleNotice) => void;
}

/** A simulator outlasts throttling that a Lambda would hand back to its event source: more patience. */
const SENDER_RETRY: RetryOptions = { ...DEFAULT_RETRY, maxAttempts: 12, maxDelayMs: 10_000 };

/** PutRecords within the service limits, failed entries retried with backoff and jitter. */
export function createKinesisSender(options: KinesisSenderOptions): RecordSender {
  const { kinesis, streamName, retry = SENDER_RETRY, onThrottle } = options;
  return {
    async send(records) {
      const results = await putRecordsWithResults(kinesis, streamName, records, {
        retry,
        retryThrottledCalls: true,
        onRetry: ({ attempt, throttled }) => {
          if (throttled > 0) onThrottle?.({ throttledRecords: throttled, attempt });
        },
      });
      return results.map((result, i) => ({
        partitionKey: records[i].partitionKey,
        sequenceNumber: result.sequenceNumber,
        shardId: result.shardId,
        sentMs: result.acceptedMs,
        readings: records[i].readings,
      }));
    },
  };
}

/** One line of JSON per record (`--target stdout`), waiting for the stream to drain when it is full. */
export function createLineWriter(output: NodeJS.WritableStream): RecordSender {
  return {
    async send(records) {
      const sent: SentRecord[] = [];
      for (const record of records) {
        output.write(record.data);
        if (!output.write('\n')) await once(output, 'drain');
        sent.push({ partitionKey: record.partitionKey, sentMs: Date.now(), readings: record.readings });
      }
      return sent;
    },
  };
}

/** PutRecords limits, and how much may wait for sending before the producer is held back. */
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 5 * 1024 * 1024;
const MAX_QUEUED_BYTES = 2 * MAX_BATCH_BYTES;

/**
 * Records waiting to be sent, sent one call at a time by a background drain. Each call takes the
 * oldest records, at most one per partition key: a retried record can then never land on the shard
 * behind a later record of its equipment. Under load the calls fill up to the service limits.
 */
export class SendQueue<R extends OutgoingRecord> {
  private queued: R[] = [];
  private queuedBytes = 0;
  private draining: Promise<void> | undefined;
  private failure: Error | undefined;
  private spaceWaiters: (() => void)[] = [];

  constructor(
    private readonly sender: RecordSender,
    private readonly onSent: (sent: SentRecord, record: R) => void,
  ) {}

  /** Records queued or being sent: after a failure, those that were not delivered. */
  get unsentRecords(): readonly R[] {
    return this.queued;
  }

  /** Queues a record, waiting while the queue is full; throws once sending has failed. */
  async push(record: R): Promise<void> {
    if (this.failure) throw this.failure;
    this.queued.push(record);
    this.queuedBytes += record.data.byteLength;
    this.draining ??= this.drain();
    while (this.queuedBytes > MAX_QUEUED_BYTES && !this.failure) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** Waits until every queued record is sent; throws if one could not be. */
  async flush(): Promise<void> {
    await this.draining;
    if (this.failure) throw this.failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const batch = this.takeBatch();
        const sent = await this.sender.send(batch);
        // Only now are they off the queue: after a failure they are still there to count as unsent.
        const done = new Set(batch);
        this.queued = this.queued.filter((record) => !done.has(record));
        sent.forEach((result, i) => {
          this.queuedBytes -= batch[i].data.byteLength;
          this.onSent(result, batch[i]);
        });
        this.wakeProducers();
      }
    } catch (error) {
      this.failure = error as Error;
      this.wakeProducers();
    } finally {
      this.draining = undefined;
    }
  }

  private takeBatch(): R[] {
    const keys = new Set<string>();
    const batch: R[] = [];
    let bytes = 0;
    for (const record of this.queued) {
      const size = record.data.byteLength + Buffer.byteLength(record.partitionKey);
      if (batch.length === MAX_BATCH_RECORDS || bytes + size > MAX_BATCH_BYTES) break;
      if (keys.has(record.partitionKey)) continue;
      keys.add(record.partitionKey);
      batch.push(record);
      bytes += size;
    }
    return batch;
  }

  private wakeProducers(): void {
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }
}
