import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { toSnapshot } from '../../dashboard/aggregate';
import { type DashboardServer, startDashboardServer } from '../../dashboard/server';
import type {
  AlertSummary,
  DashboardSnapshot,
  DashboardSource,
  MinuteSummary,
} from '../../dashboard/snapshot';
import { windowCounters } from '../../dashboard/table-source';
import { FEATURES } from '../../lambdas/shared/features';
import type { ReadingRow } from '../../lambdas/shared/processed-reading';
import type { EquipmentId } from '../../lambdas/shared/reading';
import { LAB_SCHEMA, parseReadingSchema, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import {
  chromiumMissing,
  type DashboardView,
  launchChromium,
  readDashboard,
  waitForDashboard,
} from './browser';
import {
  BASELINE,
  hotReading,
  POWER_METER_SCHEMA,
  readingRow,
  SKAB_SCHEMA,
  schemaRow,
  typicalValues,
} from './rows';

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

const chartOf = (view: DashboardView, equipmentId: EquipmentId, feature: string) =>
  view.charts.find((chart) => chart.equipmentId === equipmentId && chart.feature === feature);

/** A window of readings that does not move: another schema's, built once. */
function staticSource(
  schema: ReadingSchema,
  rows: ReadingRow[],
  alerts: AlertSummary[],
  endMs: number,
  minutes?: MinuteSummary[],
): DashboardSource {
  const window = { fromMs: endMs - WINDOW_MS, toMs: endMs };
  return {
    snapshot: async () =>
      toSnapshot({
        target: 'local',
        rows,
        window,
        alerts,
        counters: windowCounters(rows, alerts, window),
        ...(minutes ? { minutes } : {}),
        schema,
      }),
  };
}

/** Readings of each equipment every 500 ms over 150 s, each feature on its own slow curve. */
function schemaRows(
  schema: ReadingSchema,
  equipment: readonly EquipmentId[],
  endMs: number,
  valuesAt: (
    equipmentId: EquipmentId,
    t: number,
    values: Record<string, number>,
  ) => Record<string, number> = (_id, _t, values) => values,
): ReadingRow[] {
  const rows: ReadingRow[] = [];
  const typical = typicalValues(schema);
  for (let t = endMs - 150_000; t < endMs; t += 500) {
    equipment.forEach((equipmentId, e) => {
      const values = Object.fromEntries(
        schema.features.map((feature, f) => {
          const spread = feature.simulation?.noise ?? (feature.max - feature.min) / 100;
          const wave =
            spread *
            (2 * Math.sin((2 * Math.PI * t) / (40_000 + f * 9_000) + e + f) +
              0.5 * Math.sin(t / (700 + f * 60) + e));
          return [feature.name, typical[feature.name] + wave];
        }),
      );
      rows.push(schemaRow(equipmentId, t, valuesAt(equipmentId, t, values)));
    });
  }
  return rows;
}

/** A schema of `count` features named f1, f2, ..., with made-up units. */
function schemaOf(count: number): ReadingSchema {
  return parseReadingSchema({
    formatVersion: 1,
    name: `wide-${count}`,
    version: '1',
    equipment: { field: 'machine', type: 'string' },
    features: Array.from({ length: count }, (_, i) => ({
      name: `f${i + 1}`,
      label: `sensor ${i + 1}`,
      unit: ['bar', 'mm/s', '°C', 'A'][i % 4],
      min: 0,
      max: 1_000,
      simulation: { base: 100 + i * 10, noise: 2 + (i % 5) },
    })),
  });
}

/** A y tick label: a number, then the unit ("1,004 Hz", "60 °C", "30%"). */
function unitPattern(unit: string): RegExp {
  const escaped = unit.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^-?[\\d,.]+${unit === '' ? '' : unit === '%' ? '%' : ` ${escaped}`}$`);
}

interface Box {
  x: number;
  y: number;
}

/** How an equipment's charts are laid out: the distinct columns and rows their boxes fall in. */
async function chartGrid(page: Page, equipmentId: EquipmentId): Promise<{ columns: number; rows: number }> {
  const boxes = await page
    .locator(`.chart[data-equipment="${equipmentId}"]`)
    .evaluateAll((nodes: { getBoundingClientRect(): Box }[]) =>
      nodes.map((node) => {
        const box = node.getBoundingClientRect();
        return { x: Math.round(box.x), y: Math.round(box.y) };
      }),
    );
  return { columns: new Set(boxes.map((b) => b.x)).size, rows: new Set(boxes.map((b) => b.y)).size };
}

async function chartTitles(page: Page, equipmentId: EquipmentId): Promise<string[]> {
  return page
    .locator(`.chart[data-equipment="${equipmentId}"] .u-title`)
    .evaluateAll((nodes: { textContent: string | null }[]) => nodes.map((node) => node.textContent ?? ''));
}

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
        for (const feature of LAB_SCHEMA.features)
          expect(chartOf(first, equipmentId, feature.name)).toEqual({
            equipmentId,
            feature: feature.name,
            label: feature.label,
            unit: feature.unit,
            yTicks: expect.arrayContaining([expect.stringMatching(unitPattern(feature.unit))]),
            points: source.binsOf(equipmentId),
            anomalyPoints: 0,
          });
      }
      expect(first.charts.map((chart) => chart.feature)).toEqual(EQUIPMENT.flatMap(() => [...FEATURES]));
      // Four charts to a row, titled as before the schema was declared.
      expect(await chartGrid(page, 101)).toEqual({ columns: 4, rows: 1 });
      expect(await chartTitles(page, 101)).toEqual([
        'Vibration amplitude',
        'Vibration frequency',
        'Temperature',
        'Humidity',
      ]);
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

    test("another schema's page: a chart per feature (8 for SKAB's pump), four to a row, labels and units from the schema, string ids", async () => {
      const endMs = Date.now() - 5_000;
      const anomalyMs = endMs - 30_000;
      const rows = schemaRows(SKAB_SCHEMA, ['pump-2', 'pump-1'], endMs).map((row) =>
        row.equipment_id === 'pump-1' && row.timestamp === iso(anomalyMs)
          ? {
              ...row,
              temperature: 121,
              anomaly_score: 0.99,
              is_anomaly: true,
              anomalous_features: 'temperature',
              reasons: 'motor temperature 121 °C over its limit 110 °C',
            }
          : row,
      );
      const alert: AlertSummary = {
        startedMs: anomalyMs,
        equipmentId: 'pump-1',
        subject: 'Anomaly on equipment pump-1: motor temperature 121 °C over its limit 110 °C',
        severity: 'high',
        features: ['temperature'],
        episodeId: `pump-1-${anomalyMs}`,
      };
      const minuteMs = Math.floor(endMs / 60_000) * 60_000;
      const minutes: MinuteSummary[] = ['pump-1', 'pump-2'].map((equipmentId) => ({
        minuteMs,
        equipmentId,
        count: 120,
        late: 0,
        anomalies: 0,
        means: typicalValues(SKAB_SCHEMA),
      }));
      const server = await serve(staticSource(SKAB_SCHEMA, rows, [alert], endMs, minutes));
      await page.goto(server.url);

      const view = await waitForDashboard(
        page,
        (v) => v.charts.length === 16 && v.charts.every((c) => c.points > 0) && v.alerts.length === 1,
      );

      expect(view.charts.map((chart) => [chart.equipmentId, chart.feature])).toEqual(
        ['pump-1', 'pump-2'].flatMap((id) => SKAB_SCHEMA.featureNames.map((name) => [id, name])),
      );
      for (const chart of view.charts) {
        const feature = SKAB_SCHEMA.features.find((f) => f.name === chart.feature);
        expect(chart).toMatchObject({ label: feature?.label, unit: feature?.unit });
        expect(chart.yTicks.length).toBeGreaterThan(0);
        for (const tick of chart.yTicks) expect(tick).toMatch(unitPattern(feature?.unit ?? ''));
        const marked = chart.equipmentId === 'pump-1' && chart.feature === 'temperature';
        expect(chart.anomalyPoints).toBe(marked ? 1 : 0);
      }
      expect(await chartTitles(page, 'pump-1')).toEqual([
        'Accelerometer 1 RMS',
        'Accelerometer 2 RMS',
        'Motor current',
        'Pressure',
        'Motor temperature',
        'Fluid temperature',
        'Motor voltage',
        'Flow rate',
      ]);
      for (const id of ['pump-1', 'pump-2'])
        expect(await chartGrid(page, id)).toEqual({ columns: 4, rows: 2 });
      expect(view.alerts).toEqual([
        {
          episodeId: `pump-1-${anomalyMs}`,
          equipmentId: 'pump-1',
          severity: 'high',
          text: expect.stringContaining('equipment pump-1'),
        },
      ]);
      expect(view.counters).toMatchObject({ equipment: 2, 'anomalous readings': 1 });
      expect(await page.locator('#schema').textContent()).toBe('schema skab-pump@1');
      expect(await page.locator('#schema-warning').isHidden()).toBe(true);
      // The per-minute table shows the mean of the feature chosen: the temperature, until another is.
      const lastCells = () =>
        page
          .locator('#minutes tbody tr td:last-child')
          .evaluateAll((cells: { textContent: string | null }[]) => cells.map((cell) => cell.textContent));
      expect(await page.locator('#minute-feature').inputValue()).toBe('temperature');
      expect(await lastCells()).toEqual(['89.50', '89.50']);
      await page.locator('#minute-feature').selectOption('accelerometer_1_rms');
      expect(await lastCells()).toEqual(['0.210', '0.210']);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-skab.png'), fullPage: true });
      // Nothing wider than the window: no sideways scrolling.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1600);
      expect(problems).toEqual([]);
    });

    test('an optional feature left out is a gap in its line, and a feature never sent an empty chart', async () => {
      // On a whole second, so the readings fill exactly 150 one-second bins.
      const endMs = Math.floor(Date.now() / 1_000) * 1_000 - 5_000;
      const gap = { fromMs: endMs - 100_000, toMs: endMs - 70_000 };
      const rows = schemaRows(POWER_METER_SCHEMA, ['feeder-01', 'feeder-02'], endMs, (id, t, values) =>
        id === 'feeder-02' || (t >= gap.fromMs && t < gap.toMs)
          ? { ...values, frequency_hz: Number.NaN }
          : values,
      );
      const server = await serve(staticSource(POWER_METER_SCHEMA, rows, [], endMs));
      await page.goto(server.url);

      const view = await waitForDashboard(page, (v) => v.charts.length === 8);

      const points = (id: string, feature: string) => chartOf(view, id, feature)?.points ?? 0;
      expect(points('feeder-01', 'power_kw')).toBe(150);
      // 30 s without the grid frequency: 30 one-second bins without a mean.
      expect(points('feeder-01', 'frequency_hz')).toBe(120);
      expect(points('feeder-02', 'power_kw')).toBe(150);
      expect(points('feeder-02', 'frequency_hz')).toBe(0);
      expect(chartOf(view, 'feeder-01', 'power_factor')?.yTicks).toEqual(
        expect.arrayContaining([expect.stringMatching(/^0\.\d+$/)]),
      );
      expect(chartOf(view, 'feeder-01', 'voltage_v')?.yTicks).toEqual(
        expect.arrayContaining([expect.stringMatching(/^\d+ V$/)]),
      );
      expect(chartOf(view, 'feeder-01', 'frequency_hz')).toMatchObject({
        label: 'grid frequency',
        unit: 'Hz',
      });
      expect(await chartGrid(page, 'feeder-01')).toEqual({ columns: 4, rows: 1 });

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-power-meter.png'), fullPage: true });
      expect(problems).toEqual([]);
    });

    test.each([
      [1, { columns: 1, rows: 1 }],
      [5, { columns: 3, rows: 2 }],
      [50, { columns: 6, rows: 9 }],
    ])('%i features are laid out in a grid of %o per equipment', async (count, grid) => {
      const schema = schemaOf(count);
      const endMs = Date.now() - 5_000;
      const server = await serve(staticSource(schema, schemaRows(schema, ['m-1', 'm-2'], endMs), [], endMs));
      await page.goto(server.url);

      const view = await waitForDashboard(
        page,
        (v) => v.charts.length === 2 * count && v.charts.every((c) => c.points > 0),
      );

      expect(view.charts.filter((c) => c.equipmentId === 'm-1').map((c) => c.feature)).toEqual(
        schema.featureNames,
      );
      expect(await chartGrid(page, 'm-1')).toEqual(grid);
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1600);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${count}-features.png`), fullPage: true });
      expect(problems).toEqual([]);
    });

    test('readings of features the schema does not declare: a warning says to start with the right schema', async () => {
      const endMs = Date.now() - 5_000;
      const rows = schemaRows(SKAB_SCHEMA, ['pump-1'], endMs);
      const server = await serve(staticSource(LAB_SCHEMA, rows, [], endMs));
      await page.goto(server.url);

      await waitForDashboard(page, (v) => v.charts.length === 4);

      const warning = page.locator('#schema-warning');
      expect(await warning.isVisible()).toBe(true);
      expect(await warning.textContent()).toContain('accelerometer_1_rms');
      expect(await warning.textContent()).toContain('--schema FILE');
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
