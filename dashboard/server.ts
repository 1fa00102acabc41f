import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { csvCell } from '../lambdas/shared/csv';
import { LIST_SEPARATOR, type ReadingRow } from '../lambdas/shared/processed-reading';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import {
  type DashboardSnapshot,
  type DashboardSource,
  SNAPSHOT_RANGES,
  type SnapshotQuery,
  type SnapshotRange,
} from './snapshot';

/**
 * The dashboard's web server: the page, its assets, uPlot from node_modules (the page needs no
 * internet), and the JSON API (docs/dashboard.md): GET /api/snapshot?range=&equipment=, the paged alert
 * history GET /api/alerts?page=&equipment=, one equipment's readings GET /api/readings?equipment=&from=
 * &to=&page= and as a CSV download GET /api/readings.csv. It listens on loopback only and answers only
 * requests addressed to loopback (no DNS rebinding), because the data is read with the user's AWS
 * credentials. Every query parameter is validated: a bad one is a 400 naming it.
 */

export interface DashboardServerOptions {
  source: DashboardSource;
  /** 0 (default) picks a free port. */
  port?: number;
  /** A loopback address; default 127.0.0.1. */
  host?: string;
  /** How long a snapshot is reused, so several open tabs do not multiply the queries. */
  cacheMs?: number;
}

export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_CACHE_MS = 1_000;
/** Alerts per page of GET /api/alerts. */
export const ALERTS_PAGE_SIZE = 50;
/** Readings per page of GET /api/readings. */
export const READINGS_PAGE_SIZE = 1_000;
/** The longest span of GET /api/readings and /api/readings.csv. */
export const MAX_READINGS_SPAN_MS = 24 * 3_600_000;
/** The highest page number taken (a page past the data is simply empty). */
export const MAX_PAGE = 1_000_000;
/** Snapshots kept at once, one per (range, equipment) asked for: the oldest go first. */
const MAX_CACHED_SNAPSHOTS = 64;
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

const PUBLIC_DIR = join(__dirname, 'public');
const UPLOT_DIST = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

interface Asset {
  file: string;
  contentType: string;
}

const ASSETS: Record<string, Asset> = {
  '/': { file: join(PUBLIC_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: join(PUBLIC_DIR, 'app.js'), contentType: 'text/javascript; charset=utf-8' },
  '/app.css': { file: join(PUBLIC_DIR, 'app.css'), contentType: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': {
    file: join(UPLOT_DIST, 'uPlot.iife.min.js'),
    contentType: 'text/javascript; charset=utf-8',
  },
  '/vendor/uPlot.min.css': {
    file: join(UPLOT_DIST, 'uPlot.min.css'),
    contentType: 'text/css; charset=utf-8',
  },
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host))
    throw new Error(`the dashboard listens on loopback only (${LOOPBACK_HOSTS.join(', ')}), not on ${host}`);
  const snapshot = cachedSnapshots(options.source, options.cacheMs ?? DEFAULT_CACHE_MS);
  let port = 0;
  const server = createServer((request, response) => {
    route(request, response, { snapshot, port, source: options.source }).catch((error: Error) => {
      if (!response.headersSent) sendJson(response, 500, { error: error.message });
      else response.destroy(error);
    });
  });
  port = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    close: () => close(server),
  };
}

interface RouteContext {
  snapshot: (query: SnapshotQuery) => Promise<DashboardSnapshot>;
  port: number;
  source: DashboardSource;
}

/** A query parameter that is not valid: answered 400 with `{ error }`. */
class BadParameter extends Error {}

async function route(request: IncomingMessage, response: ServerResponse, context: RouteContext) {
  if (!isLoopbackHostHeader(request.headers.host, context.port)) {
    sendText(response, 421, 'This dashboard answers only at a loopback address (127.0.0.1 or localhost).');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    sendText(response, 405, 'Only GET and HEAD are served.');
    return;
  }
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  if (path.startsWith('/api/')) {
    try {
      await routeApi(path, url.searchParams, response, context);
    } catch (error) {
      if (!(error instanceof BadParameter)) throw error;
      sendJson(response, 400, { error: error.message });
    }
    return;
  }
  const asset = ASSETS[path];
  if (!asset) {
    sendText(response, 404, `Not found: ${path}`);
    return;
  }
  const body = await readFile(asset.file);
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': asset.contentType,
    'Cache-Control': 'no-cache',
  });
  response.end(body);
}

async function routeApi(
  path: string,
  params: URLSearchParams,
  response: ServerResponse,
  context: RouteContext,
): Promise<void> {
  const { source } = context;
  const schema = source.readingSchema ?? LAB_SCHEMA;
  if (path === '/api/snapshot') {
    const query = parseParams(params, ['range', 'equipment']);
    const range = query.range ?? '3m';
    if (!Object.hasOwn(SNAPSHOT_RANGES, range))
      throw new BadParameter(
        `range must be one of ${Object.keys(SNAPSHOT_RANGES).join(', ')}, not "${clip(range)}"`,
      );
    const equipmentId = query.equipment === undefined ? undefined : parseEquipment(query.equipment, schema);
    await sendRead(response, () => context.snapshot({ range: range as SnapshotRange, equipmentId }));
    return;
  }
  if (path === '/api/alerts' && source.alertHistory) {
    const query = parseParams(params, ['page', 'equipment']);
    const page = parsePage(query.page);
    const equipmentId = query.equipment === undefined ? undefined : parseEquipment(query.equipment, schema);
    const history = source.alertHistory.bind(source);
    await sendRead(response, () => history({ page, equipmentId }, ALERTS_PAGE_SIZE));
    return;
  }
  if (path === '/api/readings' && source.readingsBetween) {
    const query = parseParams(params, ['equipment', 'from', 'to', 'page']);
    const span = parseSpan(query, schema);
    const page = parsePage(query.page);
    const readings = source.readingsBetween.bind(source);
    await sendRead(response, () => readingsPage(readings(span), page, schema));
    return;
  }
  if (path === '/api/readings.csv' && source.readingsBetween) {
    const query = parseParams(params, ['equipment', 'from', 'to']);
    const span = parseSpan(query, schema);
    await sendCsv(response, source.readingsBetween(span), span, schema);
    return;
  }
  sendJson(response, 404, { error: `Not found: ${path}` });
}

/** The named parameters, each at most once; others are ignored. */
function parseParams<K extends string>(
  params: URLSearchParams,
  names: readonly K[],
): Partial<Record<K, string>> {
  const result: Partial<Record<K, string>> = {};
  for (const name of names) {
    const values = params.getAll(name);
    if (values.length > 1) throw new BadParameter(`${name} is given ${values.length} times; give it once`);
    if (values.length === 1) result[name] = values[0];
  }
  return result;
}

/** Error messages quote at most this much of a bad value. */
function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}...` : value;
}

function parsePage(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^(0|[1-9][0-9]{0,6})$/.test(value) || Number(value) > MAX_PAGE)
    throw new BadParameter(`page must be an integer from 0 to ${MAX_PAGE}, not "${clip(value)}"`);
  return Number(value);
}

/** An equipment id as the reading schema defines it: an integer in its range, or a string matching its pattern. */
export function parseEquipment(value: string, schema: ReadingSchema = LAB_SCHEMA): EquipmentId {
  const { equipment } = schema;
  if (equipment.type === 'integer') {
    if (/^-?[0-9]{1,16}$/.test(value)) {
      const id = Number(value);
      if (Number.isSafeInteger(id) && id >= equipment.min && id <= equipment.max) return id;
    }
    throw new BadParameter(
      `equipment must be an integer from ${equipment.min} to ${equipment.max} (the reading schema's equipment ids), not "${clip(value)}"`,
    );
  }
  // A length bound before the schema's pattern: a hostile value never reaches a costly match.
  if (value.length > 256 || !equipment.pattern.test(value))
    throw new BadParameter(
      `equipment must match ${equipment.pattern.source} (the reading schema's equipment ids), not "${clip(value)}"`,
    );
  return value;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** ISO 8601 with a date, a time to the minute at least, and a zone (Z or an offset): epoch ms. */
export function parseIsoTime(name: string, value: string | undefined): number {
  if (value === undefined)
    throw new BadParameter(`${name} is required: an ISO 8601 time, e.g. 2026-11-23T19:47:00Z`);
  const match = ISO_TIME.exec(value);
  const fail = () =>
    new BadParameter(
      `${name} must be an ISO 8601 time with its zone, e.g. 2026-11-23T19:47:00Z, not "${clip(value)}"`,
    );
  if (!match) throw fail();
  const [, year, month, day, hour, minute, second = '0', offsetHours = '0', offsetMinutes = '0'] = match;
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (
    Number(month) < 1 ||
    Number(month) > 12 ||
    Number(day) < 1 ||
    Number(day) > daysInMonth ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 59 ||
    Number(offsetHours) > 23 ||
    Number(offsetMinutes) > 59
  )
    throw fail();
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw fail();
  return ms;
}

function parseSpan(
  query: Partial<Record<'equipment' | 'from' | 'to', string>>,
  schema: ReadingSchema,
): { equipmentId: EquipmentId; fromMs: number; toMs: number } {
  if (query.equipment === undefined) throw new BadParameter('equipment is required: the id of one equipment');
  const equipmentId = parseEquipment(query.equipment, schema);
  const fromMs = parseIsoTime('from', query.from);
  const toMs = parseIsoTime('to', query.to);
  if (fromMs > toMs) throw new BadParameter('from must not be later than to');
  if (toMs - fromMs > MAX_READINGS_SPAN_MS)
    throw new BadParameter(`from and to must be at most ${MAX_READINGS_SPAN_MS / 3_600_000} h apart`);
  return { equipmentId, fromMs, toMs };
}

/** A reading as GET /api/readings lists it. */
export interface ReadingItem {
  t: number;
  time: string;
  equipmentId: EquipmentId;
  /** Each of the schema's features; null for one the reading left out. */
  values: Record<string, number | null>;
  score: number;
  isAnomaly: boolean;
  /** The features it is anomalous in, and the detector's reasons. */
  features: string[];
  reasons: string[];
}

/** Page `page` of the readings (READINGS_PAGE_SIZE each): the chunks before it are read and passed over. */
async function readingsPage(
  chunks: AsyncIterable<ReadingRow[]>,
  page: number,
  schema: ReadingSchema,
): Promise<{ items: ReadingItem[]; nextPage: number | null }> {
  let skip = page * READINGS_PAGE_SIZE;
  const items: ReadingItem[] = [];
  for await (const rows of chunks) {
    if (skip >= rows.length) {
      skip -= rows.length;
      continue;
    }
    for (let i = skip; i < rows.length; i++) {
      // One more than a page tells there is a next one; leaving the loop stops the reads.
      if (items.length === READINGS_PAGE_SIZE) return { items, nextPage: page + 1 };
      items.push(readingItem(rows[i], schema));
    }
    skip = 0;
  }
  return { items, nextPage: null };
}

function readingItem(row: ReadingRow, schema: ReadingSchema): ReadingItem {
  return {
    t: Date.parse(row.timestamp),
    time: row.timestamp,
    equipmentId: row.equipment_id,
    values: Object.fromEntries(schema.featureNames.map((feature) => [feature, featureValue(row, feature)])),
    score: row.anomaly_score,
    isAnomaly: row.is_anomaly,
    features: row.anomalous_features === '' ? [] : row.anomalous_features.split(LIST_SEPARATOR),
    reasons: row.reasons === '' ? [] : row.reasons.split(LIST_SEPARATOR),
  };
}

function featureValue(row: ReadingRow, feature: string): number | null {
  const value = row[feature];
  return typeof value === 'number' && !Number.isNaN(value) ? value : null;
}

/** The CSV header: the schema's timestamp and equipment fields, its features, the score, the flag, the reasons. */
export function readingsCsvHeader(schema: ReadingSchema): string {
  return [
    schema.timestamp.field,
    schema.equipment.field,
    ...schema.featureNames,
    'anomaly_score',
    'is_anomaly',
    'reasons',
  ]
    .map(csvCell)
    .join(',');
}

/** A CSV line of a reading: every text cell through csvCell (a formula is never run by a spreadsheet). */
export function readingsCsvLine(row: ReadingRow, schema: ReadingSchema): string {
  const cells = [csvCell(row.timestamp), csvCell(row.equipment_id)];
  for (const feature of schema.featureNames) {
    const value = featureValue(row, feature);
    cells.push(value === null ? '' : csvCell(value));
  }
  cells.push(csvCell(row.anomaly_score), csvCell(row.is_anomaly), csvCell(row.reasons));
  return cells.join(',');
}

/**
 * The readings as a CSV download, written a chunk (a minute) at a time as they are read, waiting for
 * the connection to drain, so a day of readings is never held at once. Once the rows have started, a
 * failed read can only cut the download: the connection is closed, never ended as if complete.
 */
async function sendCsv(
  response: ServerResponse,
  chunks: AsyncIterable<ReadingRow[]>,
  span: { equipmentId: EquipmentId; fromMs: number; toMs: number },
  schema: ReadingSchema,
): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  let first: IteratorResult<ReadingRow[]>;
  try {
    first = await iterator.next();
  } catch (error) {
    sendJson(response, 502, { error: `could not read the pipeline's data: ${(error as Error).message}` });
    return;
  }
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');
  const name = `readings-${String(span.equipmentId).replace(/[^A-Za-z0-9_-]/g, '_')}-${stamp(span.fromMs)}-${stamp(span.toMs)}.csv`;
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="${name}"`,
    'Cache-Control': 'no-store',
  });
  const write = async (text: string) => {
    if (!response.write(text))
      await new Promise<void>((resolve) => {
        const done = () => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.on('drain', done);
        response.on('close', done);
      });
  };
  await write(`${readingsCsvHeader(schema)}\n`);
  try {
    for (let next = first; !next.done; next = await iterator.next()) {
      if (response.destroyed) {
        await iterator.return?.();
        return;
      }
      await write(next.value.map((row) => `${readingsCsvLine(row, schema)}\n`).join(''));
    }
  } catch (error) {
    response.destroy(error as Error);
    return;
  }
  response.end();
}

/** A read's answer as JSON, or 502 when the data could not be read (the page shows it and retries). */
async function sendRead(response: ServerResponse, read: () => Promise<unknown>) {
  let body: unknown;
  try {
    body = await read();
  } catch (error) {
    // The page shows this and keeps polling: a table being created or a lapsed session recovers.
    sendJson(response, 502, { error: `could not read the pipeline's data: ${(error as Error).message}` });
    return;
  }
  sendJson(response, 200, body);
}

/**
 * The source's snapshot of each (range, equipment), shared by every request while it is being made and
 * for `cacheMs` after, so a slow query is never started twice at once. A failure is shared the same
 * way. At most MAX_CACHED_SNAPSHOTS are kept: asking for many equipment in turn cannot grow it.
 */
function cachedSnapshots(
  source: DashboardSource,
  cacheMs: number,
): (query: SnapshotQuery) => Promise<DashboardSnapshot> {
  const cache = new Map<string, CachedSnapshot>();
  return (query) => {
    const key = `${query.range ?? '3m'}|${typeof query.equipmentId}|${query.equipmentId ?? ''}`;
    const current = cache.get(key);
    const stale = current?.settledMs !== undefined && Date.now() - current.settledMs >= cacheMs;
    if (current && !stale) return current.promise;
    const entry: CachedSnapshot = { promise: source.snapshot(query) };
    const settle = () => {
      entry.settledMs = Date.now();
    };
    entry.promise.then(settle, settle);
    cache.delete(key);
    cache.set(key, entry);
    // A Map iterates in insertion order: the first key is the least recently made.
    while (cache.size > MAX_CACHED_SNAPSHOTS) cache.delete(cache.keys().next().value as string);
    return entry.promise;
  };
}

interface CachedSnapshot {
  promise: Promise<DashboardSnapshot>;
  settledMs?: number;
}

function isLoopbackHostHeader(header: string | undefined, port: number): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].some((name) => header === `${name}:${port}`);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${text}\n`);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function listenError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  if (error.code === 'EADDRINUSE')
    return new Error(
      `port ${port} is already in use on ${host}: stop what is using it, or choose another port with --port (--port 0 picks a free one)`,
    );
  if (error.code === 'EACCES')
    return new Error(`not allowed to listen on port ${port}: choose a port above 1023 with --port`);
  return error;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Open tabs keep connections alive; without this, close would wait for them.
    server.closeAllConnections();
  });
}
