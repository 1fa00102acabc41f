import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { kinesisEvent, sequenceNumber } from '../fixtures/kinesis-event';

const ROOT = join(__dirname, '..', '..');

/**
 * Bundles each handler the way the stack's NodejsFunction does (esbuild, CommonJS, SDK included) and
 * loads it: the artifact Lambda runs must start, read its configuration and its bundled model.
 */
function bundle(handlerFolder: string, dir: string): string {
  const outfile = join(dir, 'index.js');
  buildSync({
    entryPoints: [join(ROOT, 'lambdas', handlerFolder, 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

const unreachable = {
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_MAX_ATTEMPTS: '1',
};

let dir: string;
const saved = { ...process.env };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bundle-'));
});
afterEach(() => {
  process.env = { ...saved };
  rmSync(dir, { recursive: true, force: true });
});

describe('bundled Lambda handlers', () => {
  test('the transform bundle starts with its model beside it and reports a batch it could not write as failed', async () => {
    const file = bundle('transform', dir);
    copyFileSync(join(ROOT, 'model', 'default-model.json'), join(dir, 'model.json'));
    Object.assign(process.env, unreachable, {
      PROCESSED_BUCKET: 'processed',
      READINGS_TABLE: 'sensor-readings',
      ANOMALIES_STREAM: 'anomalies',
      MODEL_PATH: join(dir, 'model.json'),
    });
    const { handler } = require(file);

    const response = await handler(
      kinesisEvent([{ sequenceNumber: sequenceNumber(1), data: Buffer.from('not json') }]),
      { functionName: 'transform', awsRequestId: 'test' },
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: sequenceNumber(1) }] });
  });

  test('the transform bundle refuses to start without its configuration, naming what is missing', () => {
    const file = bundle('transform', dir);
    delete process.env.PROCESSED_BUCKET;

    expect(() => require(file)).toThrow(/invalid environment: PROCESSED_BUCKET/);
  });

  test('the alerter bundle starts and fails a record it cannot alert on', async () => {
    const file = bundle('alerter', dir);
    Object.assign(process.env, unreachable, {
      ALERTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:anomaly-alerts',
      READINGS_TABLE: 'sensor-readings',
    });
    const { handler } = require(file);

    await expect(
      handler(kinesisEvent([{ sequenceNumber: sequenceNumber(1), data: { not: 'an array' } }]), {
        functionName: 'alerter',
        awsRequestId: 'test',
      }),
    ).rejects.toThrow(/All records failed/);
  });
});
