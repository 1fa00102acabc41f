import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints } from '../cli/targets';

/** Tells the CLIs (last3, dashboard, simulate --target local) where the running local pipeline is. */
export function writeLocalEndpoints(endpoints: LocalEndpoints, cwd = process.cwd()): () => void {
  const file = resolve(cwd, LOCAL_ENDPOINTS_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...endpoints, pid: process.pid }, null, 2)}\n`);
  // Removed on stop, unless another run has written its own since.
  return () => {
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).pid === process.pid) rmSync(file);
  };
}
