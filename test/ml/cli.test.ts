import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDetector, parseDetectorModel } from '../../lambdas/shared/detector';

const ROOT = join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ml-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join('ml', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

/** Rows like the CSV lake's: three equipment, one reading a second, temperature of 102 hot from row 400. */
function lakeCsv(file: string): string {
  const rows = [
    'equipment_id,timestamp,vibration_amplitude,vibration_frequency,temperature,humidity,is_anomaly',
  ];
  let seed = 11;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  for (let i = 0; i < 600; i++) {
    for (const id of [101, 102, 103]) {
      const hot = id === 102 && i >= 400;
      const time = new Date(Date.UTC(2026, 10, 23, 19, 0, 0) + i * 1000).toISOString();
      const values = [250, 1000, hot ? 78 : 60, 30].map((base) => (base * (1 + 0.1 * noise())).toFixed(2));
      rows.push(`${id},${time},${values.join(',')},${hot}`);
    }
  }
  const path = join(dir, file);
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

describe('the ML commands', () => {
  test('npm run train on CSV-lake files writes an artifact the Lambda detector loads', () => {
    const input = lakeCsv('lake.csv');
    const out = join(dir, 'model.json');
    const result = run('train-cli.ts', [
      '--input',
      input,
      '--features',
      'vibration_amplitude,vibration_frequency,temperature,humidity',
      '--key',
      'equipment_id',
      '--timestamp',
      'timestamp',
      '--label',
      'is_anomaly',
      '--model-version',
      'lake-retrained',
      '--out',
      out,
    ]);

    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('wrote');
    const model = parseDetectorModel(JSON.parse(readFileSync(out, 'utf8')));
    expect(model.modelVersion).toBe('lake-retrained');
    expect(model.training.rows).toBe(1_800);
    // The hot readings (labelled by the previous model) stayed out of the normal band.
    expect(model.parameters[2].levelHigh).toBeLessThan(70);
    expect(() => createDetector(model)).not.toThrow();
  });

  test('npm run score writes one row per input row with score, flag and reasons', () => {
    const input = lakeCsv('history.csv');
    const out = join(dir, 'scores.csv');
    const result = run('score-cli.ts', [
      '--csv',
      input,
      '--features',
      'vibration_amplitude,vibration_frequency,temperature,humidity',
      '--key',
      'equipment_id',
      '--timestamp',
      'timestamp',
      '--train-rows',
      '300',
      '--out',
      out,
    ]);

    expect(result.stderr).toBe('');
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('equipment_id,timestamp,score,is_anomaly,anomalous_features,reasons');
    expect(lines).toHaveLength(1 + 1_800);
    const hot = lines.filter((line) => line.startsWith('102,') && line.includes(',true,temperature,'));
    expect(hot.length).toBeGreaterThan(150);
    expect(hot[hot.length - 1]).toMatch(/temperature \+\d+% over baseline/);
  });

  test('a command with a wrong column says which, in one line, with exit code 1', () => {
    const input = lakeCsv('wrong.csv');
    const result = run('score-cli.ts', [
      '--csv',
      input,
      '--features',
      'pressure',
      '--out',
      join(dir, 'x.csv'),
    ]);

    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^score: .*wrong\.csv: no column "pressure"/);
  });
});
