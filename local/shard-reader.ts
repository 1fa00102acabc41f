import {
  type _Record,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';

/** A Kinesis record as GetRecords returns it, with the fields the readers rely on. */
export type ShardRecord = {
  [K in 'SequenceNumber' | 'Data' | 'PartitionKey' | 'ApproximateArrivalTimestamp']-?: NonNullable<
    _Record[K]
  >;
};

/**
 * Reads one shard forward from a position (after a sequence number, or from the oldest record),
 * keeping its iterator valid across expiry and errors. `caughtUp` is true once a read came back empty
 * at the tip of the shard.
 */
export class ShardReader {
  private iterator: string | undefined;
  private lastRead: string | undefined;
  caughtUp = false;
  /** When the latest read that found the shard's tip started (epoch ms); 0 until one did. */
  tipReadStartedMs = 0;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    readonly shardId: string,
    after: string | undefined,
  ) {
    this.lastRead = after;
  }

  /** The next records (at most `limit`); empty when there are none yet. Throws when Kinesis fails. */
  async read(limit = 10_000): Promise<ShardRecord[]> {
    if (!this.iterator) this.iterator = await this.newIterator();
    const startedMs = Date.now();
    let result: GetRecordsCommandOutput;
    try {
      result = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: limit }));
    } catch (error) {
      // An expired (or otherwise lost) iterator is replaced from the last record read.
      this.iterator = undefined;
      if (error instanceof ExpiredIteratorException) return [];
      throw error;
    }
    this.iterator = result.NextShardIterator;
    const records = (result.Records ?? []) as ShardRecord[];
    if (records.length > 0) this.lastRead = records[records.length - 1].SequenceNumber;
    const atTip = records.length === 0 && (result.MillisBehindLatest ?? 0) === 0;
    if (atTip) this.tipReadStartedMs = startedMs;
    this.caughtUp = atTip;
    return records;
  }

  private async newIterator(): Promise<string> {
    const result = await this.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.streamName,
        ShardId: this.shardId,
        ...(this.lastRead
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.lastRead }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    if (!result.ShardIterator) throw new Error(`no shard iterator for ${this.streamName}/${this.shardId}`);
    return result.ShardIterator;
  }
}

/** A reader for every shard of the stream, each resuming after the consumer's checkpoint. */
export async function openShardReaders(
  kinesis: KinesisClient,
  streamName: string,
  resumeAfter: (shardId: string) => string | undefined,
): Promise<ShardReader[]> {
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  return (shards.Shards ?? []).map((shard) => {
    const shardId = shard.ShardId as string;
    return new ShardReader(kinesis, streamName, shardId, resumeAfter(shardId));
  });
}
