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
  chartSpans,
  chromiumMissing,
  type DashboardView,
  launchChromium,
  readDashboard,
  scrollsSideways,
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
    .locator(`.chart[data-feature][data-equipment="${equipmentId}"]`)
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
    .locator(`.chart[data-feature][data-equipment="${equipmentId}"] .u-title`)
    .evaluateAll((nodes: { textContent: string | null }[]) => nodes.map((node) => node.textContent ?? ''));
}

interface DataNode {
  dataset: Record<string, string | undefined>;
}

/** An alert as a newer server sends it: when its episode ended, every reason, how many anomalies. */
type EpisodeAlert = AlertSummary & { endedMs: number; reasons: string[]; anomalyCount: number };

const RANGE_MS: Record<string, number> = {
  '3m': 180_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
};

/**
 * A realistic snapshot of a range as a newer server answers GET /api/snapshot?range=...: three lab
 * equipment (or the one asked for), an anomaly on 102, two alerts with their reasons, the minute table
 * filled; a range of an hour or more in one-minute bins.
 */
function rangedSnapshot(range: string, endMs: number, equipment: string | null = null): DashboardSnapshot {
  const spanMs = RANGE_MS[range] ?? RANGE_MS['3m'];
  const long = spanMs >= 3_600_000;
  const stepMs = long ? 30_000 : READING_EVERY_MS;
  const anomalyMs = endMs - spanMs + Math.floor((spanMs - 40_000) / stepMs) * stepMs;
  const ids = EQUIPMENT.filter((id) => equipment === null || String(id) === equipment);
  const rows: ReadingRow[] = [];
  for (let t = endMs - spanMs; t < endMs; t += stepMs) {
    for (const id of ids)
      rows.push(id === 102 && t === anomalyMs ? hotReading(102, t) : readingRow(id, t, wave(id, t)));
  }
  const episodes: EpisodeAlert[] = [
    {
      startedMs: anomalyMs,
      endedMs: anomalyMs + 20_000,
      equipmentId: 102,
      subject: 'Anomaly on equipment 102: temperature +58% over baseline',
      severity: 'high',
      features: ['temperature', 'humidity'],
      reasons: ['temperature +58% over baseline', 'humidity 12 % under baseline for 20 s'],
      anomalyCount: 7,
      episodeId: `102-${anomalyMs}`,
    },
    {
      startedMs: anomalyMs - 60_000,
      endedMs: anomalyMs - 45_000,
      equipmentId: 101,
      subject: 'Anomaly on equipment 101: vibration amplitude +31% over baseline',
      severity: 'medium',
      features: ['vibration_amplitude'],
      reasons: ['vibration amplitude +31% over baseline'],
      anomalyCount: 2,
      episodeId: `101-${anomalyMs - 60_000}`,
    },
  ];
  const alerts = episodes.filter((alert) => ids.includes(alert.equipmentId as number));
  const lastMinute = Math.floor(endMs / 60_000) * 60_000;
  const minutes: MinuteSummary[] = [0, 1, 2].flatMap((back) =>
    ids.map((equipmentId) => ({
      minuteMs: lastMinute - back * 60_000,
      equipmentId,
      count: 240,
      late: back === 0 ? 3 : 0,
      anomalies: equipmentId === 102 && back === 0 ? 1 : 0,
      means: { ...BASELINE },
    })),
  );
  const window = { fromMs: endMs - spanMs, toMs: endMs };
  return toSnapshot({
    target: 'local',
    rows,
    window,
    alerts,
    counters: windowCounters(rows, alerts, window),
    minutes,
    ...(long ? { binMs: 60_000 } : {}),
  });
}

interface FakeApi {
  snapshot?: (query: URLSearchParams) => unknown;
  alerts?: (query: URLSearchParams) => unknown;
}

/**
 * Answers the page's /api/ requests in the browser (Playwright's routing) as a server with the range,
 * alert history and CSV endpoints does; the real server still serves the page. Returns the API
 * requests made (path and query), in order.
 */
async function fakeApi(page: Page, api: FakeApi): Promise<string[]> {
  const calls: string[] = [];
  await page.route('**/api/**', async (route) => {
    const url = new URL(route.request().url());
    calls.push(`${url.pathname}${url.search}`);
    const answer =
      url.pathname === '/api/snapshot'
        ? api.snapshot
        : url.pathname === '/api/alerts'
          ? api.alerts
          : undefined;
    if (!answer) return route.fulfill({ status: 404, contentType: 'text/plain', body: 'Not found' });
    return route.fulfill({ status: 200, json: answer(url.searchParams) });
  });
  return calls;
}

/** Reads the page until `done` holds; fails with what it last read after `timeoutMs`. */
async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not there in ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether every chart draws the same x range, of this length (within `tolerance` of it). */
function allSpan(spans: { min: number; max: number }[], lengthMs: number, tolerance = 0): boolean {
  return (
    spans.length > 0 &&
    spans.every((s) => s.min === spans[0].min && s.max === spans[0].max) &&
    Math.abs(spans[0].max - spans[0].min - lengthMs) <= tolerance * lengthMs
  );
}

/** Whether every chart's canvas fits its container (the charts followed the window's width). */
async function chartsFit(page: Page): Promise<boolean> {
  return (await page.evaluate(
    `[...document.querySelectorAll('.chart')].every((chart) => chart.querySelector('.uplot').offsetWidth <= chart.clientWidth)`,
  )) as boolean;
}

/** The page's background, as [r, g, b]. */
async function background(page: Page): Promise<number[]> {
  const color = (await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')) as string;
  return (color.match(/\d+/g) ?? []).slice(0, 3).map(Number);
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
            anomalyBins: [],
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

    test('every anomalous bin is marked, however many anomalous readings, and hovering one shows its reasons', async () => {
      // On a whole second: 180 one-second bins, four readings in each.
      const endMs = Math.floor(Date.now() / 1_000) * 1_000 - 5_000;
      const plateau = { fromMs: endMs - 150_000, toMs: endMs - 50_000 };
      const rows: ReadingRow[] = [];
      for (let t = endMs - WINDOW_MS; t < endMs; t += READING_EVERY_MS) {
        for (const equipmentId of [101, 102]) {
          const normal = wave(equipmentId, t);
          if (equipmentId === 101 && t >= plateau.fromMs && t < plateau.toMs)
            // 400 anomalous readings in a row: more than the page used to mark (the newest 300).
            rows.push(hotReading(101, t, 78));
          else if (equipmentId === 102 && t % 20_000 === 0)
            // Now and then one on another feature, and one naming none (it concerns every feature).
            rows.push(
              readingRow(102, t, {
                ...normal,
                vibration_frequency: 1400,
                anomaly_score: 0.9,
                is_anomaly: true,
                anomalous_features: t % 40_000 === 0 ? 'vibration_frequency' : '',
                reasons: 'vibration frequency +40% over baseline',
              }),
            );
          else rows.push(readingRow(equipmentId, t, normal));
        }
      }
      const source = staticSource(LAB_SCHEMA, rows, [], endMs);
      const expected = await source.snapshot();
      const server = await serve(source);
      await page.goto(server.url);

      const view = await waitForDashboard(
        page,
        (v) => v.charts.length === 8 && v.charts.every((c) => c.points > 0),
      );

      for (const chart of view.charts) {
        const series = expected.equipment.find((e) => e.equipmentId === chart.equipmentId);
        const anomalous = (series?.bins ?? [])
          .filter((bin) => (bin.anomalousFeatures?.[chart.feature] ?? 0) > 0)
          .map((bin) => bin.t);
        expect(chart.anomalyBins).toEqual(anomalous);
      }
      // The whole 100 s plateau, 400 readings, is marked: 100 bins; the other features of 101 none.
      expect(chartOf(view, 101, 'temperature')?.anomalyPoints).toBe(100);
      expect(chartOf(view, 101, 'humidity')?.anomalyPoints).toBe(0);
      expect(chartOf(view, 102, 'vibration_frequency')?.anomalyPoints).toBe(
        rows.filter((row) => row.equipment_id === 102 && row.is_anomaly).length,
      );
      expect(chartOf(view, 102, 'temperature')?.anomalyPoints).toBeGreaterThan(0);
      expect(await page.locator('#legend').textContent()).toContain('Red');

      // Hover the middle of the plateau on 101's temperature chart.
      const chart = page.locator('.chart[data-equipment="101"][data-feature="temperature"]');
      const over = await chart.locator('.u-over').boundingBox();
      if (!over) throw new Error('no plot area');
      const at = (plateau.fromMs + plateau.toMs) / 2 + 500;
      const x = over.x + ((at - (endMs - WINDOW_MS)) / WINDOW_MS) * over.width;
      await page.mouse.move(x, over.y + over.height / 2);
      const tooltip = chart.locator('.tooltip');
      await tooltip.waitFor({ state: 'visible' });
      const text = (await tooltip.textContent()) ?? '';
      expect(text).toContain('temperature +30% over baseline');
      expect(text).toContain('flagged: 4 anomalous');
      expect(text).toMatch(/temperature: 78\.00 ?°C/i);
      expect(text).toContain('score 0.97');
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-anomaly-bins.png'), fullPage: true });

      // A normal bin says so, with no reasons.
      await page.mouse.move(over.x + 0.97 * over.width, over.y + over.height / 2);
      await page.waitForFunction(
        `!document.querySelector('.chart[data-equipment="101"][data-feature="temperature"] .tooltip').textContent.includes('over baseline')`,
      );
      expect(await tooltip.textContent()).toContain('not flagged');
      expect(problems).toEqual([]);
    });

    test("the detector's normal band is shaded, the value range holds it, and hovering says it with the limits and threshold", async () => {
      const endMs = Math.floor(Date.now() / 1_000) * 1_000 - 5_000;
      const rows: ReadingRow[] = [];
      for (let t = endMs - WINDOW_MS; t < endMs; t += READING_EVERY_MS) {
        for (const equipmentId of [101, 102]) rows.push(readingRow(equipmentId, t, wave(equipmentId, t)));
      }
      const plain = staticSource(LAB_SCHEMA, rows, [], endMs);
      // Equipment 101's detector holds humidity normal in 20 to 24 % (the line runs near 29 %, above
      // it), with the schema's limits; 102's detector has saved no state yet.
      const humidity = { expected: 22, low: 20, high: 24, limitLow: 0, limitHigh: 100, threshold: 0.5 };
      const source: DashboardSource = {
        snapshot: async () => {
          const snapshot = await plain.snapshot();
          return {
            ...snapshot,
            equipment: snapshot.equipment.map((series) =>
              series.equipmentId === 101
                ? { ...series, normal: { atMs: endMs - 1_000, features: { humidity } } }
                : series,
            ),
          };
        },
      };
      const server = await serve(source);
      await page.goto(server.url);
      await waitForDashboard(page, (v) => v.charts.length === 8 && v.charts.every((c) => c.points > 0));

      const chart = page.locator('.chart[data-equipment="101"][data-feature="humidity"]');
      expect(await chart.getAttribute('data-normal')).toBe('20..24');
      expect(
        await page
          .locator('.chart[data-equipment="102"][data-feature="humidity"]')
          .getAttribute('data-normal'),
      ).toBeNull();
      expect(
        await page
          .locator('.chart[data-equipment="101"][data-feature="temperature"]')
          .getAttribute('data-normal'),
      ).toBeNull();
      // The value range drawn reaches down to the band, below every reading of the line.
      const yMin = Number(await chart.getAttribute('data-y-min'));
      const yMax = Number(await chart.getAttribute('data-y-max'));
      expect(yMin).toBeLessThanOrEqual(20);
      expect(yMax).toBeGreaterThan(28);
      const other = page.locator('.chart[data-equipment="102"][data-feature="humidity"]');
      expect(Number(await other.getAttribute('data-y-min'))).toBeGreaterThan(24);

      // The band is painted: the canvas is shaded at 21.3 % and not at 25.7 % (between band and line,
      // off the grid lines).
      const shadeAt = async (value: number) =>
        (await page.evaluate(`(() => {
          const chart = document.querySelector('.chart[data-equipment="101"][data-feature="humidity"]');
          const canvas = chart.querySelector('canvas');
          const over = chart.querySelector('.u-over').getBoundingClientRect();
          const box = canvas.getBoundingClientRect();
          const ratio = canvas.width / box.width;
          const x = (over.left - box.left + over.width * 0.1) * ratio;
          const y = (over.top - box.top + over.height * (1 - (${value} - ${yMin}) / (${yMax} - ${yMin}))) * ratio;
          return canvas.getContext('2d').getImageData(Math.round(x), Math.round(y), 1, 1).data[3];
        })()`)) as number;
      expect(await shadeAt(21.3)).toBeGreaterThan(0);
      expect(await shadeAt(25.7)).toBe(0);

      const over = await chart.locator('.u-over').boundingBox();
      if (!over) throw new Error('no plot area');
      await page.mouse.move(over.x + over.width / 2, over.y + over.height / 2);
      const tooltip = chart.locator('.tooltip');
      await tooltip.waitFor({ state: 'visible' });
      const text = (await tooltip.textContent()) ?? '';
      expect(text).toMatch(/normal at \d\d:\d\d:\d\d: 20(\.0+)? ?% to 24(\.0+)? ?%/);
      expect(text).toMatch(/limits: 0(\.0+)? ?% to 100(\.0+)? ?%/);
      expect(text).toContain('flagged from score 0.50');
      expect(await page.locator('#legend').textContent()).toContain("the detector's normal band");
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-normal-band.png'), fullPage: true });

      // Under each equipment its score lane: a point per bin, the threshold dashed where the detector
      // has it (101's saved normal), and a hover box with the bin's highest score against it.
      const lane = page.locator('.score-lane[data-equipment="101"]');
      expect(await lane.isVisible()).toBe(true);
      expect(Number(await lane.getAttribute('data-points'))).toBe(180);
      expect(await lane.getAttribute('data-threshold')).toBe('0.5');
      expect(
        await page.locator('.score-lane[data-equipment="102"]').getAttribute('data-threshold'),
      ).toBeNull();
      const threshold = await page.evaluate(`(() => {
        const lane = document.querySelector('.score-lane[data-equipment="101"]');
        const canvas = lane.querySelector('canvas');
        const over = lane.querySelector('.u-over').getBoundingClientRect();
        const box = canvas.getBoundingClientRect();
        const ratio = canvas.width / box.width;
        const y = Math.round((over.top - box.top + over.height * 0.5) * ratio);
        const row = canvas.getContext('2d').getImageData(Math.round((over.left - box.left) * ratio), y - 1, Math.round(over.width * ratio), 3).data;
        let red = 0;
        for (let i = 0; i < row.length; i += 4) if (row[i] > 150 && row[i + 1] < 120 && row[i + 3] > 0) red++;
        return red;
      })()`);
      expect(threshold).toBeGreaterThan(20);
      const laneOver = await lane.locator('.u-over').boundingBox();
      if (!laneOver) throw new Error('no score plot area');
      await page.mouse.move(laneOver.x + laneOver.width * 0.3, laneOver.y + laneOver.height / 2);
      await lane.locator('.tooltip').waitFor({ state: 'visible' });
      expect(await lane.locator('.tooltip').textContent()).toMatch(
        /highest score 0\.\d\d of 4 readings0 flagged \(from score 0\.50\)/,
      );
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

    test('fits 1,920, 1,440 and 390 px wide without scrolling sideways, in light and dark, the alerts with all their reasons', async () => {
      const endMs = Date.now() - 5_000;
      const server = await serve(staticSource(LAB_SCHEMA, [], [], endMs));
      await fakeApi(page, { snapshot: (query) => rangedSnapshot(query.get('range') ?? '3m', endMs) });
      await page.setViewportSize({ width: 1_440, height: 1_000 });
      await page.goto(server.url);
      await waitForDashboard(page, (v) => v.charts.length === 12 && v.charts.every((c) => c.points > 0));
      expect(await page.locator('#minutes tbody tr').count()).toBe(9);

      // The alerts: severity, start and end, every reason, the equipment linked to its page.
      const alert = page.locator('#alerts li[data-episode-id^="102-"]');
      const text = (await alert.textContent()) ?? '';
      expect(text).toContain('high');
      expect(text).toContain('temperature +58% over baseline');
      expect(text).toContain('humidity 12 % under baseline for 20 s');
      expect(text).toMatch(/\d\d:\d\d:\d\d – .*\d\d:\d\d:\d\d/);
      expect(text).toContain('7 anomalous readings');
      expect(await alert.locator('a').getAttribute('href')).toBe('#/equipment/102');

      mkdirSync(ARTIFACTS, { recursive: true });
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.locator(`#equipment[data-scheme="${scheme}"]`).waitFor({ state: 'attached' });
        for (const width of [1_920, 1_440, 390]) {
          await page.setViewportSize({ width, height: 1_000 });
          await waitUntil(() => chartsFit(page), Boolean);
          expect(await scrollsSideways(page)).toBe(false);
          // The minute table stays inside its card.
          const [card, table] = await Promise.all([
            page.locator('aside').boundingBox(),
            page.locator('.table-scroll').boundingBox(),
          ]);
          expect((table?.x ?? 0) + (table?.width ?? 0)).toBeLessThanOrEqual(
            (card?.x ?? 0) + (card?.width ?? 0),
          );
          await page.screenshot({
            path: join(ARTIFACTS, `dashboard-${scheme}-${width}.png`),
            fullPage: true,
          });
        }
        // Zoomed to under a minute: time labels with seconds, none cut at the chart's edges.
        const chart = page.locator('.chart[data-equipment="101"][data-feature="temperature"]');
        const over = await chart.locator('.u-over').boundingBox();
        if (!over) throw new Error('no plot area');
        await page.mouse.move(over.x + over.width * 0.5, over.y + 20);
        await page.mouse.down();
        await page.mouse.move(over.x + over.width * 0.8, over.y + 20, { steps: 5 });
        await page.mouse.up();
        await waitUntil(
          () => chartSpans(page),
          (spans) => allSpan(spans, 54_000, 0.1),
        );
        await page.mouse.move(0, 0);
        await chart.screenshot({ path: join(ARTIFACTS, `dashboard-${scheme}-390-zoomed-chart.png`) });
        await page.locator('#reset-zoom').click();
        const [r, g, b] = await background(page);
        const luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
        if (scheme === 'dark') expect(luminance).toBeLessThan(0.2);
        else expect(luminance).toBeGreaterThan(0.8);
      }
      expect(problems).toEqual([]);
    });

    test('a time range to choose, drag to zoom every chart, reset, pause and resume, CSV of the span shown', async () => {
      const endMs = Date.now() - 5_000;
      const server = await serve(staticSource(LAB_SCHEMA, [], [], endMs));
      const calls = await fakeApi(page, {
        snapshot: (query) => rangedSnapshot(query.get('range') ?? '3m', endMs),
      });
      await page.goto(server.url);
      await waitForDashboard(page, (v) => v.charts.length === 12 && v.charts.every((c) => c.points > 0));
      expect(calls[0]).toBe('/api/snapshot?range=3m');
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 180_000),
      );

      await page.locator('#range').selectOption('1h');
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 3_600_000),
      );
      expect(calls).toContain('/api/snapshot?range=1h');
      expect(await page.locator('#window').textContent()).toContain('(1 h, 1 min bins)');

      // Drag over a quarter of one chart: every chart shows that quarter.
      const over = await page
        .locator('.chart[data-equipment="101"][data-feature="temperature"] .u-over')
        .boundingBox();
      if (!over) throw new Error('no plot area');
      const y = over.y + over.height / 2;
      await page.mouse.move(over.x + over.width * 0.25, y);
      await page.mouse.down();
      await page.mouse.move(over.x + over.width * 0.4, y, { steps: 5 });
      await page.mouse.move(over.x + over.width * 0.5, y, { steps: 5 });
      await page.mouse.up();
      const zoomed = await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 900_000, 0.03),
      );
      expect(zoomed[0].min).toBeGreaterThan(endMs - 3_600_000);
      expect(await page.locator('#zoom').isVisible()).toBe(true);
      // The CSV export asks for the span shown.
      const href =
        (await page.locator('.equipment[data-equipment="102"] a.export').getAttribute('href')) ?? '';
      const query = new URL(href, server.url).searchParams;
      expect(new URL(href, server.url).pathname).toBe('/api/readings.csv');
      expect(query.get('equipment')).toBe('102');
      expect(Date.parse(query.get('from') ?? '')).toBe(zoomed[0].min);
      expect(Date.parse(query.get('to') ?? '')).toBe(zoomed[0].max);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-zoomed.png'), fullPage: true });

      // The zoom stays through a refresh; "Reset zoom" goes back to the hour, as does a double-click.
      await page.locator('#reset-zoom').click();
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 3_600_000),
      );
      expect(await page.locator('#zoom').isVisible()).toBe(false);
      await page.mouse.move(over.x + over.width * 0.6, y);
      await page.mouse.down();
      await page.mouse.move(over.x + over.width * 0.7, y, { steps: 5 });
      await page.mouse.up();
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 360_000, 0.05),
      );
      await page.mouse.dblclick(over.x + over.width * 0.5, y);
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 3_600_000),
      );

      // A day's range crosses midnight: that tick names its day, the others stay times of day.
      await page.locator('#range').selectOption('24h');
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 86_400_000),
      );
      const dayTicks = (
        (await page
          .locator('.chart[data-equipment="101"][data-feature="temperature"]')
          .getAttribute('data-x-ticks')) ?? ''
      ).split('|');
      expect(dayTicks.filter((tick) => /^[A-Z][a-z]+ \d{1,2}$/.test(tick))).toHaveLength(1);
      expect(dayTicks.filter((tick) => /^\d\d:\d\d$/.test(tick)).length).toBeGreaterThan(0);

      // Paused, the page asks for nothing more and says so; resumed, it polls again.
      await page.locator('#range').selectOption('3m');
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 180_000),
      );
      await page.locator('#pause').click();
      expect(await page.locator('#status').textContent()).toBe('paused');
      const before = calls.length;
      await page.waitForTimeout(3_500);
      expect(calls.length).toBe(before);
      expect(await page.locator('#pause').textContent()).toBe('Resume');
      await page.locator('#pause').click();
      await waitUntil(
        async () => calls.length,
        (count) => count > before,
      );
      await waitUntil(
        async () => (await page.locator('#status').textContent()) ?? '',
        (text) => text.startsWith('updated'),
      );
      expect(problems).toEqual([]);
    });

    test("an equipment's own page: its charts larger, its alert history page by page, and back", async () => {
      const endMs = Date.now() - 5_000;
      const server = await serve(staticSource(LAB_SCHEMA, [], [], endMs));
      const history = (page: number) =>
        Array.from({ length: page === 3 ? 1 : 2 }, (_, i) => {
          const startedMs = endMs - (page * 2 + i) * 600_000;
          return {
            equipmentId: 102,
            episodeId: `102-${startedMs}`,
            startedMs,
            endedMs: page === 1 && i === 0 ? null : startedMs + 90_000,
            severity: i === 0 ? 'high' : 'low',
            subject: `Anomaly on equipment 102 (page ${page})`,
            features: ['temperature'],
            reasons: [`temperature +${40 + page * 2 + i}% over baseline`, `humidity low (page ${page})`],
            anomalyCount: 3 + i,
          };
        });
      const calls = await fakeApi(page, {
        snapshot: (query) => rangedSnapshot(query.get('range') ?? '3m', endMs, query.get('equipment')),
        alerts: (query) => {
          const number = Number(query.get('page') ?? 1);
          return { items: history(number), nextPage: number < 3 ? number + 1 : null };
        },
      });
      await page.goto(server.url);
      await waitForDashboard(page, (v) => v.charts.length === 12 && v.charts.every((c) => c.points > 0));
      const smallHeight = (await page.locator('.chart .u-over').first().boundingBox())?.height ?? 0;

      await page.locator('.equipment[data-equipment="102"] h2 a').click();
      expect(new URL(page.url()).hash).toBe('#/equipment/102');
      const view = await waitForDashboard(
        page,
        (v) => v.charts.length === 4 && v.charts.every((c) => c.points > 0),
      );
      expect(view.charts.every((c) => c.equipmentId === 102)).toBe(true);
      expect(calls).toContain('/api/snapshot?range=3m&equipment=102');
      expect((await page.locator('.chart .u-over').first().boundingBox())?.height).toBeGreaterThan(
        smallHeight,
      );
      expect(await page.locator('#detail-title').textContent()).toBe('Equipment 102');

      const items = page.locator('#history-alerts > li[data-episode-id]');
      const texts = () =>
        items.evaluateAll((nodes: { textContent: string | null }[]) => nodes.map((n) => n.textContent ?? ''));
      await waitUntil(texts, (t) => t.length === 2);
      const first = await texts();
      expect(first[0]).toMatch(/^high.*\d\d:\d\d:\d\d – ongoing/);
      expect(first[0]).toContain('temperature +42% over baseline');
      expect(first[0]).toContain('humidity low (page 1)');
      expect(first[1]).toMatch(/^low.*\d\d:\d\d:\d\d – .*\d\d:\d\d:\d\d/);
      expect(calls).toContain('/api/alerts?equipment=102');
      expect(await page.locator('#history-previous').isDisabled()).toBe(true);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-equipment-102.png'), fullPage: true });

      await page.locator('#history-next').click();
      await waitUntil(texts, (t) => t.length === 2 && t[0].includes('page 2'));
      expect(calls).toContain('/api/alerts?equipment=102&page=2');
      await page.locator('#history-next').click();
      await waitUntil(texts, (t) => t.length === 1 && t[0].includes('page 3'));
      expect(await page.locator('#history-next').isDisabled()).toBe(true);
      await page.locator('#history-previous').click();
      await waitUntil(texts, (t) => t.length === 2 && t[0].includes('page 2'));

      await page.setViewportSize({ width: 390, height: 900 });
      await waitUntil(() => chartsFit(page), Boolean);
      expect(await scrollsSideways(page)).toBe(false);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-equipment-102-390.png'), fullPage: true });

      await page.locator('#back').click();
      await waitForDashboard(page, (v) => v.charts.length === 12);
      expect(await page.locator('#history').isHidden()).toBe(true);
      expect(problems).toEqual([]);
    });

    test("an equipment's alert history follows new episodes, reading again only when the snapshot's alerts change", async () => {
      const endMs = Date.now() - 5_000;
      const server = await serve(staticSource(LAB_SCHEMA, [], [], endMs));
      const episode = (startedMs: number, reason: string) => ({
        equipmentId: 102,
        episodeId: `102-${startedMs}`,
        startedMs,
        endedMs: startedMs + 30_000,
        severity: 'high',
        subject: 'Anomaly on equipment 102',
        features: ['temperature'],
        reasons: [reason],
        anomalyCount: 3,
      });
      const older = episode(endMs - 600_000, 'temperature +40% over baseline');
      const newer = episode(endMs - 60_000, 'humidity 30 % under baseline');
      let episodes = [older];
      const calls = await fakeApi(page, {
        snapshot: (query) => ({
          ...rangedSnapshot(query.get('range') ?? '3m', endMs, query.get('equipment')),
          alerts: episodes,
        }),
        alerts: () => ({ items: episodes, nextPage: null }),
      });
      await page.goto(`${server.url}#/equipment/102`);
      const items = page.locator('#history-alerts > li[data-episode-id]');
      const texts = () =>
        items.evaluateAll((nodes: { textContent: string | null }[]) => nodes.map((n) => n.textContent ?? ''));
      await waitUntil(texts, (t) => t.length === 1);
      const polls = () => calls.filter((call) => call.startsWith('/api/snapshot')).length;
      const historyReads = () => calls.filter((call) => call.startsWith('/api/alerts')).length;
      // Polls with the same alerts read no history.
      const before = polls();
      await waitUntil(
        async () => polls(),
        (count) => count >= before + 2,
      );
      expect(historyReads()).toBe(1);

      episodes = [newer, older];
      const after = await waitUntil(texts, (t) => t.length === 2);
      expect(after[0]).toContain('humidity 30 % under baseline');
      expect(historyReads()).toBe(2);
      expect(problems).toEqual([]);
    });

    test("an older server's 404 for the alert history is said on the page, nothing breaks", async () => {
      const endMs = Date.now() - 5_000;
      const server = await serve(staticSource(LAB_SCHEMA, [], [], endMs));
      // Snapshots only: /api/alerts answers 404, as a server without an alert history does.
      await fakeApi(page, {
        snapshot: (query) => rangedSnapshot(query.get('range') ?? '3m', endMs, query.get('equipment')),
      });
      await page.goto(`${server.url}#/equipment/101`);
      await waitForDashboard(page, (v) => v.charts.length === 4);
      await waitUntil(
        async () => (await page.locator('#history-status').textContent()) ?? '',
        (text) => text.includes('does not keep an alert history'),
      );
      // The browser reports the 404 itself; nothing else goes wrong.
      expect(problems.filter((problem) => !problem.includes('404'))).toEqual([]);
    });

    test('against the server itself: a source with ranges and an alert history, the page asks it and pages through', async () => {
      const endMs = Date.now() - 5_000;
      const episode = (page: number, i: number): AlertSummary => ({
        startedMs: endMs - (page * 2 + i + 1) * 600_000,
        endedMs: endMs - (page * 2 + i + 1) * 600_000 + 60_000,
        equipmentId: 103,
        subject: `Anomaly on equipment 103 (page ${page})`,
        severity: 'medium',
        features: ['humidity'],
        reasons: [`humidity +${20 + page * 2 + i}% over baseline`],
        anomalyCount: 2,
        episodeId: `103-${page}-${i}`,
      });
      const source: DashboardSource = {
        snapshot: async (query) =>
          rangedSnapshot(
            query?.range ?? '3m',
            endMs,
            query?.equipmentId === undefined ? null : String(query.equipmentId),
          ),
        alertHistory: async ({ page }) => ({
          items: [episode(page, 0), episode(page, 1)],
          nextPage: page === 0 ? 1 : null,
        }),
      };
      const server = await serve(source);
      await page.goto(`${server.url}#/equipment/103`);
      await waitForDashboard(page, (v) => v.charts.length === 4 && v.charts.every((c) => c.points > 0));
      await page.locator('#range').selectOption('1h');
      await waitUntil(
        () => chartSpans(page),
        (spans) => allSpan(spans, 3_600_000),
      );

      const items = page.locator('#history-alerts > li[data-episode-id]');
      const ids = () =>
        items.evaluateAll((nodes: DataNode[]) => nodes.map((n) => String(n.dataset.episodeId)));
      await waitUntil(ids, (list) => list.join() === '103-0-0,103-0-1');
      expect(await items.first().textContent()).toContain('humidity +20% over baseline');
      await page.locator('#history-next').click();
      await waitUntil(ids, (list) => list.join() === '103-1-0,103-1-1');
      expect(await page.locator('#history-next').isDisabled()).toBe(true);
      await page.locator('#history-previous').click();
      await waitUntil(ids, (list) => list.join() === '103-0-0,103-0-1');
      const href = (await page.locator('a.export').getAttribute('href')) ?? '';
      expect(href).toMatch(/^\/api\/readings\.csv\?equipment=103&from=.+&to=.+/);
      expect(requests.every((url) => url.startsWith(server.url))).toBe(true);
      expect(problems).toEqual([]);
    });
  },
);
