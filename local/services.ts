import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type PublishedMessage, type SnsSink, startSnsSink } from './sns-sink';
import { SwitchableProxy } from './switchable-proxy';

/**
 * The AWS services of the pipeline, embedded and on loopback: kinesalite (Kinesis), dynalite
 * (DynamoDB), s3rver (S3) and the SNS sink. All run in this Node process, the emulators on a worker
 * thread so they have a core of their own; no Docker, Java or Python.
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
  const emulators = await startEmulators({
    kinesisPath: onDisk('kinesis'),
    dynamoPath: onDisk('dynamodb'),
    s3Directory,
  });
  const sns = await startSnsSink({ onMessage: options.onAlert });
  // DynamoDB is reached through a proxy that fault tests can switch off; dynalite itself keeps running.
  const dynamoProxy = new SwitchableProxy(emulators.ports.dynamodb);
  await dynamoProxy.start();

  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoints: {
      kinesis: `http://127.0.0.1:${emulators.ports.kinesis}`,
      dynamodb: `http://127.0.0.1:${dynamoProxy.port}`,
      s3: `http://127.0.0.1:${emulators.ports.s3}`,
      sns: sns.endpoint,
    },
    sns,
    stopDynamo: () => dynamoProxy.stop(),
    startDynamo: () => dynamoProxy.start(),
    async close() {
      await dynamoProxy.stop();
      await Promise.allSettled([emulators.close(), sns.close()]);
      if (!dataDir) rmSync(s3Directory, { recursive: true, force: true });
    },
  };
}

interface EmulatorThread {
  ports: { kinesis: number; dynamodb: number; s3: number };
  close(): Promise<void>;
}

/** kinesalite, dynalite and s3rver on a worker thread (see emulators-worker.js). */
function startEmulators(paths: {
  kinesisPath?: string;
  dynamoPath?: string;
  s3Directory: string;
}): Promise<EmulatorThread> {
  const worker = new Worker(join(__dirname, 'emulators-worker.js'), { workerData: paths });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { ports?: EmulatorThread['ports']; error?: string }) => {
      if (!message.ports) {
        void worker.terminate();
        reject(new Error(`the embedded AWS services did not start: ${message.error}`));
        return;
      }
      resolve({
        ports: message.ports,
        close: () =>
          new Promise<void>((done) => {
            worker.once('message', () => void worker.terminate().then(() => done()));
            worker.postMessage('close');
          }),
      });
    });
  });
}
