import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCost } from '../../cost/cli';
import { BENCH_TRANSFORM_READINGS_PER_SECOND } from '../../cost/model';

const COST_PAGE = join(__dirname, '..', '..', 'docs', 'cost.md');
const BENCHMARKS_PAGE = join(__dirname, '..', '..', 'docs', 'benchmarks.md');
const START = '<!-- cost-table:start -->';
const END = '<!-- cost-table:end -->';

/** The cost tables of docs/cost.md: `npm run cost -- --rate 3000 --markdown`, regenerated here. */
test("docs/cost.md's cost table is the output of npm run cost -- --rate 3000 --markdown", async () => {
  const page = readFileSync(COST_PAGE, 'utf8');
  const from = page.indexOf(START);
  const to = page.indexOf(END);
  expect(from).toBeGreaterThan(0);
  expect(to).toBeGreaterThan(from);
  const block = page.slice(from + START.length, to).trim();

  const lines: string[] = [];
  await runCost(
    {
      rate: 3000,
      equipment: 3,
      billing: 'on-demand',
      seed: 1,
      badRatio: 0,
      context: {},
      json: false,
      markdown: true,
    },
    (text) => lines.push(text),
  );
  // When this fails after a change of the transform, the prices or the settings, regenerate the block:
  // npm run -s cost -- --rate 3000 --markdown
  expect(block).toBe(lines.join('\n').trim());
}, 120_000);

/** The Lambda line's CPU figure is the row of docs/benchmarks.md, not a number of its own. */
test("the cost model's transform CPU figure is the figure of docs/benchmarks.md", () => {
  const page = readFileSync(BENCHMARKS_PAGE, 'utf8');
  const row = page.split('\n').find((line) => line.startsWith('| transform without I/O'));
  const figure = row?.match(/\| ([\d,]+) readings\/s/)?.[1];
  expect(figure).toBeDefined();
  expect(Number(figure?.replaceAll(',', ''))).toBe(BENCH_TRANSFORM_READINGS_PER_SECOND);
});
