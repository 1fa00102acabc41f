import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseHour } from '../../cli/curate';
import { objectPages } from '../../cli/object-pages';
import type { LocalEndpoints } from '../../cli/targets';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { type LocalClients, localClients } from '../../local/clients';
import { curateLocal } from '../../local/curate';
import { LOCAL_NAMES } from '../../local/names';
import { createLocalResources } from '../../local/pipeline';
import { type LocalServices, startLocalServices } from '../../local/services';
import { kinesisEvent, labReading, sequenceNumber, type TestRecord } from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';

/**
 * `npm run curate -- --target local` and `npm start --curate`'s curation (local/curate.ts): the
 * transform's CSV objects in the local S3 (s3rver), curated hour by hour with DuckDB into
 * curated/dt=.../hour=.../data.parquet, the same SQL as the state machine runs in Athena.
 */

const at = (hour: number, minute: number, second = 0) => Date.UTC(2026, 10, 23, hour, minute, second);
const NOW = at(21, 5);

let services: LocalServices;
let clients: LocalClients;
let cwd: string;
const bucket = LOCAL_NAMES.processedBucket;

let sequence = 0;
const record = (arrivalMs: number, equipment: number, times: number[]): TestRecord => ({
  sequenceNumber: sequenceNumber(++sequence),
  partitionKey: String(equipment),
  arrivalMs,
  data: times.map((t) => labReading(equipment, t)),
});

beforeAll(async () => {
  services = await startLocalServices();
  clients = localClients(services);
  await createLocalResources(clients, 1);
  cwd = mkdtempSync(join(tmpdir(), 'curate-'));
  const harness = transformHarness();
  try {
    // Hour 19, a batch spanning 19 and 20 retried in part (copies in hour 20), hour 20, hour 21 (current).
    const spanning = [
      record(at(19, 59, 50), 101, [at(19, 59, 49)]),
      record(at(20, 0, 2), 102, [at(20, 0, 1), at(20, 0)]),
    ];
    for (const batch of [
      [record(at(19, 10), 101, [at(19, 9), at(19, 9, 1), at(19, 9, 2)])],
      spanning,
      spanning.slice(1),
      [record(at(20, 30), 103, [at(20, 29)])],
      [record(at(21, 1), 101, [at(21, 0, 59)])],
    ])
      await processTransformBatch(kinesisEvent(batch), harness.deps);
  } finally {
    harness.restore();
  }
  // The objects as the transform wrote them (GZIP CSV, `.csv.gz`, or plain `.csv` before it).
  for (const [key, body] of harness.bodies)
    if (key.startsWith('readings/'))
      await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body as Uint8Array }));
}, 60_000);

afterAll(async () => {
  await services?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

async function curatedKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of objectPages(clients.s3, bucket, 'curated/'))
    for (const o of page) keys.push(o.Key as string);
  return keys.sort();
}

async function parquetRows(key: string): Promise<number> {
  const result = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const file = join(cwd, 'read.parquet');
  writeFileSync(
    file,
    await (result.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    return Number(
      (await connection.runAndReadAll(`SELECT count(*) FROM read_parquet('${file}')`)).getRows()[0][0],
    );
  } finally {
    connection.closeSync();
  }
}

test('the last closed hour by default; its Parquet in the local S3, the counts checked', async () => {
  const [hour20] = await curateLocal({
    s3: clients.s3,
    bucket,
    hours: [parseHour('2026-11-23T20')],
    nowMs: NOW,
  });
  expect(hour20).toMatchObject({
    dt: '2026-11-23',
    hour: '20',
    key: 'curated/dt=2026-11-23/hour=20/data.parquet',
    lakeReadings: 1,
    curatedReadings: 1,
    equipment: 1,
  });
  expect(hour20.parquetBytes).toBeGreaterThan(0);
  expect(await curatedKeys()).toEqual(['curated/dt=2026-11-23/hour=20/data.parquet']);
  expect(await parquetRows('curated/dt=2026-11-23/hour=20/data.parquet')).toBe(1);
});

test('--all: every closed hour; again: the same objects, replaced, not added to', async () => {
  const first = await curateLocal({ s3: clients.s3, bucket, all: true, nowMs: NOW });
  expect(first.map((h) => [h.hour, h.curatedReadings])).toEqual([
    ['19', 6],
    ['20', 1],
  ]);
  const again = await curateLocal({ s3: clients.s3, bucket, all: true, nowMs: NOW });
  expect(again.map((h) => [h.hour, h.curatedReadings])).toEqual([
    ['19', 6],
    ['20', 1],
  ]);
  expect(await curatedKeys()).toEqual([
    'curated/dt=2026-11-23/hour=19/data.parquet',
    'curated/dt=2026-11-23/hour=20/data.parquet',
  ]);
  expect(await parquetRows('curated/dt=2026-11-23/hour=19/data.parquet')).toBe(6);
  // The current hour too, once nothing more arrives: every reading curated once.
  const all = await curateLocal({ s3: clients.s3, bucket, all: true, includeCurrent: true, nowMs: NOW });
  expect(all.reduce((sum, h) => sum + h.curatedReadings, 0)).toBe(8);
});

test('the CLI: --target local reads .local/endpoints.json; --hour is checked; --target aws prints the start command', async () => {
  const { curateCommand } = await import('../../cli/curate');
  const endpoints: LocalEndpoints = {
    region: services.region,
    dynamodb: services.endpoints.dynamodb,
    kinesis: services.endpoints.kinesis,
    s3: services.endpoints.s3,
    sns: services.endpoints.sns,
    tableName: LOCAL_NAMES.table,
    inputStream: LOCAL_NAMES.inputStream,
    anomaliesStream: LOCAL_NAMES.anomaliesStream,
    processedBucket: bucket,
    rawBucket: LOCAL_NAMES.rawBucket,
  };
  const lines: string[] = [];
  const run = (...args: string[]) =>
    curateCommand({ out: (text) => lines.push(text), endpoints: () => endpoints, nowMs: () => NOW })
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} })
      .parseAsync(['node', 'curate', ...args]);
  await run('--target', 'local', '--json');
  expect(JSON.parse(lines.pop() as string)).toEqual([
    expect.objectContaining({ dt: '2026-11-23', hour: '20', curatedReadings: 1, lakeReadings: 1 }),
  ]);
  await run('--target', 'local', '--hour', '2026-11-23T19:30:00Z');
  expect(lines.pop()).toMatch(/2026-11-23 19:00 +6 readings \(lake 6\)/);
  await expect(run('--target', 'local', '--hour', 'yesterday')).rejects.toThrow(
    /--hour must be an hour in ISO 8601/,
  );
  await expect(run('--hour', '2026-11-23T19')).rejects.toThrow(/--target/);
  await run('--target', 'aws', '--hour', '2026-11-23T19');
  expect(lines.pop()).toContain(`--input '{"hour":"2026-11-23T19:00:00Z"}'`);
});
