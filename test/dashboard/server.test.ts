import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { toSnapshot } from '../../dashboard/aggregate';
import { type DashboardServer, MAX_PAGE, startDashboardServer } from '../../dashboard/server';
import type {
  AlertsQuery,
  DashboardSnapshot,
  DashboardSource,
  ReadingsQuery,
  SnapshotQuery,
} from '../../dashboard/snapshot';
import type { ReadingRow } from '../../lambdas/shared/processed-reading';
import { hotReading, readingRow, SKAB_SCHEMA } from './rows';

const T0 = Date.UTC(2026, 10, 23, 19, 47, 0);

const SNAPSHOT: DashboardSnapshot = toSnapshot({
  target: 'local',
  rows: [readingRow(101, T0 + 500), hotReading(102, T0 + 1_500)],
  window: { fromMs: T0 - 178_000, toMs: T0 + 2_000 },
  alerts: [],
  counters: [{ name: 'readings in window', value: 2 }],
  generatedAtMs: T0 + 2_000,
});

/** A source that counts its calls and answers after `delayMs`. */
function countingSource(snapshot: () => DashboardSnapshot = () => SNAPSHOT, delayMs = 0) {
  const source = {
    calls: 0,
    async snapshot() {
      source.calls++;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return snapshot();
    },
  };
  return source satisfies DashboardSource;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET (or `method`) with node:http, so the Host header can be set as a browser on another site would. */
function get(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const servers: DashboardServer[] = [];
async function start(source: DashboardSource, options: { cacheMs?: number; port?: number } = {}) {
  const server = await startDashboardServer({ source, ...options });
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('dashboard server', () => {
  test('serves the page, its script and style, and uPlot from node_modules', async () => {
    const { url } = await start(countingSource());

    const page = await get(url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = page.body.toString();
    for (const asset of ['/vendor/uPlot.iife.min.js', '/vendor/uPlot.min.css', '/app.js', '/app.css'])
      expect(html).toContain(asset);

    expect((await get(`${url}app.js`)).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get(`${url}app.css`)).headers['content-type']).toBe('text/css; charset=utf-8');
    const uplot = await get(`${url}vendor/uPlot.iife.min.js`);
    expect(uplot.status).toBe(200);
    expect(uplot.body.equals(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')))).toBe(true);
    const uplotCss = await get(`${url}vendor/uPlot.min.css`);
    expect(uplotCss.body.equals(readFileSync(require.resolve('uplot/dist/uPlot.min.css')))).toBe(true);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  });

  test('GET /api/snapshot answers the source snapshot as JSON, never cached by the browser', async () => {
    const { url } = await start(countingSource());

    const reply = await get(`${url}api/snapshot`);

    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(reply.body.toString())).toEqual(SNAPSHOT);
  });

  test('shares one snapshot between requests within cacheMs, including one still being made', async () => {
    const source = countingSource(() => SNAPSHOT, 100);
    const { url } = await start(source, { cacheMs: 300 });

    await Promise.all([get(`${url}api/snapshot`), get(`${url}api/snapshot`), get(`${url}api/snapshot`)]);
    await get(`${url}api/snapshot`);
    expect(source.calls).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, 350));
    await get(`${url}api/snapshot`);
    expect(source.calls).toBe(2);
  });

  test("a failing source gives 502 with the source's message, and the server keeps serving", async () => {
    let fail = true;
    const source = countingSource(() => {
      if (fail) throw new Error('ResourceNotFoundException: Requested resource not found');
      return SNAPSHOT;
    });
    const { url } = await start(source, { cacheMs: 0 });

    const failed = await get(`${url}api/snapshot`);
    fail = false;
    const recovered = await get(`${url}api/snapshot`);

    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.body.toString()).error).toMatch(/ResourceNotFoundException/);
    expect(recovered.status).toBe(200);
  });

  test('anything else is 404; other methods 405; requests for another host name 421', async () => {
    const { url, port } = await start(countingSource());

    expect((await get(`${url}server.ts`)).status).toBe(404);
    expect((await get(`${url}%2e%2e/package.json`)).status).toBe(404);
    expect((await get(`${url}vendor/uPlot.cjs.js`)).status).toBe(404);
    expect((await get(`${url}api/snapshot`, { method: 'POST' })).status).toBe(405);
    const rebound = await get(`${url}api/snapshot`, { headers: { host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(421);
    expect((await get(`${url}api/snapshot`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
  });

  test('listens on 127.0.0.1 only, and refuses a host that is not loopback', async () => {
    const { url, port } = await start(countingSource());

    expect(url).toBe(`http://127.0.0.1:${port}/`);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal);
    if (external) {
      await expect(get(`http://${external.address}:${port}/`)).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    }
    await expect(startDashboardServer({ source: countingSource(), host: '0.0.0.0' })).rejects.toThrow(
      'the dashboard listens on loopback only (127.0.0.1, localhost, ::1), not on 0.0.0.0',
    );
  });

  test('a port already in use is a clear error naming the port and --port', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(startDashboardServer({ source: countingSource(), port })).rejects.toThrow(
        `port ${port} is already in use on 127.0.0.1: stop what is using it, or choose another port with --port (--port 0 picks a free one)`,
      );
    } finally {
      blocker.close();
    }
  });

  test('close ends open keep-alive connections at once', async () => {
    const server = await startDashboardServer({ source: countingSource() });
    await fetch(`${server.url}api/snapshot`, { headers: { connection: 'keep-alive' } }).then((r) => r.text());

    const started = Date.now();
    await server.close();

    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(get(server.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

/** A source with every API: it records what it was asked, and answers readings a minute a chunk. */
function fullSource(options: { rows?: ReadingRow[]; failAfterChunks?: number } = {}) {
  const asked = {
    snapshots: [] as SnapshotQuery[],
    alerts: [] as AlertsQuery[],
    readings: [] as ReadingsQuery[],
  };
  const source = {
    asked,
    async snapshot(query: SnapshotQuery = {}) {
      asked.snapshots.push(query);
      return SNAPSHOT;
    },
    async alertHistory(query: AlertsQuery, pageSize: number) {
      asked.alerts.push(query);
      return { items: [], nextPage: pageSize === 50 ? null : 0 };
    },
    async *readingsBetween(query: ReadingsQuery) {
      asked.readings.push(query);
      const rows = options.rows ?? [];
      let chunks = 0;
      for (let i = 0; i < rows.length; i += 2) {
        if (options.failAfterChunks !== undefined && chunks++ >= options.failAfterChunks)
          throw new Error('ProvisionedThroughputExceededException');
        yield rows.slice(i, i + 2);
      }
    },
  };
  return source satisfies DashboardSource;
}

const FROM = '2026-11-23T19:47:00Z';
const TO = '2026-11-23T20:47:00.000Z';

describe('dashboard server API', () => {
  test('GET /api/snapshot passes the range and the equipment, and keeps a snapshot per (range, equipment)', async () => {
    const source = fullSource();
    const { url } = await start(source, { cacheMs: 60_000 });

    for (const query of [
      '',
      '?range=3m',
      '?range=1h',
      '?range=1h&equipment=102',
      '?range=1h&equipment=102',
      '?range=24h',
    ])
      expect((await get(`${url}api/snapshot${query}`)).status).toBe(200);

    // '' and 3m are the same snapshot; the repeated 1h of 102 is the cached one.
    expect(source.asked.snapshots).toEqual([
      { range: '3m', equipmentId: undefined },
      { range: '1h', equipmentId: undefined },
      { range: '1h', equipmentId: 102 },
      { range: '24h', equipmentId: undefined },
    ]);
  });

  test('GET /api/alerts passes the page (0 by default) and the equipment, 50 a page', async () => {
    const source = fullSource();
    const { url } = await start(source);

    const first = await get(`${url}api/alerts`);
    await get(`${url}api/alerts?page=2&equipment=101`);

    expect(first.status).toBe(200);
    expect(JSON.parse(first.body.toString())).toEqual({ items: [], nextPage: null });
    expect(source.asked.alerts).toEqual([{ page: 0 }, { page: 2, equipmentId: 101 }]);
  });

  test.each([
    ['api/snapshot?range=2h', 'range must be one of 3m, 15m, 1h, 6h, 24h, not "2h"'],
    ['api/snapshot?range=3m&range=1h', 'range is given 2 times; give it once'],
    ['api/snapshot?equipment=0', 'equipment must be an integer from 1 to 2147483647'],
    ['api/alerts?page=-1', `page must be an integer from 0 to ${MAX_PAGE}, not "-1"`],
    ['api/alerts?page=1.5', 'page must be an integer'],
    ['api/alerts?page=01', 'page must be an integer'],
    ['api/alerts?page=99999999999999999999', 'page must be an integer'],
    ['api/alerts?equipment=101%3Bdrop', 'equipment must be an integer from 1 to 2147483647'],
    [`api/readings?from=${FROM}&to=${TO}`, 'equipment is required'],
    [`api/readings?equipment=abc&from=${FROM}&to=${TO}`, 'equipment must be an integer'],
    [`api/readings?equipment=101&to=${TO}`, 'from is required'],
    [`api/readings?equipment=101&from=${FROM}`, 'to is required'],
    [`api/readings?equipment=101&from=yesterday&to=${TO}`, 'from must be an ISO 8601 time with its zone'],
    [
      `api/readings?equipment=101&from=2026-11-23T19:47:00&to=${TO}`,
      'from must be an ISO 8601 time with its zone',
    ],
    [`api/readings?equipment=101&from=2026-02-30T00:00Z&to=${TO}`, 'from must be an ISO 8601 time'],
    [`api/readings?equipment=101&from=${FROM}&to=2026-11-23T24:00Z`, 'to must be an ISO 8601 time'],
    [`api/readings?equipment=101&from=${TO}&to=${FROM}`, 'from must not be later than to'],
    [
      `api/readings?equipment=101&from=2026-11-22T19:46:59Z&to=${FROM}`,
      'from and to must be at most 24 h apart',
    ],
    [`api/readings?equipment=101&from=${FROM}&to=${TO}&page=x`, 'page must be an integer'],
    [`api/readings.csv?equipment=101&from=${FROM}`, 'to is required'],
    [`api/readings.csv?equipment=${'9'.repeat(40)}&from=${FROM}&to=${TO}`, 'equipment must be an integer'],
  ])('%s is a 400 naming the parameter', async (path, error) => {
    const source = fullSource();
    const { url } = await start(source);

    const reply = await get(`${url}${path}`);

    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(reply.body.toString()).error).toContain(error);
    expect(reply.body.length).toBeLessThan(300);
    expect([source.asked.snapshots, source.asked.alerts, source.asked.readings]).toEqual([[], [], []]);
  });

  test("equipment ids are validated by the source's reading schema", async () => {
    const source = { ...fullSource(), readingSchema: SKAB_SCHEMA };
    const { url } = await start(source);

    expect((await get(`${url}api/alerts?equipment=pump-1`)).status).toBe(200);
    const bad = await get(`${url}api/alerts?equipment=${encodeURIComponent('=cmd|x')}`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).error).toMatch(/^equipment must match /);
    // Never matched at all past 256 characters, whatever the schema's pattern.
    const long = await get(`${url}api/alerts?equipment=${'p'.repeat(1_000)}`);
    expect(long.status).toBe(400);
    expect(JSON.parse(long.body.toString()).error).toMatch(/^equipment must match .* not "p{40}\.\.\."$/);
  });

  test('a day exactly is allowed; the span and equipment reach the source as parsed', async () => {
    const source = fullSource();
    const { url } = await start(source);

    const reply = await get(`${url}api/readings?equipment=101&from=2026-11-22T21:47:00%2B01:00&to=${TO}`);

    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ items: [], nextPage: null });
    expect(source.asked.readings).toEqual([
      { equipmentId: 101, fromMs: Date.parse(TO) - 86_400_000, toMs: Date.parse(TO) },
    ]);
  });

  test('a source without alert history or readings answers 404 for them (JSON), and the snapshot still works', async () => {
    const { url } = await start(countingSource());

    for (const path of ['api/alerts', `api/readings?equipment=101&from=${FROM}&to=${TO}`, 'api/nothing']) {
      const reply = await get(`${url}${path}`);
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.body.toString()).error).toMatch(/^Not found: /);
    }
    expect((await get(`${url}api/snapshot?range=6h`)).status).toBe(200);
  });

  test('a CSV whose reads fail after it started is cut, never ended as if complete; before any row it is a 502', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => readingRow(101, Date.parse(FROM) + i * 1_000));
    const failing = fullSource({ rows, failAfterChunks: 2 });
    const { url } = await start(failing);

    await expect(
      fetch(`${url}api/readings.csv?equipment=101&from=${FROM}&to=${TO}`).then((r) => r.text()),
    ).rejects.toThrow();

    const { url: other } = await start(fullSource({ rows, failAfterChunks: 0 }));
    const reply = await get(`${other}api/readings.csv?equipment=101&from=${FROM}&to=${TO}`);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body.toString()).error).toContain('ProvisionedThroughputExceededException');
  });

  test('the CSV holds every reading of the source, a line each, after the header', async () => {
    const rows = Array.from({ length: 9 }, (_, i) => readingRow(101, Date.parse(FROM) + i * 1_000));
    const { url } = await start(fullSource({ rows }));

    const text = (await get(`${url}api/readings.csv?equipment=101&from=${FROM}&to=${TO}`)).body.toString();

    const lines = text.split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[1]).toBe(`${rows[0].timestamp},101,250,1000,60,30,0.1,false,`);
    expect(lines[10]).toBe('');
  });
});
