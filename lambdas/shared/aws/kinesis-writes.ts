import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { StreamEntry } from '../anomaly-events';
import { backoff, DEFAULT_RETRY, RetriesExhaustedError, type RetryOptions } from './retry';

/** PutRecords limits: 500 entries and 5 MiB (data plus partition keys) per call. */
const MAX_ENTRIES = 500;
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

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

/** Puts every entry, retrying the failed ones (throttled shards, internal errors) with backoff. */
export async function putAllRecords(
  client: KinesisClient,
  streamName: string,
  entries: readonly StreamEntry[],
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<void> {
  for (const chunk of chunkEntries(entries)) {
    let pending: PutRecordsRequestEntry[] = chunk.map((entry) => ({
      PartitionKey: entry.partitionKey,
      Data: entry.data,
    }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > retry.maxAttempts) {
        throw new RetriesExhaustedError(
          `${pending.length} Kinesis records still failing after ${retry.maxAttempts} attempts`,
          pending.length,
        );
      }
      if (attempt > 1) await backoff(attempt - 1, retry);
      const result = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
      if (!result.FailedRecordCount) break;
      const sent = pending;
      const results = result.Records ?? [];
      // Without a result per entry there is no telling which failed: send them all again.
      pending = results.length === sent.length ? sent.filter((_, i) => results[i].ErrorCode) : sent;
    }
  }
}
