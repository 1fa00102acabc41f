import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints, processRuns } from '../cli/targets';

/**
 * `.local/endpoints.json` tells the CLIs (last3, dashboard, simulate --target local) where the local
 * pipeline of this folder runs. One pipeline per folder: a second `npm start` here is refused while
 * the first runs (its file names a live process), and a run removes the file only if it is its own.
 */

/** What the file holds besides the endpoints: who wrote it. */
interface Owner {
  pid?: number;
  /** This run's, so that a run removes only the file it wrote (a pid can be reused). */
  run?: string;
  dashboard?: string;
}

/** Runs of this process that hold a file (their path): another run of this process is refused too. */
const heldHere = new Set<string>();

function readOwner(file: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/**
 * Throws if a local pipeline started in `cwd` still runs; a file left by one that was killed is
 * stale, and the next run replaces it.
 */
export function checkNoLocalPipeline(cwd = process.cwd()): void {
  const file = resolve(cwd, LOCAL_ENDPOINTS_FILE);
  const owner = existsSync(file) ? readOwner(file) : undefined;
  if (owner?.pid === undefined) return;
  const running = owner.pid === process.pid ? heldHere.has(file) : processRuns(owner.pid);
  if (!running) return;
  throw new Error(
    `a local pipeline is already running in this folder (process ${owner.pid}${owner.dashboard ? `, dashboard ${owner.dashboard}` : ''}), ` +
      'and the --target local commands use it: stop it first (Ctrl-C in its terminal), or start this one ' +
      `from another folder (each has its own ${LOCAL_ENDPOINTS_FILE}; give it its own --data-dir too, if any).`,
  );
}

/**
 * Tells the CLIs where the running local pipeline is; returns what removes the file when it stops.
 * `cwd` false: no file (a benchmark's or a test's run).
 */
export function writeLocalEndpoints(
  endpoints: LocalEndpoints,
  cwd: string | false = process.cwd(),
): () => void {
  if (cwd === false) return () => {};
  const file = resolve(cwd, LOCAL_ENDPOINTS_FILE);
  checkNoLocalPipeline(cwd);
  const run = randomUUID();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...endpoints, pid: process.pid, run }, null, 2)}\n`);
  heldHere.add(file);
  // Removed on stop only if it is still this run's file.
  return () => {
    if (!heldHere.delete(file)) return;
    if (existsSync(file) && readOwner(file)?.run === run) rmSync(file);
  };
}
