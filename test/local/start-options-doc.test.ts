import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCommand } from '../../local/start';

const ROOT = join(__dirname, '..', '..');

/** The table that follows the line introducing `npm start`'s options, in the README or a page of docs/. */
function startOptionsTable(): string {
  const pages = [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'docs'), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.md'))
      .map((file) => join(ROOT, 'docs', file)),
  ];
  for (const page of pages) {
    const lines = readFileSync(page, 'utf8').split('\n');
    const start = lines.findIndex((line) => line.includes('`npm start` options'));
    if (start < 0) continue;
    const first = lines.findIndex((line, i) => i > start && line.startsWith('|'));
    const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
    return lines.slice(first, end).join('\n');
  }
  throw new Error('no "`npm start` options" table in the README or docs/');
}

test("the docs' npm start options table lists every option of npm start --help", () => {
  const table = startOptionsTable();
  const flags = startCommand(() => {}, new AbortController().signal)
    .options.map((option) => option.long as string)
    .filter((flag) => flag !== '--help');
  expect(flags).toEqual(expect.arrayContaining(['--equipment', '--quiet', '--equipment-id']));
  expect(flags.filter((flag) => !new RegExp(`\`${flag}[\` ]`).test(table))).toEqual([]);
});
