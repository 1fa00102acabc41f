import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsvDataset } from '../../ml/csv-dataset';
import { evaluateCsv } from '../../ml/evaluate';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'csv-evaluation-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 1 Hz recording of two sensors; from row 700 to 899 the pressure sits 30% higher (labelled 1). */
function recording(file: string): string {
  const rows = ['datetime;pressure;temperature;anomaly'];
  let seed = 7;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  for (let i = 0; i < 1_200; i++) {
    const anomalous = i >= 700 && i < 900;
    const time = new Date(Date.UTC(2020, 1, 8, 13, 0, 0) + i * 1000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
    const pressure = (anomalous ? 1.3 : 1) * (2 + 0.05 * noise());
    rows.push(`${time};${pressure.toFixed(4)};${(60 + noise()).toFixed(3)};${anomalous ? '1.0' : '0.0'}`);
  }
  const path = join(dir, file);
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

describe('evaluating any labelled CSV', () => {
  test('a level shift in one column is found: high F1, low false alarm rate', () => {
    const file = recording('shift.csv');
    const evaluation = evaluateCsv(
      file,
      { features: ['pressure', 'temperature'], label: 'anomaly', timestamp: 'datetime', delimiter: ';' },
      400,
    );

    expect(evaluation.detector.readings).toBe(800);
    expect(evaluation.detector.anomalous).toBe(200);
    expect(evaluation.detector.f1).toBeGreaterThan(0.9);
    expect(evaluation.detector.far).toBeLessThan(5);
  });

  test('the CSV reader reports a missing column and a non-numeric cell with where they are', () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'time,a\n2020-01-01 00:00:00,1\n2020-01-01 00:00:01,oops\n');

    expect(() => readCsvDataset(file, { features: ['b'], delimiter: ',' })).toThrow(
      /no column "b" \(columns: time, a\)/,
    );
    expect(() => readCsvDataset(file, { features: ['a'], delimiter: ',' })).toThrow(
      /bad\.csv, row 3: a is not a number: "oops"/,
    );
  });

  test('a key column splits the rows into one stream per equipment, each ordered by time', () => {
    const file = join(dir, 'lake.csv');
    writeFileSync(
      file,
      'equipment_id,timestamp,v,is_anomaly\n102,2026-11-23T19:00:02Z,3,false\n101,2026-11-23T19:00:01Z,2,true\n101,2026-11-23T19:00:00Z,1,false\n',
    );
    const dataset = readCsvDataset(file, {
      features: ['v'],
      key: 'equipment_id',
      timestamp: 'timestamp',
      label: 'is_anomaly',
      delimiter: ',',
    });

    expect(dataset.streams.map((s) => [s.key, Array.from(s.values), Array.from(s.labels ?? [])])).toEqual([
      ['102', [3], [0]],
      ['101', [1, 2], [0, 255]],
    ]);
    expect(readFileSync(file, 'utf8')).toContain('is_anomaly');
  });
});
