import { type KinesisClient, PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import type { StreamEntry } from '../anomaly-events';
import { backoff, DEFAULT_RETRY, RetriesExhaustedError, type RetryOptions } from './retry';

/** PutRecords limits: 500 entries and 5 MiB (data plus partition keys) per call. */
const MAX_ENTRIES = 500;
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

const THROTTLED = 'ProvisionedThroughputExceededException';

export function chunkEntries<T extends StreamEntry>(entries: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entry.data.byteLength + Buffer.byteLength(entry.partitionKey);
    if (chunk.length === MAX_ENTRIES || (chunk.length > 0 && bytes + size > MAX_REQUEST_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(entry);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Where Kinesis put an entry, and when the call that accepted it returned. */
export interface PutRecordResult {
  sequenceNumber: string;
  shardId: string;
  acceptedMs: number;
}

/** A PutRecords attempt that left entries to retry. */
export interface PutRetryNotice {
  /** The attempt that failed, 1 for the first call. */
  attempt: number;
  failed: number;
  /** How many of them were refused for lack of throughput (all, when the whole call was). */
  throttled: number;
}

export interface PutRecordsOptions {
  retry?: RetryOptions;
  /** Told of every attempt that leaves entries to retry, before its backoff. */
  onRetry?: (notice: PutRetryNotice) => void;
  /**
   * Also retry a call refused whole with ProvisionedThroughputExceededException (after the SDK's own
   * retries), as if each entry had been throttled. Without it that error is thrown to the caller.
   */
  retryThrottledCalls?: boolean;
}

/** Puts every entry, retrying the failed ones (throttled shards, internal errors) with backoff. */
export async function putAllRecords(
  client: KinesisClient,
  streamName: string,
  entries: readonly StreamEntry[],
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<void> {
  await putRecordsWithResults(client, streamName, entries, { retry });
}

/** As putAllRecords, and returns where each entry went, in the order of `entries`. */
export async function putRecordsWithResults(
  client: KinesisClient,
  streamName: string,
  entries: readonly StreamEntry[],
  options: PutRecordsOptions = {},
): Promise<PutRecordResult[]> {
  const results: PutRecordResult[] = [];
  for (const chunk of chunkEntries(entries)) {
    results.push(...(await putChunk(client, streamName, chunk, options)));
  }
  return results;
}

async function putChunk(
  client: KinesisClient,
  streamName: string,
  chunk: readonly StreamEntry[],
  options: PutRecordsOptions,
): Promise<PutRecordResult[]> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const results = new Array<PutRecordResult>(chunk.length);
  let pending = chunk.map((_, i) => i);
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await backoff(attempt - 1, retry);
    const { failed, throttled } = await attemptPut(client, streamName, chunk, pending, results, options);
    if (failed.length === 0) return results;
    if (attempt >= retry.maxAttempts) {
      throw new RetriesExhaustedError(
        `${failed.length} Kinesis records still failing after ${retry.maxAttempts} attempts`,
        failed.length,
      );
    }
    options.onRetry?.({ attempt, failed: failed.length, throttled });
    pending = failed;
  }
}

/** One PutRecords call for the `pending` entries of a chunk; fills in `results` for those accepted. */
async function attemptPut(
  client: KinesisClient,
  streamName: string,
  chunk: readonly StreamEntry[],
  pending: number[],
  results: PutRecordResult[],
  options: PutRecordsOptions,
): Promise<{ failed: number[]; throttled: number }> {
  let response: PutRecordsCommandOutput;
  try {
    response = await client.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: pending.map((i) => ({ PartitionKey: chunk[i].partitionKey, Data: chunk[i].data })),
      }),
    );
  } catch (error) {
    if (options.retryThrottledCalls && (error as Error).name === THROTTLED) {
      return { failed: pending, throttled: pending.length };
    }
    throw error;
  }
  const acceptedMs = Date.now();
  const entries = response.Records ?? [];
  // Without a result per entry there is no telling which failed: send them all again.
  if (response.FailedRecordCount && entries.length !== pending.length)
    return { failed: pending, throttled: 0 };
  const failed: number[] = [];
  let throttled = 0;
  pending.forEach((index, k) => {
    const entry = entries[k];
    if (response.FailedRecordCount && entry.ErrorCode) {
      failed.push(index);
      if (entry.ErrorCode === THROTTLED) throttled++;
      return;
    }
    results[index] = {
      sequenceNumber: entry?.SequenceNumber ?? '',
      shardId: entry?.ShardId ?? '',
      acceptedMs,
    };
  });
  return { failed, throttled };
}
