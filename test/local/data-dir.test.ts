import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPipeline } from '../../local/pipeline';
import { readBackCounts } from '../../local/read-back';
import { runLocal } from '../../local/run';
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

  test('npm start --count on a data dir reports what this run added', async () => {
    const options = {
      count: 3_000,
      rate: 10_000,
      badRatio: 0,
      dashboard: false,
      port: 0,
      quiet: true,
      out: () => {},
      signal: new AbortController().signal,
      dataDir: dir,
    };
    await runLocal({ ...options, seed: 1 });
    const second = await runLocal({ ...options, seed: 2 });

    expect(second).toMatchObject({
      sent: 3_000,
      valid: 3_000,
      csvRows: 3_000,
      dynamoReadings: 3_000,
      archivedReadings: 3_000,
      problems: [],
    });
  });
});
