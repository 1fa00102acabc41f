import '../cli/sdk-warning';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { seeHelp } from '../cli/usage';
import { type Evaluation, evaluateCsv, evaluateSimulator, evaluateSkab } from './evaluate';
import { evaluateNab, type NabEvaluation } from './evaluate-nab';
import type { Quality } from './metrics';
import { DEFAULT_NAB_DIR } from './nab-corpus';
import { type CrossValidation, crossValidateNab } from './nab-cross-validation';
import { NAB_PROFILE_NAMES } from './nab-scoring';
import {
  columnList,
  csvMapping,
  integer,
  positiveInt,
  runCli,
  schemaCsvMapping,
  schemaDetectorConfig,
} from './options';
import { PLANT_SETTINGS } from './train';

/** `npm run evaluate`: detection quality on the simulator, on SKAB, or on any labelled CSV. */
const command = new Command('evaluate')
  .description(
    'Measure the detector: precision, recall, F1, false and missed alarm rates, detection delay, beside a baseline.',
  )
  .addOption(
    new Option(
      '--dataset <name>',
      'simulator (labelled readings), skab (../shared/datasets/skab) or nab (../shared/datasets/nab-dev)',
    ).choices(['simulator', 'skab', 'nab']),
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
  .option('--nab-dir <dir>', 'where the NAB corpus is (data/, labels/)', DEFAULT_NAB_DIR)
  .option(
    '--cold-start-minutes <m>',
    'replay a cold start every M minutes of stream time (state saved, new detector, state restored)',
    positiveInt('--cold-start-minutes'),
  )
  .option(
    '--cross-validate',
    'nab: choose the adaptive settings by leave-one-category-out cross-validation (a few minutes)',
    false,
  )
  .option('--csv <file>', 'a labelled CSV of sensor readings (instead of --dataset)')
  .option(
    '--features <columns>',
    "CSV: feature columns, comma-separated (with --schema: default the schema's features)",
    columnList('--features'),
  )
  .option(
    '--schema <file>',
    'CSV: a reading schema (JSON or YAML): its features read from their source columns, with its absolute limits',
  )
  .option('--label <column>', 'CSV: ground-truth column (1 anomalous, 0 normal)')
  .option(
    '--timestamp <column>',
    "CSV: timestamp column (with --schema: default the schema's timestamp field, if a column)",
  )
  .option('--delimiter <char>', 'CSV: column delimiter', ',')
  .option('--train-rows <n>', 'CSV: rows at the start to train on', positiveInt('--train-rows'), 400)
  .option('--json', 'print the figures as JSON', false)
  .showHelpAfterError(seeHelp('npm run evaluate'))
  .action((options) =>
    runCli('evaluate', async () => {
      if (options.schema && !options.csv) {
        throw new Error(
          '--schema applies to --csv FILE (the simulator, SKAB and NAB are read with their own columns)',
        );
      }
      const coldStartEveryMs =
        options.coldStartMinutes === undefined ? undefined : options.coldStartMinutes * 60_000;
      if (options.dataset === 'nab' && options.crossValidate) {
        const cv = crossValidateNab(options.nabDir, (done, total) => {
          if (done % 20 === 0 || done === total)
            process.stderr.write(`cross-validation: ${done}/${total} settings\n`);
        });
        console.log(options.json ? JSON.stringify(cv, null, 2) : formatCrossValidation(cv));
        return;
      }
      if (options.dataset === 'nab') {
        const nab = evaluateNab(options.nabDir, { coldStartEveryMs });
        console.log(options.json ? JSON.stringify(nab, null, 2) : formatNab(nab));
        return;
      }
      let evaluation: Evaluation;
      if (options.csv && options.schema) {
        // One stream per file, as without a schema: no default key.
        const read = schemaCsvMapping(options, [options.csv], { defaultKey: false });
        const { limits } = schemaDetectorConfig(read);
        evaluation = evaluateCsv(options.csv, read.mapping, options.trainRows, PLANT_SETTINGS, { limits });
      } else if (options.csv) {
        evaluation = evaluateCsv(options.csv, csvMapping(options, 'evaluate --csv'), options.trainRows);
      } else if (options.dataset === 'skab') {
        evaluation = evaluateSkab(options.skabDir, coldStartEveryMs);
      } else if (options.dataset === 'simulator') {
        evaluation = evaluateSimulator({
          seed: options.seed,
          count: options.count,
          trainSeed: options.trainSeed,
          trainCount: options.trainCount,
          coldStartEveryMs,
        });
      } else {
        throw new Error('give --dataset simulator|skab|nab, or --csv FILE with its columns');
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

function formatCrossValidation(cv: CrossValidation): string {
  return [
    `leave-one-category-out cross-validation over ${cv.configurations} settings (NAB standard profile at 0.5):`,
    ...cv.folds.map(
      (f) =>
        `  held out ${f.heldOut.padEnd(22)} raw ${f.heldOutRaw.toFixed(2).padStart(7)} (best any setting reaches on it: ${f.bestPossibleRaw.toFixed(2)}) with ${JSON.stringify(f.chosen)}`,
    ),
    `held-out score (normalised): ${cv.heldOut.toFixed(2)}`,
    `chosen by most folds: ${JSON.stringify(cv.chosen)}`,
    `in-sample score over the grid: min ${cv.gridMin.toFixed(2)}, median ${cv.gridMedian.toFixed(2)}, max ${cv.gridMax.toFixed(2)}`,
  ].join('\n');
}

function formatNab(nab: NabEvaluation): string {
  const cell = (value: number) => value.toFixed(2).padStart(9);
  const lines = [
    `dataset: ${nab.dataset}`,
    `detector: ${nab.detector}`,
    `${'NAB normalised score'.padEnd(40)}${NAB_PROFILE_NAMES.map((p) => p.padStart(20)).join('')}`,
    `${`this detector at ${nab.shipped.threshold} (shipped)`.padEnd(40)}${NAB_PROFILE_NAMES.map((p) => cell(nab.shipped[p]).padStart(20)).join('')}`,
    `${'this detector, threshold optimised'.padEnd(40)}${NAB_PROFILE_NAMES.map((p) => `${cell(nab.optimised[p])} @${nab.optimised.thresholds[p].toFixed(3)}`.padStart(20)).join('')}`,
    'published detectors, thresholds optimised on these files:',
    ...nab.reference.optimised.map(
      (r) => `  ${r.detector.padEnd(38)}${NAB_PROFILE_NAMES.map((p) => cell(r[p]).padStart(20)).join('')}`,
    ),
    'published detectors at 0.5 (standard):',
    ...nab.reference.shipped.map((r) => `  ${r.detector.padEnd(38)}${cell(r.standard).padStart(20)}`),
    'per category, at 0.5, standard profile:',
    ...nab.categories.map(
      (c) =>
        `  ${c.category.padEnd(24)} ${c.files} files, windows detected ${c.detected} of ${c.windows}, ${c.falsePositives} detections outside windows, raw ${c.raw.toFixed(2)}`,
    ),
  ];
  if (nab.coldStarts !== undefined) lines.push(`cold starts replayed: ${nab.coldStarts}`);
  lines.push(...nab.notes.map((note) => `note: ${note}`));
  return lines.join('\n');
}

command.parseAsync(process.argv);
