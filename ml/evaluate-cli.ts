import { join } from 'node:path';
import { Command, Option } from 'commander';
import { type Evaluation, evaluateCsv, evaluateSimulator, evaluateSkab } from './evaluate';
import type { Quality } from './metrics';
import { columnList, csvMapping, integer, positiveInt, runCli } from './options';

/** `npm run evaluate`: detection quality on the simulator, on SKAB, or on any labelled CSV. */
const command = new Command('evaluate')
  .description(
    'Measure the detector: precision, recall, F1, false and missed alarm rates, detection delay, beside a baseline.',
  )
  .addOption(
    new Option('--dataset <name>', 'simulator (labelled readings) or skab (../shared/datasets/skab)').choices(
      ['simulator', 'skab'],
    ),
  )
  .option('--seed <k>', 'simulator: seed of the evaluation readings', integer('--seed'), 1)
  .option('--count <n>', 'simulator: readings to evaluate on', positiveInt('--count'), 1_000_000)
  .option(
    '--train-seed <k>',
    'simulator: seed of the training readings (20 is the shipped model)',
    integer('--train-seed'),
    20,
  )
  .option('--train-count <n>', 'simulator: readings to train on', positiveInt('--train-count'), 300_000)
  .option('--skab-dir <dir>', 'where SKAB is', join(__dirname, '..', '..', 'shared', 'datasets', 'skab'))
  .option('--csv <file>', 'a labelled CSV of sensor readings (instead of --dataset)')
  .option('--features <columns>', 'CSV: feature columns, comma-separated', columnList('--features'))
  .option('--label <column>', 'CSV: ground-truth column (1 anomalous, 0 normal)')
  .option('--timestamp <column>', 'CSV: timestamp column')
  .option('--delimiter <char>', 'CSV: column delimiter', ',')
  .option('--train-rows <n>', 'CSV: rows at the start to train on', positiveInt('--train-rows'), 400)
  .option('--json', 'print the figures as JSON', false)
  .showHelpAfterError()
  .action((options) =>
    runCli('evaluate', async () => {
      let evaluation: Evaluation;
      if (options.csv) {
        evaluation = evaluateCsv(options.csv, csvMapping(options, 'evaluate --csv'), options.trainRows);
      } else if (options.dataset === 'skab') {
        evaluation = evaluateSkab(options.skabDir);
      } else if (options.dataset === 'simulator') {
        evaluation = evaluateSimulator({
          seed: options.seed,
          count: options.count,
          trainSeed: options.trainSeed,
          trainCount: options.trainCount,
        });
      } else {
        throw new Error('give --dataset simulator|skab, or --csv FILE with its columns');
      }
      console.log(options.json ? JSON.stringify(evaluation, null, 2) : formatEvaluation(evaluation));
    }),
  );

function line(
  name: string,
  q: Quality & { delays?: { mean: number; median: number; max: number; episodes: number; missed: number } },
): string {
  const delay = q.delays
    ? `; delay mean ${q.delays.mean.toFixed(1)}, median ${q.delays.median}, max ${q.delays.max} readings (${q.delays.episodes} episodes, ${q.delays.missed} missed)`
    : '';
  return `${name}: precision ${q.precision.toFixed(4)}, recall ${q.recall.toFixed(4)}, F1 ${q.f1.toFixed(4)}, FAR ${q.far.toFixed(2)}%, MAR ${q.mar.toFixed(2)}%${delay}`;
}

function formatEvaluation(evaluation: Evaluation): string {
  const lines = [`dataset: ${evaluation.dataset}`, line('detector', evaluation.detector)];
  if (evaluation.baseline) lines.push(line(`baseline (${evaluation.baseline.name})`, evaluation.baseline));
  const extra = evaluation.extra as
    | {
        withPlantSettings?: Quality;
        leaderboard?: { algorithm: string; f1: number; far: number; mar: number }[];
      }
    | undefined;
  if (extra?.withPlantSettings)
    lines.push(line('detector with PLANT_SETTINGS (chosen on SKAB: in-sample)', extra.withPlantSettings));
  if (extra?.leaderboard) {
    lines.push('SKAB leaderboard (outlier detection):');
    for (const entry of extra.leaderboard)
      lines.push(`  ${entry.algorithm}: F1 ${entry.f1}, FAR ${entry.far}%, MAR ${entry.mar}%`);
  }
  lines.push(...evaluation.notes.map((note) => `note: ${note}`));
  return lines.join('\n');
}

command.parseAsync(process.argv);
