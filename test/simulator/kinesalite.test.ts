import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { createKinesisClient } from '../../lambdas/shared/aws/clients';
import { closeServer, listen } from '../../local/sns-sink';
import { createLabGenerator } from '../../simulator/generator';
import { LABEL_COLUMNS } from '../../simulator/labels';
import { runSimulator } from '../../simulator/run';
import type { SentRecord } from '../../simulator/sender';

/** The simulator against an in-process kinesalite: real PutRecords calls over HTTP/1.1, read back. */

interface StoredRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  readings: Record<string, number | string>[];
}

let server: Server;
let kinesis: KinesisClient;
let dir: string;

beforeAll(async () => {
  server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 20 });
  await listen(server);
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kinesis = createKinesisClient('us-east-1', {
    endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(async () => {
  kinesis.destroy();
  await closeServer(server);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'simulator-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let streams = 0;
async function newStream(shards: number): Promise<string> {
  const name = `simulator-${++streams}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  const status = async () =>
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary
      ?.StreamStatus;
  while ((await status()) !== 'ACTIVE') await new Promise((resolve) => setTimeout(resolve, 10));
  return name;
}

/** Every record of every shard, from the oldest, in shard order. */
async function readStream(streamName: string): Promise<StoredRecord[]> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  const records: StoredRecord[] = [];
  for (const { ShardId } of Shards) {
    const shardId = ShardId as string;
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const record of page.Records ?? []) {
        records.push({
          shardId,
          sequenceNumber: record.SequenceNumber as string,
          partitionKey: record.PartitionKey as string,
          readings: JSON.parse(Buffer.from(record.Data as Uint8Array).toString('utf8')),
        });
      }
      iterator = page.Records?.length ? page.NextShardIterator : undefined;
    }
  }
  return records;
}

describe('simulator sending to kinesalite', () => {
  test('every reading arrives exactly once, in order per equipment, where the sender said it went', async () => {
    const streamName = await newStream(3);
    const equipment = [101, 102, 103, 104, 105];
    const sent: SentRecord[] = [];
    const labelsFile = join(dir, 'labels.csv');

    const summary = await runSimulator({
      kinesis,
      streamName,
      seed: 5,
      rate: 200_000,
      count: 25_500,
      equipment,
      labelsFile,
      onRecordSent: (record) => sent.push(record),
    });

    const stored = await readStream(streamName);
    expect(summary).toMatchObject({ sent: 25_500, records: 26, malformed: 0 });
    expect(stored).toHaveLength(26);
    const where = (r: { shardId?: string; sequenceNumber?: string }) => `${r.shardId}/${r.sequenceNumber}`;
    expect(stored.map(where).sort()).toEqual(sent.map(where).sort());
    const keyOf = new Map(stored.map((r) => [where(r), r.partitionKey]));
    for (const record of sent) expect(keyOf.get(where(record))).toBe(record.partitionKey);
    expect(sent.every((record) => record.sentMs > 0 && record.readings > 0)).toBe(true);

    // Per equipment, the stream holds exactly the generator's values for the seed, in order.
    const generator = createLabGenerator({ seed: 5, equipment });
    const expected = new Map<number, number[]>(equipment.map((id) => [id, []]));
    for (let made = 0; made < 25_500; ) {
      for (const burst of generator.nextStep(0, 200_000, 25_500 - made).bursts) {
        expected.get(burst.equipmentId)?.push(...burst.values);
        made += burst.readings;
      }
    }
    for (const id of equipment) {
      const readings = stored.filter((r) => r.partitionKey === String(id)).flatMap((r) => r.readings);
      expect(readings.every((reading) => reading.equipment_id === id)).toBe(true);
      const values = readings.flatMap((r) => [
        r.vibration_amplitude,
        r.vibration_frequency,
        r.temperature,
        r.humidity,
      ]);
      expect(values).toEqual(expected.get(id));
      const timestamps = readings.map((r) => r.timestamp as string);
      expect(timestamps).toEqual([...timestamps].sort());
    }

    // Each label row names the stored reading it describes.
    const [header, ...rows] = readFileSync(labelsFile, 'utf8').trimEnd().split('\n');
    expect(header).toBe(LABEL_COLUMNS.join(','));
    expect(rows).toHaveLength(25_500);
    const byPosition = new Map(stored.map((r) => [where(r), r]));
    for (const row of rows) {
      const cells = row.split(',');
      const label = Object.fromEntries(LABEL_COLUMNS.map((column, i) => [column, cells[i]]));
      const reading = byPosition.get(`${label.shard_id}/${label.sequence_number}`)?.readings[
        Number(label.reading_index)
      ];
      expect(reading).toMatchObject({ equipment_id: Number(label.equipment_id), timestamp: label.timestamp });
    }
  });

  test('an abort stops generating, delivers what was queued, and the summary counts exactly what is on the stream', async () => {
    const streamName = await newStream(1);
    const controller = new AbortController();

    const summary = await runSimulator({
      kinesis,
      streamName,
      seed: 6,
      rate: 20_000,
      burstSize: 500,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.sent >= 3000) controller.abort();
      },
    });

    const stored = await readStream(streamName);
    expect(summary.sent).toBeGreaterThanOrEqual(3000);
    expect(summary.records).toBe(stored.length);
    expect(summary.sent).toBe(stored.reduce((n, r) => n + r.readings.length, 0));
  });
});
