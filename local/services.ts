import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';
import { closeServer, listen, type PublishedMessage, type SnsSink, startSnsSink } from './sns-sink';
import { SwitchableProxy } from './switchable-proxy';

/**
 * The AWS services of the pipeline, embedded and on loopback: kinesalite (Kinesis), dynalite
 * (DynamoDB), s3rver (S3) and the SNS sink. All run in this Node process; no Docker, Java or Python.
 * In memory by default (s3rver, which only stores on disk, in a temporary folder); on disk under
 * `dataDir` when given, so a restarted pipeline finds its data.
 *
 * Kinesis is kinesalite rather than kinesis-local: on a 2-core machine it takes about 16,000
 * PutRecords entries/s against about 1,000, and implements every call the pipeline makes.
 */

export const LOCAL_REGION = 'us-east-1';
/** s3rver accepts only its own default key pair; the other emulators accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalEndpointsByService {
  kinesis: string;
  dynamodb: string;
  s3: string;
  sns: string;
}

export interface LocalServices {
  region: string;
  credentials: typeof LOCAL_CREDENTIALS;
  endpoints: LocalEndpointsByService;
  sns: SnsSink;
  /** Takes DynamoDB off the network (requests are refused) until `startDynamo`; for fault tests. */
  stopDynamo(): Promise<void>;
  startDynamo(): Promise<void>;
  close(): Promise<void>;
}

export interface LocalServicesOptions {
  dataDir?: string;
  onAlert?: (message: PublishedMessage) => void;
}

export async function startLocalServices(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const { dataDir } = options;
  const onDisk = (name: string) => {
    if (!dataDir) return undefined;
    const path = join(dataDir, name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const s3Directory = onDisk('s3') ?? mkdtempSync(join(tmpdir(), 'sensor-pipeline-s3-'));

  const kinesis = kinesalite({
    path: onDisk('kinesis'),
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100,
  });
  const dynamo = dynalite({ path: onDisk('dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Directory });
  await listen(kinesis);
  await listen(dynamo);
  const s3Address = await s3.run();
  const sns = await startSnsSink({ onMessage: options.onAlert });
  // DynamoDB is reached through a proxy that fault tests can switch off; dynalite itself keeps running.
  const dynamoProxy = new SwitchableProxy(portOf(dynamo));
  await dynamoProxy.start();

  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoints: {
      kinesis: `http://127.0.0.1:${portOf(kinesis)}`,
      dynamodb: `http://127.0.0.1:${dynamoProxy.port}`,
      s3: `http://127.0.0.1:${s3Address.port}`,
      sns: sns.endpoint,
    },
    sns,
    stopDynamo: () => dynamoProxy.stop(),
    startDynamo: () => dynamoProxy.start(),
    async close() {
      await dynamoProxy.stop();
      await Promise.allSettled([closeServer(kinesis), closeServer(dynamo), s3.close(), sns.close()]);
      if (!dataDir) rmSync(s3Directory, { recursive: true, force: true });
    },
  };
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
