import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_ENDPOINTS_FILE } from '../../cli/targets';
import { type LocalRunOptions, runLocal } from '../../local/run';
import { chromiumMissing, launchChromium, readDashboard, waitForDashboard } from '../dashboard/browser';

const ROOT = join(__dirname, '..', '..');

function options(overrides: Partial<LocalRunOptions>): LocalRunOptions {
  return {
    rate: 10_000,
    seed: 1,
    badRatio: 0,
    dashboard: false,
    port: 0,
    quiet: true,
    // No .local/endpoints.json in the project folder: test files run side by side.
    endpointsDir: false,
    out: () => {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe('npm start, on the local stack', () => {
  test('nothing lost: --count 20000 --seed 1 stores every reading once in the CSV lake, DynamoDB and the archive', async () => {
    const report = await runLocal(options({ count: 20_000, seed: 1 }));

    expect(report).toMatchObject({
      sent: 20_000,
      valid: 20_000,
      csvRows: 20_000,
      dynamoReadings: 20_000,
      archivedReadings: 20_000,
      quarantined: 0,
      deadLettered: 0,
      problems: [],
    });
    expect(report?.anomalies).toBeGreaterThan(0);
    expect(report?.alerts).toBeGreaterThan(0);
    expect(report?.latencyMs.p99).toBeGreaterThan(0);
  });

  test('bad input: --bad-ratio 0.05 quarantines exactly the malformed readings injected and delivers every valid one', async () => {
    const report = await runLocal(options({ count: 20_000, seed: 7, badRatio: 0.05 }));

    expect(report?.malformedSent).toBe(1_000);
    expect(report).toMatchObject({
      quarantined: 1_000,
      valid: 19_000,
      csvRows: 19_000,
      dynamoReadings: 19_000,
      archivedReadings: 20_000,
      problems: [],
    });
  });

  test('the report file holds the contract fields, read back from the services', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    try {
      const file = join(dir, 'report.json');
      await runLocal(options({ count: 3_000, reportFile: file }));
      const report = JSON.parse(readFileSync(file, 'utf8'));
      for (const field of [
        'sent',
        'valid',
        'quarantined',
        'csvRows',
        'dynamoReadings',
        'archivedReadings',
        'anomalies',
        'alerts',
        'readingsPerSec',
      ]) {
        expect(typeof report[field]).toBe('number');
      }
      expect(report.latencyMs).toEqual({
        p50: expect.any(Number),
        p99: expect.any(Number),
        max: expect.any(Number),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm start, the command', () => {
  function start(args: string[]): {
    child: ChildProcess;
    output: () => string;
    exit: Promise<number | null>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (chunk) => {
      text += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      text += chunk;
    });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, output: () => text, exit };
  }

  async function waitForOutput(
    output: () => string,
    pattern: RegExp,
    timeoutMs = 60_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = output().match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  test('Ctrl-C stops everything within a few seconds, exit code 0, and removes the endpoints file', async () => {
    const run = start(['--rate', '2000', '--quiet']);
    await waitForOutput(run.output, /Dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    expect(existsSync(join(ROOT, LOCAL_ENDPOINTS_FILE))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const stoppedAt = Date.now();
    run.child.kill('SIGINT');
    const code = await run.exit;

    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(existsSync(join(ROOT, LOCAL_ENDPOINTS_FILE))).toBe(false);
  });

  test('a dashboard port already in use gives a clear message, not a stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = start(['--port', String(port), '--count', '1000']);
      const code = await run.exit;

      expect(code).toBe(1);
      expect(run.output()).toContain(`port ${port} is already in use`);
      expect(run.output()).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  test('bad arguments are refused with the rule they break', async () => {
    const run = start(['--bad-ratio', '2']);
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain('--bad-ratio must be between 0 and 1');
  });
});

(chromiumMissing ? describe.skip : describe)('the dashboard of npm start, in Chromium', () => {
  test('while data flows the charts hold points for every equipment, and an anomaly shows as a marked point and an alert', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const run = runLocal(
      options({
        rate: 3_000,
        seed: 1,
        dashboard: true,
        out: (line) => lines.push(line),
        signal: stop.signal,
      }),
    );
    const browser = await launchChromium();
    try {
      let url: string | undefined;
      while (!url) {
        url = lines.map((line) => /^Dashboard: (\S+)/.exec(line)?.[1]).find(Boolean);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
      await page.goto(url);
      const view = await waitForDashboard(
        page,
        (v) =>
          new Set(v.charts.filter((c) => c.points > 0).map((c) => c.equipmentId)).size === 3 &&
          v.charts.some((c) => c.anomalyPoints > 0) &&
          v.alerts.length > 0,
        60_000,
      );

      expect(view.charts).toHaveLength(12);
      expect(view.charts.every((chart) => chart.points > 0)).toBe(true);
      // The alerts are the alerter's episodes in the table, with every reason.
      expect(view.alerts[0].text).toMatch(/equipment \d+/);
      expect(await page.locator('#alerts .alert-reasons li').count()).toBeGreaterThan(0);
      // The detector's normal band, from the state the transform saved in the local table.
      await page.waitForSelector('.chart[data-normal]', { timeout: 60_000 });
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'dashboard-npm-start.png') });
      expect((await readDashboard(page)).counters['readings sent']).toBeGreaterThan(0);
      // The live per-minute windows are listed too.
      expect(await page.locator('#minutes tbody tr').count()).toBeGreaterThan(0);
    } finally {
      await browser.close();
      stop.abort();
      await run;
    }
  });
});
