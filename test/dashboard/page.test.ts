import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { toSnapshot } from '../../dashboard/aggregate';
import { type DashboardServer, startDashboardServer } from '../../dashboard/server';
import type { AlertSummary, DashboardSnapshot, DashboardSource } from '../../dashboard/snapshot';
import { windowCounters } from '../../dashboard/table-source';
import { FEATURES } from '../../lambdas/shared/features';
import type { ReadingRow } from '../../lambdas/shared/processed-reading';
import {
  chromiumMissing,
  type DashboardView,
  launchChromium,
  readDashboard,
  waitForDashboard,
} from './browser';
import { BASELINE, hotReading, readingRow } from './rows';

const EQUIPMENT = [101, 102, 103];
const WINDOW_MS = 180_000;
const READING_EVERY_MS = 250;
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

/**
 * A pipeline in miniature whose data moves on when the test says so: first two and a half minutes of
 * normal readings from three equipment; then twenty seconds more, with one anomalous temperature
 * reading on equipment 102 and the alert that opened its episode.
 */
class ChangingSource implements DashboardSource {
  /** The readings end 20 s ago at first, and now once advanced, as a live window does. */
  private endMs = Date.now() - 20_000;
  private readonly rows: ReadingRow[] = [];
  private readonly alerts: AlertSummary[] = [];
  readonly anomalyMs = this.endMs + 10_000;

  constructor() {
    this.addReadings(this.endMs - 150_000, this.endMs);
  }

  advance(): void {
    const from = this.endMs;
    this.endMs += 20_000;
    this.addReadings(from, this.endMs);
    const index = this.rows.findIndex(
      (row) => row.equipment_id === 102 && row.timestamp === iso(this.anomalyMs),
    );
    this.rows[index] = hotReading(102, this.anomalyMs);
    this.alerts.push({
      startedMs: this.anomalyMs,
      equipmentId: 102,
      subject: 'Anomaly on equipment 102: temperature +58% over baseline',
      severity: 'high',
      features: ['temperature'],
      episodeId: `102-${this.anomalyMs}`,
    });
  }

  async snapshot(): Promise<DashboardSnapshot> {
    const window = { fromMs: this.endMs - WINDOW_MS, toMs: this.endMs };
    return toSnapshot({
      target: 'local',
      rows: this.rows,
      window,
      alerts: [...this.alerts],
      counters: windowCounters(this.rows, this.alerts, window),
    });
  }

  binsOf(equipmentId: number): number {
    return new Set(
      this.rows.filter((row) => row.equipment_id === equipmentId).map((row) => row.timestamp.slice(0, 19)),
    ).size;
  }

  private addReadings(fromMs: number, toMs: number): void {
    for (let t = fromMs; t < toMs; t += READING_EVERY_MS) {
      for (const equipmentId of EQUIPMENT) this.rows.push(readingRow(equipmentId, t, wave(equipmentId, t)));
    }
  }
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** Smooth, different curves per equipment and feature, so the screenshot looks like sensors. */
function wave(equipmentId: number, t: number): Partial<ReadingRow> {
  const phase = (period: number, amplitude: number) =>
    amplitude * Math.sin((2 * Math.PI * t) / period + equipmentId) +
    (amplitude / 4) * Math.sin(t / 997 + equipmentId);
  return {
    vibration_amplitude: BASELINE.vibration_amplitude + (equipmentId - 102) * 8 + phase(40_000, 6),
    vibration_frequency: BASELINE.vibration_frequency + (equipmentId - 102) * 15 + phase(65_000, 12),
    temperature: BASELINE.temperature + (equipmentId - 102) * 2 + phase(90_000, 1.5),
    humidity: BASELINE.humidity + (equipmentId - 102) + phase(55_000, 2),
  };
}

const chartOf = (view: DashboardView, equipmentId: number, feature: string) =>
  view.charts.find((chart) => chart.equipmentId === equipmentId && chart.feature === feature);

// Skipped, and said so, only where Chromium is not installed; CI installs it.
if (chromiumMissing) console.warn(`dashboard page tests ${chromiumMissing}`);

(chromiumMissing ? describe.skip : describe)(
  `dashboard page in Chromium${chromiumMissing ? ` (${chromiumMissing})` : ''}`,
  () => {
    let browser: Browser;
    let page: Page;
    const servers: DashboardServer[] = [];
    const requests: string[] = [];
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });
    beforeEach(async () => {
      requests.length = 0;
      problems.length = 0;
      page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
      page.on('request', (request) => requests.push(request.url()));
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });
    });
    afterEach(async () => {
      await page.close();
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    async function serve(source: DashboardSource): Promise<DashboardServer> {
      const server = await startDashboardServer({ source });
      servers.push(server);
      return server;
    }

    test('charts every equipment, marks the anomaly, lists the alert and follows new data', async () => {
      const source = new ChangingSource();
      const server = await serve(source);
      await page.goto(server.url);

      const first = await waitForDashboard(
        page,
        (view) => view.charts.length === 12 && view.charts.every((c) => c.points > 0),
      );
      expect(first.waiting).toBe(false);
      for (const equipmentId of EQUIPMENT) {
        for (const feature of FEATURES)
          expect(chartOf(first, equipmentId, feature)).toEqual({
            equipmentId,
            feature,
            points: source.binsOf(equipmentId),
            anomalyPoints: 0,
          });
      }
      expect(first.alerts).toEqual([]);
      expect(first.counters).toEqual({
        'readings in window': 1_800,
        'anomalous readings': 0,
        equipment: 3,
        'alerts in window': 0,
      });

      source.advance();
      const second = await waitForDashboard(
        page,
        (view) => view.alerts.length > 0 && view.generatedAt !== first.generatedAt,
      );

      for (const chart of second.charts) {
        const before = chartOf(first, chart.equipmentId, chart.feature);
        expect(chart.points).toBeGreaterThan(before?.points ?? 0);
        // The anomalous reading is a marked point on its equipment's temperature chart, and only there.
        const marked = chart.equipmentId === 102 && chart.feature === 'temperature';
        expect(chart.anomalyPoints).toBe(marked ? 1 : 0);
      }
      expect(second.alerts).toEqual([
        {
          episodeId: `102-${source.anomalyMs}`,
          equipmentId: 102,
          severity: 'high',
          text: expect.stringContaining('Anomaly on equipment 102: temperature +58% over baseline'),
        },
      ]);
      expect(second.counters).toMatchObject({ 'anomalous readings': 1, 'alerts in window': 1 });

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(requests.every((url) => url.startsWith(server.url))).toBe(true);
      expect(problems).toEqual([]);
    });

    test('says it is waiting for data while the window is empty', async () => {
      const empty: DashboardSource = {
        snapshot: async () => toSnapshot({ target: 'aws', rows: [], window: null, alerts: [], counters: [] }),
      };
      const server = await serve(empty);
      await page.goto(server.url);

      const view = await waitForDashboard(page, (v) => v.generatedAt !== undefined);

      expect(view).toMatchObject({ waiting: true, charts: [], alerts: [], counters: {} });
      expect(await page.locator('#waiting').textContent()).toContain('Waiting for data');
      expect(await page.locator('#alerts').textContent()).toContain('No alerts yet.');
      expect(await readDashboard(page)).toMatchObject({ waiting: true });
      expect(problems).toEqual([]);
    });
  },
);
