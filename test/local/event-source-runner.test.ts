import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { fileCheckpoints, memoryCheckpoints } from '../../local/checkpoints';
import { localClients } from '../../local/clients';
import {
  DEFAULT_EVENT_SOURCE_SETTINGS,
  EventSourceRunner,
  type EventSourceSettings,
  type FailedBatch,
  type KinesisBatchHandler,
  sleep,
} from '../../local/event-source-runner';
import { type LocalServices, startLocalServices } from '../../local/services';

const STREAM = 'runner-test';
let services: LocalServices;
let clients: ReturnType<typeof localClients>;

beforeAll(async () => {
  services = await startLocalServices();
  clients = localClients(services);
});
afterAll(() => services.close());

let streamCount = 0;
async function newStream(shards = 1): Promise<string> {
  const name = `${STREAM}-${++streamCount}`;
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  while (
    (await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
      .StreamDescriptionSummary?.StreamStatus !== 'ACTIVE'
  ) {
    await sleep(10);
  }
  return name;
}

/** Puts records 0..n-1 (data is the number as text) one call at a time, so they keep their order. */
async function put(stream: string, from: number, to: number): Promise<void> {
  const records = [];
  for (let n = from; n < to; n++) records.push({ PartitionKey: 'k', Data: Buffer.from(String(n)) });
  await clients.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
}

const values = (event: KinesisStreamEvent) =>
  event.Records.map((r) => Number(Buffer.from(r.kinesis.data, 'base64').toString()));

function runner(
  stream: string,
  handler: KinesisBatchHandler,
  settings: Partial<EventSourceSettings> = {},
  checkpoints = memoryCheckpoints(),
) {
  const failed: FailedBatch[] = [];
  const processed: number[] = [];
  const instance = new EventSourceRunner({
    consumer: 'test',
    kinesis: clients.kinesis,
    streamName: stream,
    region: services.region,
    handler,
    settings: {
      ...DEFAULT_EVENT_SOURCE_SETTINGS,
      batchingWindowMs: 50,
      retryBaseDelayMs: 10,
      pollIntervalMs: 20,
      ...settings,
    },
    checkpoints,
    onFailure: async (batch) => {
      failed.push(batch);
    },
    onProcessed: (_shard, records) =>
      processed.push(...records.map((r) => Number(Buffer.from(r.Data).toString()))),
  });
  return { instance, failed, processed };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('local event source runner', () => {
  test('delivers the real Kinesis event shape, in shard order, in batches no larger than the batch size', async () => {
    const stream = await newStream();
    await put(stream, 0, 25);
    const batches: KinesisStreamEvent[] = [];
    const { instance, processed } = runner(
      stream,
      async (event) => {
        batches.push(event);
      },
      { batchSize: 10 },
    );
    await instance.start();
    await until(() => processed.length === 25);
    await instance.stop();

    expect(batches.flatMap(values)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(Math.max(...batches.map((b) => b.Records.length))).toBeLessThanOrEqual(10);
    const record = batches[0].Records[0];
    expect(record).toMatchObject({
      eventSource: 'aws:kinesis',
      eventName: 'aws:kinesis:record',
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
      eventID: `shardId-000000000000:${record.kinesis.sequenceNumber}`,
      kinesis: { partitionKey: 'k', kinesisSchemaVersion: '1.0' },
    });
    expect(record.kinesis.approximateArrivalTimestamp).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  test('waits up to the batching window to fill a batch', async () => {
    const stream = await newStream();
    const sizes: number[] = [];
    const { instance, processed } = runner(
      stream,
      async (event) => {
        sizes.push(event.Records.length);
      },
      { batchSize: 100, batchingWindowMs: 1_000 },
    );
    await instance.start();
    for (let n = 0; n < 5; n++) {
      await put(stream, n, n + 1);
      await sleep(50);
    }
    await until(() => processed.length === 5);
    await instance.stop();

    expect(sizes).toEqual([5]);
  });

  test('a partial batch response resumes from the first failed record; records before it are not redelivered', async () => {
    const stream = await newStream();
    await put(stream, 0, 6);
    let failOnce = true;
    const seen: number[][] = [];
    const { instance, processed } = runner(stream, async (event) => {
      seen.push(values(event));
      const third = event.Records.find((r) => Buffer.from(r.kinesis.data, 'base64').toString() === '3');
      if (third && failOnce) {
        failOnce = false;
        return { batchItemFailures: [{ itemIdentifier: third.kinesis.sequenceNumber }] };
      }
      return { batchItemFailures: [] };
    });
    await instance.start();
    await until(() => processed.length === 6);
    await instance.stop();

    expect(seen).toEqual([
      [0, 1, 2, 3, 4, 5],
      [3, 4, 5],
    ]);
    expect(processed).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('a handler that throws on one poison record: bisection isolates it, only it goes to the failure destination, the shard moves on', async () => {
    const stream = await newStream();
    await put(stream, 0, 16);
    const { instance, failed, processed } = runner(
      stream,
      async (event) => {
        if (values(event).includes(11)) throw new Error('poison');
      },
      { maxRetryAttempts: 2 },
    );
    await instance.start();
    await until(() => processed.length === 15 && failed.length === 1);
    await instance.stop();

    expect(failed[0].records.map((r) => Buffer.from(r.Data).toString())).toEqual(['11']);
    expect(failed[0].reason).toMatch(/retries exhausted \(2\): poison/);
    expect(processed.sort((a, b) => a - b)).toEqual([
      ...Array.from({ length: 11 }, (_, i) => i),
      12,
      13,
      14,
      15,
    ]);
    expect(instance.stats.recordsDeadLettered).toBe(1);
  });

  test('a failing record is retried with backoff and succeeds once the fault clears', async () => {
    const stream = await newStream();
    await put(stream, 0, 3);
    let calls = 0;
    const { instance, failed, processed } = runner(
      stream,
      async () => {
        calls++;
        if (calls <= 2) throw new Error('DynamoDB unavailable');
      },
      { batchSize: 1 },
    );
    await instance.start();
    await until(() => processed.length === 3);
    await instance.stop();

    expect(failed).toEqual([]);
    expect(processed).toEqual([0, 1, 2]);
  });

  test('records older than the maximum record age go to the failure destination instead of the handler', async () => {
    const stream = await newStream();
    await put(stream, 0, 2);
    await sleep(100);
    const handled: number[] = [];
    const { instance, failed } = runner(
      stream,
      async (event) => {
        handled.push(...values(event));
      },
      { maxRecordAgeMs: 50 },
    );
    await instance.start();
    await until(() => failed.length === 1);
    await instance.stop();

    expect(handled).toEqual([]);
    expect(failed[0].reason).toMatch(/maximum record age/);
  });

  test('with file checkpoints a restarted runner resumes after the last processed record and reads nothing twice', async () => {
    const stream = await newStream();
    const dir = mkdtempSync(join(tmpdir(), 'checkpoints-'));
    try {
      const handled: number[] = [];
      const handler: KinesisBatchHandler = async (event) => {
        handled.push(...values(event));
      };
      await put(stream, 0, 5);
      const first = runner(stream, handler, {}, fileCheckpoints(join(dir, 'checkpoints.json')));
      await first.instance.start();
      await until(() => handled.length === 5);
      await first.instance.stop();

      await put(stream, 5, 8);
      const second = runner(stream, handler, {}, fileCheckpoints(join(dir, 'checkpoints.json')));
      await second.instance.start();
      await until(() => handled.length >= 8);
      await sleep(200);
      await second.instance.stop();

      expect(handled).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('polls every shard of the stream', async () => {
    const stream = await newStream(3);
    const records = Array.from({ length: 30 }, (_, n) => ({
      PartitionKey: `key-${n}`,
      Data: Buffer.from(String(n)),
    }));
    await clients.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
    const shards = new Set<string>();
    const { instance, processed } = runner(stream, async (event) => {
      for (const r of event.Records) shards.add(r.eventID.split(':')[0]);
    });
    await instance.start();
    await until(() => processed.length === 30);
    await instance.stop();

    expect(shards.size).toBe(3);
    expect(processed.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
