import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { cleanDataCommand } from '../../cli/clean-data';
import { last3Command } from '../../cli/last3';
import { nodeVersionNote } from '../../cli/sdk-warning';
import { npmBannerNote } from '../../cli/usage';
import { dashboardCommand } from '../../dashboard/cli';
import { startCommand } from '../../local/start';
import { simulateCommand } from '../../simulator/cli';

/** What a new user meets in the first hour: the commands' messages when something is missing or wrong. */

const ROOT = join(__dirname, '..', '..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
/** The npm scripts that run a command of ours, and its file: `last3` -> cli/last3.ts. */
const CLI_SCRIPTS = Object.entries(PACKAGE.scripts)
  .map(([name, script]) => [name, /^tsx (\S+\.ts)$/.exec(script)?.[1]] as const)
  .filter((entry): entry is readonly [string, string] => entry[1] !== undefined);

const invocation = (script: string) => (script === 'start' ? 'npm start' : `npm run ${script}`);

/** A machine with no AWS configuration at all: no region, no credentials, no profile, no instance role. */
function bareEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

describe('without AWS configuration, --target aws (the default) says what to do', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'no-aws-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  test('last3 with no flags and no region names --region, AWS_REGION and --target local; no Node version warning in a pipe', async () => {
    const result = await run('cli/last3.ts', [], bareEnv(home));

    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('Region is missing\n');
    expect(result.stderr).toContain('last3: no AWS region for --target aws (the default)');
    expect(result.stderr).toMatch(/--region REGION or set AWS_REGION.*`--target local`/);
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
    // Our note is for a terminal: a pipe gets the one line of the error.
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^last3: /)]);
  });

  test('last3 with a region but no credentials says how to configure them, or --target local', async () => {
    const result = await run('cli/last3.ts', ['--region', 'eu-west-1'], bareEnv(home));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('last3: no AWS credentials for --target aws (the default)');
    expect(result.stderr).toContain('`--target local`');
  });

  test('dashboard --target aws without credentials exits 1 at once with the message, and serves nothing', async () => {
    const result = await run('dashboard/cli.ts', ['--target', 'aws', '--region', 'eu-west-1'], bareEnv(home));

    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('Dashboard (aws)');
    expect(result.stderr).toContain('dashboard: no AWS credentials for --target aws (the default)');
    expect(result.ms).toBeLessThan(15_000);
  });

  test('dashboard --target aws without a region names --region and AWS_REGION', async () => {
    const result = await run('dashboard/cli.ts', [], bareEnv(home));

    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('Dashboard (aws)');
    expect(result.stderr).toMatch(/dashboard: no AWS region .*--region REGION or set AWS_REGION/);
  });
});

describe('a usage error prints its line and where to look, not the whole help', () => {
  /** The command's error output for these arguments, and that it failed. */
  async function usageError(command: Command, args: string[]): Promise<string[]> {
    let written = '';
    command.exitOverride().configureOutput({
      writeErr: (text) => {
        written += text;
      },
      writeOut: (text) => {
        written += text;
      },
    });
    await expect(command.parseAsync(args, { from: 'user' })).rejects.toThrow();
    return written.trimEnd().split('\n');
  }
  const never = new AbortController().signal;
  const quiet = { out: () => {}, err: () => {} };

  test.each([
    [
      'npm start',
      () => startCommand(() => {}, never),
      ['--count', '10', '--duration', '5'],
      "error: option '--count <n>' cannot be used with option '--duration <s>'",
    ],
    [
      'npm run simulate',
      () => simulateCommand({ stdout: process.stdout, stderr: process.stderr }),
      ['--duration', '5', '--count', '10'],
      "error: option '--count <n>' cannot be used with option '--duration <s>'",
    ],
    ['npm run last3', () => last3Command(quiet), ['--nope'], "error: unknown option '--nope'"],
    [
      'npm run dashboard',
      () => dashboardCommand({ out: () => {} }),
      ['--port', 'x'],
      "error: option '--port <port>' argument 'x' is invalid. --port must be an integer from 0 to 65535.",
    ],
    [
      'npm run clean-data',
      () => cleanDataCommand(quiet),
      [],
      "error: required option '--target <target>' not specified",
    ],
  ])('%s, %#: the error, then "see --help"', async (name, command, args, error) => {
    expect(await usageError(command(), args)).toEqual([error, `(see \`${name} -- --help\`)`]);
  });

  test('every command an npm script runs gives the short hint (no showHelpAfterError() with the whole help)', () => {
    expect(CLI_SCRIPTS.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'start',
        'last3',
        'dashboard',
        'simulate',
        'train',
        'evaluate',
        'score',
        'bench',
      ]),
    );
    for (const [name, file] of CLI_SCRIPTS) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      expect(`${file}: ${source.includes(`.showHelpAfterError(seeHelp('${invocation(name)}'))`)}`).toBe(
        `${file}: true`,
      );
      expect(source).not.toContain('.showHelpAfterError()');
    }
  });

  test('a command of its own (npm run train) prints the two lines too', async () => {
    const result = await run('ml/train-cli.ts', ['--simulator'], process.env);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      "error: required option '--out <file>' not specified",
      '(see `npm run train -- --help`)',
    ]);
  });

  test('npm start --help gives each default once (--port: a free one)', () => {
    const help = startCommand(() => {}, never).helpInformation();
    const port = help.slice(help.indexOf('--port'), help.indexOf('--data-dir'));
    expect(port.match(/default/g)).toHaveLength(1);
    expect(port).toContain('default: a free one');
  });

  test('--help of every command with --target states its default', () => {
    const helps = {
      last3: last3Command(quiet).helpInformation(),
      dashboard: dashboardCommand({ out: () => {} }).helpInformation(),
      simulate: simulateCommand({ stdout: process.stdout, stderr: process.stderr }).helpInformation(),
      'clean-data': cleanDataCommand(quiet).helpInformation(),
    };
    const target = (help: string) =>
      help.slice(help.indexOf('--target'), help.indexOf('\n  --', help.indexOf('--target')));
    expect(target(helps.last3).replace(/\s+/g, ' ')).toContain('default: "aws"');
    expect(target(helps.dashboard).replace(/\s+/g, ' ')).toContain('default: "aws"');
    expect(target(helps.simulate).replace(/\s+/g, ' ')).toContain('default: "stdout"');
    expect(target(helps['clean-data']).replace(/\s+/g, ' ')).toContain('required: no default');
  });
});

describe("the AWS SDK's Node version warning", () => {
  test('every entry point imports cli/sdk-warning first, which sets the SDK switch', () => {
    for (const [, file] of CLI_SCRIPTS) {
      const first = readFileSync(join(ROOT, file), 'utf8').split('\n')[0];
      expect(`${file}: ${first}`).toMatch(/: import '(\.\.\/cli|\.)\/sdk-warning';$/);
    }
  });

  test('our note, only on a Node.js older than 22, says to upgrade in one line', () => {
    expect(nodeVersionNote('20.20.2')).toBe(
      'note: Node.js 20.20.2: upgrade to Node.js 22 or later (the AWS SDK drops Node.js 20 in January 2027).',
    );
    expect(nodeVersionNote('22.1.0')).toBeUndefined();
    expect(nodeVersionNote('24.0.0')).toBeUndefined();
  });
});

describe('JSON through a pipe under npm run', () => {
  const npmRun = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('npm', ['run', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  // An endpoint where nothing listens: the command fails fast, after its note.
  const LAST3 = ['last3', '--', '--json', '--endpoint', 'http://127.0.0.1:1', '--region', 'us-east-1'];

  test("npm run -s last3 -- --json writes nothing but the command's own output on stdout; without -s the command says to use -s", async () => {
    const [loud, silent] = await Promise.all([npmRun(LAST3), npmRun(['-s', ...LAST3])]);

    expect(loud.stdout).toContain('> sensor-anomaly-pipeline@0.1.0 last3');
    expect(loud.stderr).toContain('run `npm run -s last3 -- ...`');
    expect(silent.stdout).toBe('');
    expect(silent.stderr).not.toContain('npm run -s');
    expect(silent.code).toBe(1);
  });

  test('the note is for a pipe or a file under npm run of that script only, not -s, a terminal, or outside npm', () => {
    const npm = { npm_lifecycle_event: 'last3', npm_package_name: 'p', npm_package_version: '1.0.0' };
    expect(npmBannerNote('last3', npm, false)).toContain('"> p@1.0.0 last3" banner on stdout');
    expect(npmBannerNote('last3', { ...npm, npm_config_loglevel: 'silent' }, false)).toBeUndefined();
    expect(npmBannerNote('last3', npm, true)).toBeUndefined();
    expect(npmBannerNote('last3', {}, false)).toBeUndefined();
    expect(npmBannerNote('last3', { ...npm, npm_lifecycle_event: 'test' }, false)).toBeUndefined();
  });
});

describe("the README's and docs' examples", () => {
  test('the files they write in the repository folder (--report, --out) are ignored by git; models under model/ are not', () => {
    const pages = [
      join(ROOT, 'README.md'),
      ...readdirSync(join(ROOT, 'docs'), { recursive: true })
        .map(String)
        .filter((file) => file.endsWith('.md'))
        .map((file) => join(ROOT, 'docs', file)),
    ];
    const written = new Set<string>();
    for (const page of pages) {
      for (const [, file] of readFileSync(page, 'utf8').matchAll(
        /--(?:report|out) ([\w.-]+\.\w+)(?=[\s`|)]|$)/g,
      ))
        written.add(file);
    }
    expect([...written]).toEqual(expect.arrayContaining(['report.json', 'scores.csv']));
    const ignored = spawnSync('git', ['check-ignore', ...written], { cwd: ROOT, encoding: 'utf8' }).stdout;
    expect([...written].filter((file) => !ignored.split('\n').includes(file))).toEqual([]);
    // A model trained for a deployment is committed with it (-c modelPath=model/my-plant.json).
    expect(spawnSync('git', ['check-ignore', 'model/my-plant.json'], { cwd: ROOT }).status).toBe(1);
  });
});
