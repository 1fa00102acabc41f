import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * The README and the pages of docs/ are the guide a newcomer has: every command they show must run.
 * This checks, in their fenced shell blocks (```sh), that every `npm run X` (and npm start / npm test)
 * names a script of package.json and every `npx cdk <command>` is a command of the installed CDK CLI;
 * in those blocks, in their code spans and in their relative links, that every repository path they
 * name exists; and that every link to a section (#anchor) names a heading of its page.
 * Placeholders (<ProcessedBucketName>, FILE.csv under a folder that is not the repository's) are let
 * through, and so are the files a command shown in the README writes (--out, --report, ...).
 */

const ROOT = join(__dirname, '..');

interface ReadmeFacts {
  scripts: ReadonlySet<string>;
  cdkCommands: ReadonlySet<string>;
  /** Top-level entries of the repository (files and folders) that paths may start with. */
  topLevel: ReadonlySet<string>;
  exists: (path: string) => boolean;
}

const SHELL_FENCE = /^```(?:sh|bash|shell)[ \t]*\n([\s\S]*?)^```/gm;
/** Options whose value is a file the command writes: it need not exist beforehand. */
const OUTPUT_OPTIONS = new Set(['--out', '--report', '--labels', '--outputs-file', '--output', '-o']);
/** CDK CLI options that take a value, so the command is the token after it. */
const CDK_VALUE_OPTIONS = new Set([
  '-c',
  '--context',
  '-a',
  '--app',
  '--profile',
  '--region',
  '-o',
  '--output',
]);
/** Conventional root files: a bare mention of one of these must be a file of the repository. */
const ROOT_FILES =
  /^(package\.json|tsconfig\.json|cdk\.json|cdk\.context\.json|biome\.json|jest\.config\.js|\.cfnlintrc\.yaml|README\.md)$/;

/** The shell commands of the fenced shell blocks, continuation lines joined, comments dropped. */
function shellCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const [, body] of markdown.matchAll(SHELL_FENCE)) {
    for (const line of body.replace(/\\\n/g, ' ').split('\n')) {
      const command = stripComment(line).trim();
      if (command) commands.push(command);
    }
  }
  return commands;
}

/** Drops a trailing `# comment` (a # after whitespace, outside quotes). */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** The text of every inline code span outside fenced blocks. */
function codeSpans(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...prose.matchAll(/(`+)([^`][\s\S]*?)\1/g)].map((match) => match[2]);
}

/** Relative link targets: [text](path), outside code. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^([a-z]+:|#)/i.test(target))
    .map((target) => target.replace(/#.*$/, ''));
}

const tokensOf = (text: string) =>
  text
    .split(/[\s"'`(),;|&]+/)
    .flatMap((token) => token.split('='))
    .map((token) => token.replace(/[.:,]+$/, ''))
    .filter(Boolean);

function isPlaceholder(token: string): boolean {
  return /[<>*{}$]|:\/\//.test(token) || /^[A-Z_]+$/.test(token);
}

/** Repository paths a text names: tokens starting with a top-level folder of the repository, or a root file. */
function repositoryPaths(text: string, facts: ReadmeFacts): string[] {
  return tokensOf(text).filter((token) => {
    if (isPlaceholder(token)) return false;
    if (ROOT_FILES.test(token)) return true;
    const [first, ...rest] = token.split('/');
    return rest.length > 0 && facts.topLevel.has(first);
  });
}

/**
 * Every problem of the README (or a page of docs/, whose relative links start from `folder`), one line
 * each; empty when every command and path is real.
 */
function checkReadme(markdown: string, facts: ReadmeFacts, folder = ''): string[] {
  const problems: string[] = [];
  const commands = shellCommands(markdown);
  const spans = codeSpans(markdown);

  // Files the README's own commands write.
  const outputs = new Set<string>();
  for (const command of commands) {
    const tokens = command.split(/\s+/);
    tokens.forEach((token, i) => {
      if (OUTPUT_OPTIONS.has(token) && tokens[i + 1]) outputs.add(tokens[i + 1]);
    });
  }

  for (const text of [...commands, ...spans]) {
    for (const [, script] of text.matchAll(/\bnpm run(?:-script)? +(?:(?:-s|--silent) +)?([^\s;|&]+)/g)) {
      if (!facts.scripts.has(script))
        problems.push(`npm run ${script}: no such script in package.json (in: ${text})`);
    }
    for (const [, script] of text.matchAll(/\bnpm (start|test)\b/g)) {
      if (!facts.scripts.has(script)) problems.push(`npm ${script}: no "${script}" script in package.json`);
    }
    for (const match of text.matchAll(/\bnpx cdk((?: +\S+)*)/g)) {
      const tokens = match[1].trim().split(/ +/);
      let i = 0;
      while (i < tokens.length && tokens[i].startsWith('-')) i += CDK_VALUE_OPTIONS.has(tokens[i]) ? 2 : 1;
      const command = tokens[i];
      if (command && !facts.cdkCommands.has(command))
        problems.push(`npx cdk ${command}: not a command of the CDK CLI (in: ${text})`);
    }
  }

  const paths = new Set([...commands, ...spans].flatMap((text) => repositoryPaths(text, facts)));
  for (const link of relativeLinks(markdown)) paths.add(posix.normalize(posix.join(folder, link)));
  for (const path of paths) {
    if (outputs.has(path)) continue;
    if (!facts.exists(path)) problems.push(`${path}: no such file or folder in the repository`);
  }
  return problems;
}

/** The top-level entries of the repository: what is on disk, less what .gitignore keeps out of it. */
function topLevelEntries(): Set<string> {
  const ignored = new Set(
    readFileSync(join(ROOT, '.gitignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim().replace(/\/$/, ''))
      .filter(Boolean),
  );
  ignored.add('.git');
  return new Set(readdirSync(ROOT).filter((name) => !ignored.has(name)));
}

/** The commands of the installed CDK CLI, and their aliases, from `cdk --help`. */
function cdkCommands(): Set<string> {
  const help = execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), '--help'],
    {
      encoding: 'utf8',
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: '1', CDK_DISABLE_VERSION_CHECK: '1' },
    },
  );
  const commands = new Set([...help.matchAll(/^ {2}cdk ([a-z][a-z-]*)/gm)].map((match) => match[1]));
  for (const [, aliases] of help.matchAll(/\[aliases: ([^\]]+)\]/g))
    for (const alias of aliases.split(/,\s*/)) commands.add(alias.trim());
  return commands;
}

/** A heading's anchor, as GitHub makes it: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (outside fenced blocks), a repeated one numbered as GitHub does. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} +(.+)$/gm)) {
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/**
 * Links to a section that name no heading of their page: `#anchor` in `file` (a path from the
 * repository's root), or `page.md#anchor` relative to its folder. `read` gives a page's text, or
 * undefined when there is none.
 */
function brokenAnchors(file: string, read: (path: string) => string | undefined): string[] {
  const markdown = read(file) ?? '';
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`]*`/g, '');
  const problems: string[] = [];
  for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || !target.includes('#')) continue;
    const [path, anchor] = target.split('#');
    const page = path ? posix.normalize(posix.join(posix.dirname(file), path)) : file;
    const text = read(page);
    if (text !== undefined && !anchorsOf(text).has(anchor))
      problems.push(`${file}: ${target}: no such section`);
  }
  return problems;
}

let facts: ReadmeFacts;

beforeAll(() => {
  const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  facts = {
    scripts: new Set(Object.keys(packageJson.scripts)),
    cdkCommands: cdkCommands(),
    topLevel: topLevelEntries(),
    exists: (path) => existsSync(join(ROOT, path)),
  };
});

describe('README.md', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  test('has shell blocks with the commands a newcomer runs: to try it, and to deploy it', () => {
    const commands = shellCommands(readme);
    for (const expected of ['npm ci', 'npm start', 'npx cdk bootstrap', 'npx cdk deploy --all'])
      expect(commands).toContain(expected);
  });

  test('the pages of docs/ it links to show how to test, empty the data and destroy', () => {
    const page = (name: string) => shellCommands(readFileSync(join(ROOT, 'docs', name), 'utf8'));
    expect(readme).toContain('](docs/local.md)');
    expect(page('local.md')).toContain('npm test');
    expect(readme).toContain('](docs/operate.md)');
    expect(page('operate.md').some((c) => c.startsWith('npm run clean-data -- --target aws'))).toBe(true);
    expect(readme).toContain('](docs/deploy.md)');
    expect(page('deploy.md').some((c) => c.startsWith('npx cdk destroy --all'))).toBe(true);
  });

  test('every npm script and cdk command it shows exists, and every repository path it names is there', () => {
    expect(checkReadme(readme, facts)).toEqual([]);
  });

  test('the CDK CLI commands are read from the installed CLI', () => {
    for (const command of ['bootstrap', 'deploy', 'destroy', 'synth', 'diff', 'ls'])
      expect(facts.cdkCommands).toContain(command);
    expect(facts.cdkCommands).not.toContain('deplooy');
  });
});

describe('docs/', () => {
  const pages = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));

  test('the README links every page of docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const page of pages) expect(readme).toContain(`](docs/${page})`);
  });

  test('every link to a section, in the README and in docs/, names a heading of its page', () => {
    const read = (path: string) =>
      existsSync(join(ROOT, path)) && path.endsWith('.md')
        ? readFileSync(join(ROOT, path), 'utf8')
        : undefined;
    const files = ['README.md', ...pages.map((page) => `docs/${page}`)];
    expect(files.flatMap((file) => brokenAnchors(file, read))).toEqual([]);
  });

  test.each(pages)(
    'every npm script and cdk command %s shows exists, and every path it names is there',
    (page) => {
      expect(checkReadme(readFileSync(join(ROOT, 'docs', page), 'utf8'), facts, 'docs')).toEqual([]);
    },
  );
});

describe('the README check itself', () => {
  const fixture = (body: string) => `# Fixture\n\n${body}\n`;

  test('fails on a made-up npm script, in a shell block or a code span', () => {
    expect(checkReadme(fixture('```sh\nnpm ci\nnpm run made-up-script -- --target aws\n```'), facts)).toEqual(
      ['npm run made-up-script: no such script in package.json (in: npm run made-up-script -- --target aws)'],
    );
    expect(checkReadme(fixture('Run `npm run lst3` to see them.'), facts)).toEqual([
      'npm run lst3: no such script in package.json (in: npm run lst3)',
    ]);
  });

  test('fails on a cdk command that does not exist', () => {
    expect(checkReadme(fixture('```sh\nnpx cdk deplooy --all\n```'), facts)).toEqual([
      'npx cdk deplooy: not a command of the CDK CLI (in: npx cdk deplooy --all)',
    ]);
  });

  test('fails on a repository path that does not exist, in a command, a code span or a link', () => {
    expect(
      checkReadme(
        fixture(
          '```sh\nnpx cdk deploy --all -c modelPath=model/no-such-model.json\n```\n\nSee `sql/nothing.sql` and [the app](bin/nope.ts).',
        ),
        facts,
      ).sort(),
    ).toEqual(
      [
        'model/no-such-model.json: no such file or folder in the repository',
        'sql/nothing.sql: no such file or folder in the repository',
        'bin/nope.ts: no such file or folder in the repository',
      ].sort(),
    );
  });

  test('fails on a link to a section that is not there, in the page or in another', () => {
    const pages: Record<string, string> = {
      'README.md': fixture(
        '## Deploy to AWS\n\n[ok](#deploy-to-aws), [gone](#try-it), [ok](docs/a.md#settings-cdk-context)',
      ),
      'docs/a.md':
        '# A\n\n## Settings (CDK context)\n\n[ok](../README.md#deploy-to-aws), [gone](../README.md#outputs)\n',
    };
    const read = (path: string) => pages[path];
    expect(brokenAnchors('README.md', read)).toEqual(['README.md: #try-it: no such section']);
    expect(brokenAnchors('docs/a.md', read)).toEqual(['docs/a.md: ../README.md#outputs: no such section']);
  });

  test('lets placeholders, outputs of the commands shown, S3 keys and other folders through', () => {
    const text = fixture(
      [
        '```sh',
        'aws s3 cp s3://<ProcessedBucketName>/readings/dt=2026-11-23/ lake/ --recursive  # not # a path',
        'npm run train -- --input lake/*/*.csv --out model/my-plant.json',
        'npx cdk deploy --all -c modelPath=model/my-plant.json \\',
        '  -c alertEmail=ops@example.com',
        'npx cdk -c namePrefix=dev- destroy --all',
        '```',
        '',
        'Objects under `readings/dt=YYYY-MM-DD/hour=HH/<shard>.csv`, `quarantine/`, `/var/log/cloud-init-output.log`,',
        '`../shared/datasets/skab/`, `model/default-model.json`, `lib/`, `package.json`; see [the docs](https://example.com/a/b.md).',
      ].join('\n'),
    );
    expect(checkReadme(text, facts)).toEqual([]);
  });
});
