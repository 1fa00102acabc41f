import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { DashboardSnapshot, DashboardSource } from './snapshot';

/**
 * The dashboard's web server: the page, its assets, uPlot from node_modules (the page needs no
 * internet), and GET /api/snapshot. It listens on loopback only and answers only requests addressed to
 * loopback (no DNS rebinding), because the snapshot holds data read with the user's AWS credentials.
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
  const snapshot = cachedSnapshot(options.source, options.cacheMs ?? DEFAULT_CACHE_MS);
  let port = 0;
  const server = createServer((request, response) => {
    route(request, response, { snapshot, port }).catch((error: Error) =>
      sendJson(response, 500, { error: error.message }),
    );
  });
  port = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    close: () => close(server),
  };
}

interface RouteContext {
  snapshot: () => Promise<DashboardSnapshot>;
  port: number;
}

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
  const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  if (path === '/api/snapshot') {
    await sendSnapshot(response, context.snapshot);
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

async function sendSnapshot(response: ServerResponse, snapshot: () => Promise<DashboardSnapshot>) {
  try {
    sendJson(response, 200, await snapshot());
  } catch (error) {
    // The page shows this and keeps polling: a table being created or a lapsed session recovers.
    sendJson(response, 502, { error: `could not read the pipeline's data: ${(error as Error).message}` });
  }
}

/**
 * The source's snapshot, shared by every request while it is being made and for `cacheMs` after, so
 * a slow query is never started twice at once. A failure is shared the same way.
 */
function cachedSnapshot(source: DashboardSource, cacheMs: number): () => Promise<DashboardSnapshot> {
  let current: CachedSnapshot | undefined;
  return () => {
    const stale = current?.settledMs !== undefined && Date.now() - current.settledMs >= cacheMs;
    if (!current || stale) {
      const entry: CachedSnapshot = { promise: source.snapshot() };
      const settle = () => {
        entry.settledMs = Date.now();
      };
      entry.promise.then(settle, settle);
      current = entry;
    }
    return current.promise;
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
