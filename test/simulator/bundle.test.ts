import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURES } from '../../lambdas/shared/features';
import { validateReading } from '../../lambdas/shared/reading';
import { bundleSimulator } from '../../simulator/build';
import { createLabGenerator } from '../../simulator/generator';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'simulator-bundle-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the esbuild bundle runs alone on plain Node and prints the seeded records, one line each', () => {
  const bundle = join(dir, 'simulator.js');
  bundleSimulator(bundle);
  const labels = join(dir, 'labels.jsonl');

  // Run from the temporary folder: nothing of the project's node_modules is reachable from there.
  const run = spawnSync(
    process.execPath,
    [bundle, '--target', 'stdout', '--count', '2000', '--seed', '1', '--quiet', '--labels', labels],
    { cwd: dir, encoding: 'utf8', timeout: 30_000 },
  );

  expect(run.status).toBe(0);
  const records = run.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number | string>[]);
  expect(records.map((record) => [record[0].equipment_id, record.length])).toEqual([
    [101, 1000],
    [102, 1000],
  ]);
  const expected = createLabGenerator({ seed: 1 }).nextStep(0, 3000).bursts;
  records.forEach((record, r) => {
    expect(record.flatMap((reading) => FEATURES.map((f) => reading[f]))).toEqual([...expected[r].values]);
    expect(record.every((reading) => validateReading(reading, Date.now()).ok)).toBe(true);
  });
  expect(run.stderr).toMatch(/^DONE: 2000 readings in 2 records \(0 malformed, \d+ anomalous\) .*; seed 1$/m);
  expect(run.stderr).not.toMatch(/SENT:/);
  expect(readFileSync(labels, 'utf8').trimEnd().split('\n')).toHaveLength(2000);
});
