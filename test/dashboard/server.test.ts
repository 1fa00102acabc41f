import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { toSnapshot } from '../../dashboard/aggregate';
import { type DashboardServer, startDashboardServer } from '../../dashboard/server';
import type { DashboardSnapshot, DashboardSource } from '../../dashboard/snapshot';
import { hotReading, readingRow } from './rows';

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
