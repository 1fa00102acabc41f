import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { createDetector, parseDetectorModel } from '../../lambdas/shared/detector';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';

const ROOT = join(__dirname, '..', '..');
const SKAB_SCHEMA = join(ROOT, 'schemas', 'skab.json');
const METER_SCHEMA = join(ROOT, 'schemas', 'power-meter.yaml');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ml-schema-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join('ml', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
}

const SKAB_HEADER = [
  'datetime',
  'Accelerometer1RMS',
  'Accelerometer2RMS',
  'Current',
  'Pressure',
  'Temperature',
  'Thermocouple',
  'Voltage',
  'Volume Flow RateRMS',
  'anomaly',
];

/**
 * A SKAB-like recording (its header names, `;` delimited, 1 Hz): the pump's motor temperature sits
 * near 89.5 °C, and from row `hotFrom` at 115 °C, over the schema's absolute limit of 110 °C.
 */
function skabCsv(file: string, rows: number, hotFrom: number, header = SKAB_HEADER): string {
  const draw = noise(5);
  const lines = [header.join(';')];
  for (let i = 0; i < rows; i++) {
    const hot = i >= hotFrom;
    const time = new Date(Date.UTC(2020, 2, 9, 10, 0, 0) + i * 1000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
    const values = [0.21, 0.27, 2.4, 0.1, hot ? 115 : 89.5, 28.5, 228.6, 125].map((base) =>
      (base * (1 + 0.01 * draw())).toFixed(4),
    );
    const cells = [time, ...values, hot ? '1.0' : '0.0'];
    lines.push(header.map((column) => cells[SKAB_HEADER.indexOf(column)]).join(';'));
  }
  const path = join(dir, file);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const SKAB_ARGS = ['--schema', SKAB_SCHEMA, '--timestamp', 'datetime', '--delimiter', ';'];

function scoredRows(out: string): string[][] {
  return parse(readFileSync(out, 'utf8'));
}

describe('the ML commands with a reading schema', () => {
  test('score --schema reads the features from their source columns and explains them with the schema’s labels, units and limits', () => {
    const input = skabCsv('skab.csv', 900, 700);
    const out = join(dir, 'skab-scores.csv');
    const result = run('score-cli.ts', ['--csv', input, ...SKAB_ARGS, '--train-rows', '300', '--out', out]);

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/900 rows scored/);
    const rows = scoredRows(out);
    expect(rows[0]).toEqual(['stream', 'timestamp', 'score', 'is_anomaly', 'anomalous_features', 'reasons']);
    expect(rows).toHaveLength(1 + 900);
    expect(rows[1][1]).toBe('2020-03-09 10:00:00');
    const hot = rows.slice(1 + 700);
    // The schema's limit (temperature high 110) never adapts: every hot reading stays flagged, named by
    // the schema's feature name and explained with its label and unit.
    expect(hot.every((row) => row[3] === 'true' && row[4].split('; ').includes('temperature'))).toBe(true);
    expect(hot[hot.length - 1][5]).toMatch(/^motor temperature 11\d(\.\d+)? °C over its limit 110 °C/);
    expect(rows.slice(1).some((row) => row[5].includes('Temperature'))).toBe(false);
  });

  test('score --limits wins over the schema’s limits, feature by feature', () => {
    const input = skabCsv('skab-limits.csv', 900, 700);
    const out = join(dir, 'skab-limits-scores.csv');
    const result = run('score-cli.ts', [
      '--csv',
      input,
      ...SKAB_ARGS,
      '--limits',
      'temperature=:120',
      '--train-rows',
      '300',
      '--out',
      out,
    ]);

    expect(result.stderr).toBe('');
    const hot = scoredRows(out).slice(1 + 700);
    // No absolute limit is broken now: the lasting change is flagged at its onset, then learnt.
    expect(hot[0][3]).toBe('true');
    expect(hot[0][5]).toMatch(/^motor temperature /);
    expect(hot[hot.length - 1][3]).toBe('false');
  });

  test('train --schema writes a model of the schema’s features, which score --model and the schema’s detector load', () => {
    const normal = skabCsv('skab-normal.csv', 600, 600);
    const model = join(dir, 'skab-model.json');
    const trained = run('train-cli.ts', ['--input', normal, ...SKAB_ARGS, '--plant', '--out', model]);

    expect(trained.stderr).toBe('');
    const artifact = parseDetectorModel(JSON.parse(readFileSync(model, 'utf8')));
    const schema = loadReadingSchema(SKAB_SCHEMA);
    expect(artifact.features).toEqual(schema.featureNames);
    expect(artifact.modelVersion).toMatch(/^regime-level-skab-pump-/);
    expect(artifact.training.notes).toContain('skab-pump@1');
    expect(artifact.training.rows).toBe(600);
    expect(() => createDetector(artifact, {}, schema)).not.toThrow();

    // With the schema's limit lifted, the trained band is what keeps the hot level flagged.
    const input = skabCsv('skab-scored.csv', 900, 700);
    const out = join(dir, 'skab-model-scores.csv');
    const scored = run('score-cli.ts', [
      '--csv',
      input,
      ...SKAB_ARGS,
      '--model',
      model,
      '--limits',
      'Temperature=:200',
      '--out',
      out,
    ]);
    expect(scored.stderr).toBe('');
    expect(scored.stdout).toContain(`detector ${artifact.modelVersion}+adaptive-1`);
    const hot = scoredRows(out).slice(1 + 700);
    expect(hot.filter((row) => row[3] === 'true').length).toBeGreaterThan(150);
    expect(hot[hot.length - 1][5]).toMatch(/^motor temperature \+2\d% over baseline/);
  });

  test('a schema feature whose source column is missing is named, with the column, in one line', () => {
    const header = SKAB_HEADER.filter((column) => column !== 'Volume Flow RateRMS');
    const input = skabCsv('skab-missing.csv', 50, 50, header);
    for (const [script, args] of [
      ['score-cli.ts', ['--csv', input, '--out', join(dir, 'never.csv')]],
      ['train-cli.ts', ['--input', input, '--out', join(dir, 'never.json')]],
      ['evaluate-cli.ts', ['--csv', input, '--label', 'anomaly']],
    ] as const) {
      const result = run(script, [...args, ...SKAB_ARGS]);
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toMatch(
        /^\w+: .*skab-missing\.csv: no column "Volume Flow RateRMS" or "volume_flow_rate_rms" for the feature volume_flow_rate_rms of .*skab\.json \(columns: datetime, Accelerometer1RMS/,
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  test('CSV-lake columns (the schema’s names): key and timestamp default to its fields, an optional feature may be empty', () => {
    const draw = noise(9);
    const lines = ['meter,time,power_kw,voltage_v,power_factor,frequency_hz'];
    for (let i = 0; i < 500; i++) {
      for (const meter of ['feeder-01', 'feeder-02']) {
        const time = new Date(Date.UTC(2026, 10, 23, 19, 0, 0) + i * 1000).toISOString();
        const voltage = meter === 'feeder-02' && i === 450 ? 450 : 400 + 2 * draw();
        const frequency = i % 10 === 3 ? '' : (50 + 0.02 * draw()).toFixed(3);
        lines.push(
          `${meter},${time},${(320 + 15 * draw()).toFixed(1)},${voltage.toFixed(1)},${(0.93 + 0.01 * draw()).toFixed(3)},${frequency}`,
        );
      }
    }
    const input = join(dir, 'meters.csv');
    writeFileSync(input, `${lines.join('\n')}\n`);

    const out = join(dir, 'meter-scores.csv');
    const result = run('score-cli.ts', ['--csv', input, '--schema', METER_SCHEMA, '--out', out]);
    expect(result.stderr).toBe('');
    const rows = scoredRows(out);
    expect(rows[0][0]).toBe('meter');
    expect(rows).toHaveLength(1 + 1_000);
    const spike = rows.find((row) => row[0] === 'feeder-02' && row[1] === '2026-11-23T19:07:30.000Z');
    expect(spike?.[3]).toBe('true');
    expect(spike?.[5]).toContain('voltage 450 V over its limit 440 V');

    const model = join(dir, 'meter-model.json');
    const trained = run('train-cli.ts', ['--input', input, '--schema', METER_SCHEMA, '--out', model]);
    expect(trained.stderr).toBe('');
    const artifact = parseDetectorModel(JSON.parse(readFileSync(model, 'utf8')));
    expect(artifact.features).toEqual(['power_kw', 'voltage_v', 'power_factor', 'frequency_hz']);
    for (const p of artifact.parameters)
      expect(Number.isFinite(p.levelLow + p.levelHigh + p.noiseStd)).toBe(true);
  });

  test('evaluate --csv --schema: the schema’s features, or those --features picks by name or source column', () => {
    const input = skabCsv('skab-evaluate.csv', 900, 700);
    for (const features of [[], ['--features', 'Temperature,current']]) {
      const result = run('evaluate-cli.ts', [
        '--csv',
        input,
        ...SKAB_ARGS,
        '--label',
        'anomaly',
        ...features,
        '--json',
      ]);
      expect(result.stderr).toBe('');
      const evaluation = JSON.parse(result.stdout);
      expect(evaluation.detector.readings).toBe(500);
      // The schema's limit holds the hot level flagged to its end.
      expect(evaluation.detector.recall).toBe(1);
    }
  });

  test('train --schema refuses a feature the schema does not declare (its model could not deploy with it)', () => {
    const input = skabCsv('skab-other.csv', 50, 50);
    const result = run('train-cli.ts', [
      '--input',
      input,
      ...SKAB_ARGS,
      '--features',
      'Temperature,anomaly',
      '--out',
      join(dir, 'never.json'),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^train: --features names anomaly, which .*skab\.json does not declare \(its features, by name or source column: accelerometer_1_rms or "Accelerometer1RMS", /,
    );
  });

  test('evaluate --schema is for --csv only', () => {
    const result = run('evaluate-cli.ts', ['--dataset', 'skab', '--schema', SKAB_SCHEMA]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'evaluate: --schema applies to --csv FILE (the simulator, SKAB and NAB are read with their own columns)',
    );
  });
});
