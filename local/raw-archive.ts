import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { RAW_PREFIX, timePartition } from '../lambdas/shared/object-keys';
import type { CheckpointStore } from './checkpoints';
import { sleep } from './event-source-runner';
import { openShardReaders, type ShardReader, type ShardRecord } from './shard-reader';

const gzipAsync = promisify(gzip);

/**
 * Firehose's job, locally: read every record of the input stream, buffer them (by size and time, across
 * shards), and write them GZIP-compressed, one per line, under the same raw/dt=/hour= prefix as in
 * AWS. A shard's checkpoint moves only once its records are in an object, so nothing is lost or
 * archived twice across restarts.
 */

export interface RawArchiveOptions {
  kinesis: KinesisClient;
  s3: S3Client;
  streamName: string;
  bucket: string;
  deliveryStreamName: string;
  checkpoints: CheckpointStore;
  bufferIntervalMs: number;
  bufferSizeBytes: number;
  pollIntervalMs?: number;
  log?: (message: string) => void;
}

const CONSUMER = 'raw-archive';

export class LocalRawArchive {
  readonly stats = { objects: 0, records: 0 };
  private readers: ShardReader[] = [];
  private loops: Promise<void>[] = [];
  private buffer: { shardId: string; record: ShardRecord }[] = [];
  private bufferedBytes = 0;
  private bufferedSince = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();

  constructor(private readonly options: RawArchiveOptions) {}

  async start(): Promise<void> {
    const { kinesis, streamName, checkpoints } = this.options;
    this.readers = await openShardReaders(kinesis, streamName, (shardId) =>
      checkpoints.get(CONSUMER, shardId),
    );
    this.loops = [...this.readers.map((reader) => this.pollShard(reader)), this.flushOnTime()];
  }

  /** Stops reading and writes what is buffered. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
    await this.flush();
  }

  /** Every record put before `sinceMs` has been read (it may still be buffered: see `flush`). */
  caughtUp(sinceMs: number): boolean {
    return this.readers.length > 0 && this.readers.every((r) => r.caughtUp && r.tipReadStartedMs > sinceMs);
  }

  /** Writes the buffer now, as Firehose does when its buffer interval ends. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBuffer());
    return this.flushing;
  }

  private async pollShard(reader: ShardReader): Promise<void> {
    const pollIntervalMs = this.options.pollIntervalMs ?? 200;
    while (!this.stopping.signal.aborted) {
      let records: ShardRecord[] = [];
      try {
        records = await reader.read();
      } catch (error) {
        this.options.log?.(
          `[raw-archive] cannot read ${reader.shardId}: ${(error as Error).message}; retrying`,
        );
      }
      if (records.length === 0) {
        await sleep(pollIntervalMs, this.stopping.signal);
        continue;
      }
      if (this.buffer.length === 0) this.bufferedSince = Date.now();
      for (const record of records) {
        this.buffer.push({ shardId: reader.shardId, record });
        this.bufferedBytes += record.Data.byteLength + 1;
      }
      if (this.bufferedBytes >= this.options.bufferSizeBytes) await this.flush();
    }
  }

  private async flushOnTime(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await sleep(Math.min(1_000, this.options.bufferIntervalMs), this.stopping.signal);
      if (this.buffer.length > 0 && Date.now() - this.bufferedSince >= this.options.bufferIntervalMs)
        await this.flush();
    }
  }

  private async writeBuffer(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    const lines = batch.map(({ record }) => Buffer.concat([Buffer.from(record.Data), Buffer.from('\n')]));
    const firstArrival = batch[0].record.ApproximateArrivalTimestamp.getTime();
    const stamp = new Date(firstArrival).toISOString().slice(0, 19).replace(/[T:]/g, '-');
    const key = `${RAW_PREFIX}${timePartition(firstArrival)}/${this.options.deliveryStreamName}-1-${stamp}-${randomUUID()}.gz`;
    try {
      await this.options.s3.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: await gzipAsync(Buffer.concat(lines)),
        }),
      );
    } catch (error) {
      // Put the records back in front, to be written with the next flush.
      this.buffer = [...batch, ...this.buffer];
      this.bufferedBytes += lines.reduce((n, line) => n + line.byteLength, 0);
      this.options.log?.(`[raw-archive] cannot write ${key}: ${(error as Error).message}; will retry`);
      return;
    }
    const lastByShard = new Map<string, string>();
    for (const { shardId, record } of batch) lastByShard.set(shardId, record.SequenceNumber);
    for (const [shardId, sequenceNumber] of lastByShard)
      this.options.checkpoints.set(CONSUMER, shardId, sequenceNumber);
    this.stats.objects++;
    this.stats.records += batch.length;
  }
}
