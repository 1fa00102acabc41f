import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  const LAKE_SCORE_ARGS = [
    '--features',
    'vibration_amplitude,vibration_frequency,temperature,humidity',
    '--key',
    'equipment_id',
    '--timestamp',
    'timestamp',
  ];
  const hotRows = (out: string) =>
    readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('102,') && line.includes(',true,temperature,'));

  test('npm run score writes one row per input row; with no model, a lasting change is flagged at its onset only', () => {
    const input = lakeCsv('history.csv');
    const out = join(dir, 'scores.csv');
    const result = run('score-cli.ts', [
      '--csv',
      input,
      ...LAKE_SCORE_ARGS,
      '--train-rows',
      '300',
      '--out',
      out,
    ]);

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/1800 rows scored, \d+ flagged \(detector adaptive-1; the first 300 rows/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('equipment_id,timestamp,score,is_anomaly,anomalous_features,reasons');
    expect(lines).toHaveLength(1 + 1_800);
    // The timestamps are echoed as the input wrote them.
    expect(lines[1].split(',')[1]).toBe(new Date(Date.UTC(2026, 10, 23, 19, 0, 0)).toISOString());
    const hot = hotRows(out);
    expect(hot.length).toBeGreaterThanOrEqual(1);
    expect(hot.length).toBeLessThan(5);
    expect(hot[0]).toContain(`,${new Date(Date.UTC(2026, 10, 23, 19, 6, 40)).toISOString()},`);
  });

  test('npm run score with an absolute limit or a trained model keeps the out-of-bounds level flagged', () => {
    const input = lakeCsv('limits.csv');
    const limited = join(dir, 'limited.csv');
    run('score-cli.ts', [
      '--csv',
      input,
      ...LAKE_SCORE_ARGS,
      '--limits',
      'temperature=:70',
      '--out',
      limited,
    ]);
    const hot = hotRows(limited);
    expect(hot.length).toBeGreaterThan(190);
    expect(hot[hot.length - 1]).toMatch(/temperature \d+(\.\d+)? over its limit 70/);

    // A model trained on the first 400 rows (before the hot level): its band is an absolute limit.
    const model = join(dir, 'lake-model.json');
    const first400 = join(dir, 'first400.csv');
    const text = readFileSync(input, 'utf8').trim().split('\n');
    writeFileSync(first400, `${text.slice(0, 1 + 3 * 400).join('\n')}\n`);
    run('train-cli.ts', ['--input', first400, ...LAKE_SCORE_ARGS, '--out', model]);
    const withModel = join(dir, 'with-model.csv');
    const result = run('score-cli.ts', [
      '--csv',
      input,
      ...LAKE_SCORE_ARGS,
      '--model',
      model,
      '--out',
      withModel,
    ]);
    expect(result.stderr).toBe('');
    const trainedHot = hotRows(withModel);
    expect(trainedHot.length).toBeGreaterThan(150);
    expect(trainedHot[trainedHot.length - 1]).toMatch(/temperature \+\d+% over baseline/);
  });

  test('npm run score refuses a malformed --limits in one line', () => {
    const result = run('score-cli.ts', [
      '--csv',
      'x.csv',
      '--features',
      'a',
      '--limits',
      'a=80:40',
      '--out',
      'y',
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/"a=80:40" is not FEATURE=LOW:HIGH/);
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

  test('npm run evaluate --dataset nab says where the data should be when it is absent', () => {
    const result = run('evaluate-cli.ts', ['--dataset', 'nab', '--nab-dir', join(dir, 'no-nab-here')]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^evaluate: the NAB data is not here: .*no-nab-here has no data\//);
  });

  test('npm run evaluate --dataset nab --json reports shipped and optimised scores per NAB profile, and files', () => {
    // A corpus of one file: a flat noisy series with a jump inside its one window.
    const root = join(dir, 'nab');
    mkdirSync(join(root, 'data', 'synthetic'), { recursive: true });
    mkdirSync(join(root, 'labels'), { recursive: true });
    const time = (i: number) =>
      new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    let seed = 7;
    const noise = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31 - 0.5;
    };
    const rows = ['timestamp,value'];
    for (let i = 0; i < 2_000; i++) rows.push(`${time(i)},${(i >= 1_500 ? 80 : 50) + 2 * noise()}`);
    writeFileSync(join(root, 'data', 'synthetic', 'jump.csv'), `${rows.join('\n')}\n`);
    writeFileSync(
      join(root, 'labels', 'combined_windows.json'),
      JSON.stringify({ 'synthetic/jump.csv': [[`${time(1_450)}.000000`, `${time(1_550)}.000000`]] }),
    );

    const result = run('evaluate-cli.ts', ['--dataset', 'nab', '--nab-dir', root, '--json']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    for (const part of [report.shipped, report.optimised]) {
      expect(Object.keys(part)).toEqual(
        expect.arrayContaining(['threshold', 'standard', 'reward_low_FP_rate', 'reward_low_FN_rate']),
      );
    }
    expect(report.shipped.threshold).toBe(0.5);
    // The jump is found early in its window, and nothing else is flagged: near a perfect score.
    expect(report.shipped.standard).toBeGreaterThan(80);
    expect(report.files).toEqual([
      expect.objectContaining({
        name: 'synthetic/jump.csv',
        rows: 2_000,
        windows: 1,
        detected: 1,
        falsePositives: 0,
      }),
    ]);
  });
});
