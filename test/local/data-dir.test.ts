import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localClients } from '../../local/clients';
import { LOCAL_NAMES } from '../../local/names';
import { LocalPipeline } from '../../local/pipeline';
import { readBackCounts } from '../../local/read-back';
import { type LocalRunOptions, runLocal } from '../../local/run';
import { startLocalServices } from '../../local/services';
import { runSimulator } from '../../simulator/run';
import { sendLabSteps } from '../fixtures/lab-sender';

describe('local pipeline with --data-dir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'data-dir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a restarted pipeline keeps its data and resumes after its checkpoints: nothing is read twice', async () => {
    const first = await LocalPipeline.start({ dataDir: dir });
    await sendLabSteps(first, { steps: 2, burst: 500 });
    await first.drain(60_000);
    await first.stop();

    const second = await LocalPipeline.start({ dataDir: dir });
    try {
      await second.drain(60_000);
      expect(second.transform.stats.recordsProcessed).toBe(0);
      expect(second.transform.stats.invocations).toBe(0);
      await sendLabSteps(second, { steps: 1, burst: 500 });
      await second.drain(60_000);

      expect(second.transform.stats.recordsProcessed).toBe(3);
      expect(await readBackCounts(second.clients)).toMatchObject({
        valid: 4_500,
        csvRows: 4_500,
        dynamoReadings: 4_500,
        archivedReadings: 4_500,
      });
    } finally {
      await second.stop();
    }
  });

  const runOptions = (overrides: Partial<LocalRunOptions> = {}): LocalRunOptions => ({
    count: 3_000,
    rate: 10_000,
    badRatio: 0,
    dashboard: false,
    port: 0,
    quiet: true,
    // No .local/endpoints.json in the project folder: test files run side by side.
    endpointsDir: false,
    out: () => {},
    signal: new AbortController().signal,
    dataDir: dir,
    seed: 1,
    ...overrides,
  });

  test('npm start --count on a data dir reports what this run added', async () => {
    await runLocal(runOptions({ seed: 1 }));
    const second = await runLocal(runOptions({ seed: 2 }));

    expect(second).toMatchObject({
      sent: 3_000,
      valid: 3_000,
      csvRows: 3_000,
      dynamoReadings: 3_000,
      archivedReadings: 3_000,
      problems: [],
    });
  });

  test('after a crash, npm start --count processes the backlog first and reports only what it sent', async () => {
    await runLocal(runOptions({ count: 2_000, seed: 1 }));
    // A run killed after sending 1,000 readings that none of its consumers had read: they wait on the stream.
    const crashed = await startLocalServices({ dataDir: dir });
    try {
      await runSimulator({
        kinesis: localClients(crashed).kinesis,
        streamName: LOCAL_NAMES.inputStream,
        seed: 2,
        rate: 10_000,
        count: 1_000,
      });
    } finally {
      await crashed.close();
    }

    const lines: string[] = [];
    const report = await runLocal(runOptions({ count: 3_000, seed: 3, out: (line) => lines.push(line) }));

    expect(report).toMatchObject({
      sent: 3_000,
      valid: 3_000,
      csvRows: 3_000,
      dynamoReadings: 3_000,
      archivedReadings: 3_000,
      problems: [],
      backlog: {
        valid: 1_000,
        csvRows: 1_000,
        dynamoReadings: 1_000,
        archivedReadings: 1_000,
        quarantined: 0,
      },
    });
    expect(lines.join('\n')).toContain('plus 1000 readings from before this run, processed now');
  });
});
