import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints, readLocalEndpoints } from '../../cli/targets';
import { writeLocalEndpoints } from '../../local/endpoints-file';
import { runLocal } from '../../local/run';

const ROOT = join(__dirname, '..', '..');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

const ENDPOINTS: LocalEndpoints = {
  region: 'us-east-1',
  dynamodb: 'http://127.0.0.1:1',
  kinesis: 'http://127.0.0.1:2',
  s3: 'http://127.0.0.1:3',
  sns: 'http://127.0.0.1:4',
  tableName: 'sensor-readings',
  inputStream: 'sensor-readings',
  anomaliesStream: 'anomalies',
  processedBucket: 'processed',
  rawBucket: 'raw',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'one-pipeline-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const endpointsFile = () => join(dir, LOCAL_ENDPOINTS_FILE);

/** A process that runs until killed, and one that has exited: their pids. */
async function liveProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

function writeFileOf(pid: number, dashboard?: string): string {
  mkdirSync(join(dir, '.local'), { recursive: true });
  const text = `${JSON.stringify({ ...ENDPOINTS, dashboard, pid }, null, 2)}\n`;
  writeFileSync(endpointsFile(), text);
  return text;
}

describe('one local pipeline per folder (.local/endpoints.json)', () => {
  test('a second npm start in a folder whose pipeline runs is refused before it starts, naming the running one and another folder; the file is untouched', async () => {
    const first = await liveProcess();
    try {
      const text = writeFileOf(first.pid as number, 'http://127.0.0.1:5555/');
      const started = Date.now();

      await expect(
        runLocal({
          count: 10,
          rate: 1_000,
          seed: 1,
          badRatio: 0,
          dashboard: false,
          port: 0,
          quiet: true,
          endpointsDir: dir,
          out: () => {},
          signal: new AbortController().signal,
        }),
      ).rejects.toThrow(
        new RegExp(
          `already running in this folder \\(process ${first.pid}, dashboard http://127.0.0.1:5555/.*another folder`,
        ),
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(readFileSync(endpointsFile(), 'utf8')).toBe(text);
    } finally {
      first.kill();
    }
  });

  test('a file left by a run that was killed is stale: the next run replaces it and removes it when it stops', async () => {
    writeFileOf(await exitedPid());

    const remove = writeLocalEndpoints(ENDPOINTS, dir);
    expect(JSON.parse(readFileSync(endpointsFile(), 'utf8')).pid).toBe(process.pid);
    remove();
    expect(existsSync(endpointsFile())).toBe(false);
  });

  test('a second run in the same process and folder is refused too', () => {
    const remove = writeLocalEndpoints(ENDPOINTS, dir);
    try {
      expect(() => writeLocalEndpoints(ENDPOINTS, dir)).toThrow('already running in this folder');
    } finally {
      remove();
    }
    // Once the first has stopped, the folder is free again.
    writeLocalEndpoints(ENDPOINTS, dir)();
  });

  test('a run that stops removes only the file it wrote', async () => {
    const other = await liveProcess();
    try {
      const remove = writeLocalEndpoints(ENDPOINTS, dir);
      const text = writeFileOf(other.pid as number);
      remove();
      expect(readFileSync(endpointsFile(), 'utf8')).toBe(text);
    } finally {
      other.kill();
    }
  });

  test('the --target local commands say the pipeline has stopped when the file names a process that exited', async () => {
    const pid = await exitedPid();
    writeFileOf(pid);
    expect(() => readLocalEndpoints(dir)).toThrow(
      `no local pipeline is running here (the one that wrote ${LOCAL_ENDPOINTS_FILE}, process ${pid}, has stopped)`,
    );
  });

  test('npm start, twice in one folder: the second exits 1 with the message, the first keeps its file and removes it on Ctrl-C', async () => {
    const start = (args: string[]) => {
      const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'local', 'start.ts'), ...args], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout?.on('data', (chunk) => {
        text += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        text += chunk;
      });
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, output: () => text, exit };
    };
    const first = start(['--no-dashboard', '--quiet', '--rate', '100']);
    try {
      const deadline = Date.now() + 60_000;
      while (!first.output().includes('Local pipeline running')) {
        if (Date.now() > deadline) throw new Error(`the first did not start:\n${first.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const before = readFileSync(endpointsFile(), 'utf8');

      const second = start(['--count', '10', '--no-dashboard']);
      expect(await second.exit).toBe(1);
      expect(second.output()).toContain(
        `npm start: a local pipeline is already running in this folder (process ${first.child.pid}`,
      );
      expect(second.output()).not.toMatch(/\n\s+at /);
      expect(readFileSync(endpointsFile(), 'utf8')).toBe(before);

      first.child.kill('SIGINT');
      expect(await first.exit).toBe(0);
      expect(existsSync(endpointsFile())).toBe(false);
    } finally {
      first.child.kill('SIGKILL');
    }
  });
});
