import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Browser helpers for dashboard tests: Debian's Chromium driven by playwright-core (which never
 * downloads a browser), and a reading of what the page shows through its data attributes, so tests
 * check the charts without inspecting pixels.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why browser tests are skipped here, or undefined when they can run. */
export const chromiumMissing = existsSync(CHROMIUM_PATH)
  ? undefined
  : `skipped: ${CHROMIUM_PATH} not found (install it with \`apt-get install -y chromium\`)`;

// CI installs Chromium: there a missing browser is a failure, not a reason to skip.
if (chromiumMissing && process.env.CI === 'true')
  throw new Error(`browser tests cannot run in CI: ${chromiumMissing}`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface ChartView {
  /** A number for integer ids ("101" is 101), else the string id ("pump-1"). */
  equipmentId: number | string;
  feature: string;
  /** The schema's label (the chart's title) and unit. */
  label: string;
  unit: string;
  /** The y axis's tick labels as drawn, units and all ("405 V"). */
  yTicks: string[];
  points: number;
  /** Time bins marked anomalous for this feature, and their starts (epoch ms). */
  anomalyPoints: number;
  anomalyBins: number[];
}

export interface AlertView {
  episodeId: string;
  equipmentId: number | string;
  severity: string;
  text: string;
}

export interface DashboardView {
  /** The snapshot the page shows last (its generatedAt), undefined before the first one. */
  generatedAt?: string;
  waiting: boolean;
  charts: ChartView[];
  alerts: AlertView[];
  counters: Record<string, number>;
}

/** The page's DOM nodes as the page functions below use them (tests type-check without the DOM lib). */
interface DataNode {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  hidden: boolean;
}

export async function readDashboard(page: Page): Promise<DashboardView> {
  const [generatedAt, waiting, charts, alerts, counters] = await Promise.all([
    page.locator('body').evaluate((body: DataNode) => body.dataset.generatedAt),
    page.locator('#waiting').evaluate((node: DataNode) => !node.hidden),
    page.locator('.chart[data-feature]').evaluateAll((nodes: DataNode[]) =>
      nodes.map((node) => ({
        equipmentId: String(node.dataset.equipment),
        feature: String(node.dataset.feature),
        label: String(node.dataset.label),
        unit: String(node.dataset.unit),
        yTicks: node.dataset.yTicks ? node.dataset.yTicks.split('|') : [],
        points: Number(node.dataset.points ?? 0),
        anomalyPoints: Number(node.dataset.anomalyPoints ?? 0),
        anomalyBins: node.dataset.anomalyBins ? node.dataset.anomalyBins.split(',').map(Number) : [],
      })),
    ),
    page.locator('#alerts li[data-episode-id]').evaluateAll((nodes: DataNode[]) =>
      nodes.map((node) => ({
        episodeId: String(node.dataset.episodeId),
        equipmentId: String(node.dataset.equipment),
        severity: String(node.dataset.severity),
        text: node.textContent ?? '',
      })),
    ),
    page
      .locator('#counters [data-counter]')
      .evaluateAll((nodes: DataNode[]) =>
        Object.fromEntries(nodes.map((node) => [String(node.dataset.counter), Number(node.dataset.value)])),
      ),
  ]);
  return {
    generatedAt,
    waiting,
    charts: charts.map((chart) => ({ ...chart, equipmentId: equipmentIdOf(chart.equipmentId) })),
    alerts: alerts.map((alert) => ({ ...alert, equipmentId: equipmentIdOf(alert.equipmentId) })),
    counters,
  };
}

function equipmentIdOf(text: string): number | string {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** Reads the page until `done` holds for what it shows; fails with the last view after `timeoutMs`. */
export async function waitForDashboard(
  page: Page,
  done: (view: DashboardView) => boolean,
  timeoutMs = 15_000,
): Promise<DashboardView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await readDashboard(page);
    if (done(view)) return view;
    if (Date.now() > deadline)
      throw new Error(`the dashboard did not get there in ${timeoutMs} ms; it shows ${JSON.stringify(view)}`);
    await page.waitForTimeout(200);
  }
}

/** The x range each chart draws (epoch ms), as the page writes it on the chart (data-x-min, data-x-max). */
export async function chartSpans(page: Page): Promise<{ min: number; max: number }[]> {
  return page
    .locator('.chart[data-feature]')
    .evaluateAll((nodes: DataNode[]) =>
      nodes.map((node) => ({ min: Number(node.dataset.xMin), max: Number(node.dataset.xMax) })),
    );
}

/** Whether the page is wider than the window: anything that would make it scroll sideways. */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return (await page.evaluate(
    'document.documentElement.scrollWidth > document.documentElement.clientWidth',
  )) as boolean;
}
