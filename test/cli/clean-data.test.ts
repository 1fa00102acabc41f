import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { BatchWriteItemCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type CleanDataIo,
  cleanDataCommand,
  emptyBucket,
  emptyTable,
  locateData,
} from '../../cli/clean-data';
import type { LocalEndpoints } from '../../cli/targets';
import { type LocalClients, localClients } from '../../local/clients';
import { LOCAL_NAMES } from '../../local/names';
import { createLocalResources } from '../../local/pipeline';
import { type LocalServices, startLocalServices } from '../../local/services';

const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const PROCESSED_OBJECTS = 1_003;
const RAW_OBJECTS = 2;
const READINGS_DOCUMENTS = 60;

let services: LocalServices;
let clients: LocalClients;
let cwd: string;

beforeAll(async () => {
  services = await startLocalServices();
  clients = localClients(services);
  await createLocalResources(clients, 1);
  // What `npm start` writes while it runs: the command finds the local pipeline through it.
  cwd = mkdtempSync(join(tmpdir(), 'clean-data-'));
  mkdirSync(join(cwd, '.local'));
  const endpoints: LocalEndpoints = {
    region: services.region,
    dynamodb: services.endpoints.dynamodb,
    kinesis: services.endpoints.kinesis,
    s3: services.endpoints.s3,
    sns: services.endpoints.sns,
    tableName: LOCAL_NAMES.table,
    inputStream: LOCAL_NAMES.inputStream,
    anomaliesStream: LOCAL_NAMES.anomaliesStream,
    processedBucket: LOCAL_NAMES.processedBucket,
    rawBucket: LOCAL_NAMES.rawBucket,
  };
  writeFileSync(join(cwd, '.local', 'endpoints.json'), JSON.stringify(endpoints));
}, 60_000);

afterAll(async () => {
  await services?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

/** The table's three kinds of items (lambdas/shared/documents.ts, lambdas/alerter/episode-store.ts) and the buckets' objects. */
async function seed(): Promise<void> {
  const items = [
    ...Array.from({ length: READINGS_DOCUMENTS }, (_, i) => ({
      pk: `readings#2026-11-23T19:${String(40 + (i % 10)).padStart(2, '0')}`,
      sk: `${101 + (i % 3)}#shardId-000000000000#${1000 + i}#0`,
      count: 1000,
    })),
    ...[101, 102, 103].map((id) => ({ pk: 'latest', sk: String(id), latest_ms: 1 })),
    ...[101, 102, 103].map((id) => ({ pk: 'episode', sk: String(id), state: { equipmentId: id } })),
  ];
  for (let start = 0; start < items.length; start += 25) {
    const batch = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
    await clients.documents.send(new BatchWriteCommand({ RequestItems: { [LOCAL_NAMES.table]: batch } }));
  }
  const keys = [
    ...Array.from({ length: PROCESSED_OBJECTS - 3 }, (_, i) => [
      LOCAL_NAMES.processedBucket,
      `readings/dt=2026-11-23/hour=19/shardId-000000000000-${String(i).padStart(6, '0')}.csv`,
    ]),
    ...Array.from({ length: 3 }, (_, i) => [
      LOCAL_NAMES.processedBucket,
      `quarantine/dt=2026-11-23/hour=19/shardId-000000000000-${i}.jsonl`,
    ]),
    ...Array.from({ length: RAW_OBJECTS }, (_, i) => [
      LOCAL_NAMES.rawBucket,
      `raw/dt=2026-11-23/hour=19/archive-${i}.gz`,
    ]),
  ];
  for (let start = 0; start < keys.length; start += 50) {
    await Promise.all(
      keys
        .slice(start, start + 50)
        .map(([Bucket, Key]) => clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: 'a,b\n1,2\n' }))),
    );
  }
}

async function countItems(): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page: ScanCommandOutput = await clients.documents.send(
      new ScanCommand({ TableName: LOCAL_NAMES.table, ExclusiveStartKey: startKey }),
    );
    count += page.Items?.length ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/** ListObjects (v1): s3rver cannot page ListObjectsV2 (see emptyBucket). */
async function countObjects(bucket: string): Promise<number> {
  let count = 0;
  let marker: string | undefined;
  for (;;) {
    const page = await clients.s3.send(new ListObjectsCommand({ Bucket: bucket, Marker: marker }));
    const contents = page.Contents ?? [];
    count += contents.length;
    if (!page.IsTruncated || contents.length === 0) return count;
    marker = contents[contents.length - 1].Key;
  }
}

function io(answer?: string) {
  const lines: string[] = [];
  const exitCode = jest.fn();
  const ask = jest.fn(async () => answer ?? '');
  const value: CleanDataIo = {
    out: (text) => lines.push(text),
    err: (text) => lines.push(text),
    ask,
    cwd,
    retry: FAST_RETRY,
    // Several Scan pages, and pages that are not multiples of the 25-item batches.
    scanPageSize: 40,
    exitCode,
  };
  return { io: value, lines, ask, exitCode, output: () => lines.join('\n') };
}

const run = (cli: CleanDataIo, ...args: string[]) =>
  cleanDataCommand(cli).exitOverride().parseAsync(args, { from: 'user' });

describe('npm run clean-data -- --target local (against the embedded services)', () => {
  test('--yes empties the table and both buckets, asks nothing, counts what it deleted, and keeps the table and the buckets', async () => {
    await seed();
    expect(await countItems()).toBe(READINGS_DOCUMENTS + 6);
    expect(await countObjects(LOCAL_NAMES.processedBucket)).toBe(PROCESSED_OBJECTS);

    const cli = io();
    await run(cli.io, '--target', 'local', '--yes');

    expect(cli.ask).not.toHaveBeenCalled();
    expect(cli.exitCode).not.toHaveBeenCalled();
    expect(cli.lines).toEqual([
      `Deleted 66 items from table sensor-readings: 60 readings documents, 3 latest-reading markers, 3 alert episodes, 0 detector states, 0 other.`,
      expect.stringMatching(
        /^Deleted 1,003 objects \(0\.0 MB\) from the processed bucket processed-bucket\.$/,
      ),
      'Deleted 2 objects (0.0 MB) from the raw bucket raw-bucket.',
      'The table and the buckets are kept.',
    ]);
    expect(await countItems()).toBe(0);
    expect(await countObjects(LOCAL_NAMES.processedBucket)).toBe(0);
    expect(await countObjects(LOCAL_NAMES.rawBucket)).toBe(0);
    // Nothing destroyed.
    const table = await clients.documents.send(new DescribeTableCommand({ TableName: LOCAL_NAMES.table }));
    expect(table.Table?.TableStatus).toBe('ACTIVE');
    for (const bucket of [LOCAL_NAMES.processedBucket, LOCAL_NAMES.rawBucket])
      await expect(clients.s3.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
  }, 120_000);

  test('without --yes, a "no" deletes nothing and exits 1', async () => {
    await seed();
    const before = [
      await countItems(),
      await countObjects(LOCAL_NAMES.processedBucket),
      await countObjects(LOCAL_NAMES.rawBucket),
    ];
    expect(before).toEqual([READINGS_DOCUMENTS + 6, PROCESSED_OBJECTS, RAW_OBJECTS]);

    const cli = io('no');
    await run(cli.io, '--target', 'local');

    expect(cli.ask).toHaveBeenCalledTimes(1);
    expect(cli.output()).toContain('every item of the DynamoDB table sensor-readings');
    expect(cli.output()).toContain('every object of the processed bucket processed-bucket');
    expect(cli.output()).toContain('every object of the raw bucket raw-bucket');
    expect(cli.lines.at(-1)).toBe('Nothing deleted.');
    expect(cli.exitCode).toHaveBeenCalledWith(1);
    expect([
      await countItems(),
      await countObjects(LOCAL_NAMES.processedBucket),
      await countObjects(LOCAL_NAMES.rawBucket),
    ]).toEqual(before);
  }, 120_000);

  test('without --yes, an empty answer (end of input) deletes nothing; "yes" deletes everything', async () => {
    const declined = io('');
    await run(declined.io, '--target', 'local');
    expect(declined.lines.at(-1)).toBe('Nothing deleted.');
    expect(await countItems()).toBe(READINGS_DOCUMENTS + 6);

    const confirmed = io(' YES ');
    await run(confirmed.io, '--target', 'local');
    expect(confirmed.exitCode).not.toHaveBeenCalled();
    expect(confirmed.output()).toContain('Deleted 66 items');
    expect(await countItems()).toBe(0);
    expect(await countObjects(LOCAL_NAMES.processedBucket)).toBe(0);
  }, 120_000);

  test('an already empty pipeline deletes nothing and says so', async () => {
    const cli = io();
    await run(cli.io, '--target', 'local', '--yes');
    expect(cli.lines[0]).toMatch(/^Deleted 0 items/);
    expect(cli.lines[1]).toMatch(/^Deleted 0 objects/);
  });

  test('a missing table is reported before anything is asked or deleted', async () => {
    const cli = io('yes');
    await expect(run(cli.io, '--target', 'local', '--yes', '--table', 'no-such-table')).rejects.toThrow(
      /table no-such-table: ResourceNotFoundException/,
    );
    expect(cli.ask).not.toHaveBeenCalled();
  });

  test('with no local pipeline running, says how to start one', async () => {
    const cli = io();
    cli.io.cwd = tmpdir();
    await expect(run(cli.io, '--target', 'local', '--yes')).rejects.toThrow(/npm start/);
  });

  test('--target is required', async () => {
    const cli = io();
    const command = cleanDataCommand(cli.io)
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    await expect(command.parseAsync(['--yes'], { from: 'user' })).rejects.toThrow(/--target/);
  });
});

describe('--target aws: where the data is', () => {
  test('the bucket names come from the pipeline stack outputs, the table name from the name prefix', async () => {
    const cloudFormation = new CloudFormationClient({ region: 'eu-west-1' });
    const stub = mockClient(cloudFormation);
    stub.on(DescribeStacksCommand, { StackName: 'dev-SensorPipeline' }).resolves({
      Stacks: [
        {
          StackName: 'dev-SensorPipeline',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: 'ReadingsTableName', OutputValue: 'dev-sensor-readings' },
            { OutputKey: 'ProcessedBucketName', OutputValue: 'dev-sensorpipeline-processedbucket-abc' },
            { OutputKey: 'RawBucketName', OutputValue: 'dev-sensorpipeline-rawarchivebucket-def' },
          ],
        },
      ],
    });
    const regions: (string | undefined)[] = [];
    const location = await locateData(
      { target: 'aws', yes: true, namePrefix: 'dev-', region: 'eu-west-1' },
      {
        out: () => {},
        err: () => {},
        cloudFormation: (region) => {
          regions.push(region);
          return cloudFormation;
        },
      },
    );
    expect(regions).toEqual(['eu-west-1']);
    expect(location).toEqual({
      target: 'aws',
      region: 'eu-west-1',
      tableName: 'dev-sensor-readings',
      stackName: 'dev-SensorPipeline',
      buckets: [
        { role: 'processed', name: 'dev-sensorpipeline-processedbucket-abc' },
        { role: 'raw', name: 'dev-sensorpipeline-rawarchivebucket-def' },
      ],
    });
  });

  test('a stack that is not there is named in the error, with the likely causes', async () => {
    const cloudFormation = new CloudFormationClient({ region: 'eu-west-1' });
    const stub = mockClient(cloudFormation);
    const missing = Object.assign(new Error('Stack with id SensorPipeline does not exist'), {
      name: 'ValidationError',
    });
    stub.on(DescribeStacksCommand).rejects(missing);
    await expect(
      locateData(
        { target: 'aws', yes: true, namePrefix: '' },
        { out: () => {}, err: () => {}, cloudFormation: () => cloudFormation },
      ),
    ).rejects.toThrow(
      'stack SensorPipeline not found: deployed with another --name-prefix or in another --region?',
    );
  });
});

describe('retries', () => {
  test('unprocessed deletes are retried until DynamoDB takes them', async () => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const stub = mockClient(client);
    const keys = Array.from({ length: 30 }, (_, i) => ({ pk: 'latest', sk: String(i) }));
    stub.on(ScanCommand).resolves({ Items: keys });
    let calls = 0;
    stub.on(BatchWriteItemCommand).callsFake((input) => {
      calls++;
      const requests = input.RequestItems.t;
      // The first attempt of each batch leaves its last two deletes unprocessed.
      return calls % 2 === 1 ? { UnprocessedItems: { t: requests.slice(-2) } } : {};
    });
    const counts = await emptyTable(client, 't', { retry: FAST_RETRY });
    expect(counts).toEqual({ readings: 0, latest: 30, episodes: 0, detectorStates: 0, other: 0 });
    const sizes = stub
      .commandCalls(BatchWriteItemCommand)
      .map((call) => call.args[0].input.RequestItems?.t.length);
    expect(sizes).toEqual([25, 2, 5, 2]);
  });

  test('deletes still unprocessed after every attempt fail the command, never pass silently', async () => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const stub = mockClient(client);
    stub.on(ScanCommand).resolves({ Items: [{ pk: 'latest', sk: '1' }] });
    stub.on(BatchWriteItemCommand).callsFake((input) => ({ UnprocessedItems: input.RequestItems }));
    await expect(emptyTable(client, 't', { retry: FAST_RETRY })).rejects.toThrow(
      '1 deletes from t still unprocessed after 4 attempts',
    );
  });

  test('objects DeleteObjects reports failed are deleted again', async () => {
    const client = new S3Client({ region: 'us-east-1' });
    const stub = mockClient(client);
    stub.on(ListObjectsCommand).resolves({
      Contents: [
        { Key: 'a', Size: 10 },
        { Key: 'b', Size: 20 },
      ],
      IsTruncated: false,
    });
    stub
      .on(DeleteObjectsCommand)
      .resolvesOnce({ Errors: [{ Key: 'b', Code: 'SlowDown' }] })
      .resolves({});
    expect(await emptyBucket(client, 'bucket', FAST_RETRY)).toEqual({ objects: 2, bytes: 30 });
    const deleted = stub
      .commandCalls(DeleteObjectsCommand)
      .map((call) => call.args[0].input.Delete?.Objects?.map((o) => o.Key));
    expect(deleted).toEqual([['a', 'b'], ['b']]);
  });
});
