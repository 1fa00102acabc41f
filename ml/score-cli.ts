import '../cli/sdk-warning';
import { createWriteStream } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { seeHelp } from '../cli/usage';
import { csvCell } from '../lambdas/shared/csv';
import {
  DEFAULT_ADAPTIVE_SETTINGS,
  type StreamDetectorConfig,
  type ValueLimits,
} from '../lambdas/shared/detector';
import { parseValueLimits } from '../lambdas/shared/detector/value-limits';
import { loadModelFile } from '../lambdas/shared/model-file';
import { type CsvMapping, readCsvDataset } from './csv-dataset';
import {
  columnList,
  csvMapping,
  positiveInt,
  runCli,
  schemaCsvMapping,
  schemaDetectorConfig,
} from './options';
import { scoreStreams } from './score-streams';

/**
 * `npm run score`: a recorded CSV scored offline by the pipeline's detector, one output row per input
 * row, for users who want to look at their history before they stream it. No training is needed: the
 * detector learns each stream's normal as it reads it. A model artifact or written limits add absolute
 * limits that never adapt.
 */
const command = new Command('score')
  .description(
    'Score a recorded CSV of sensor readings with the detector; write timestamp, score, flag and reasons.',
  )
  .requiredOption('--csv <file>', 'the CSV to score')
  .option(
    '--features <columns>',
    "feature columns, comma-separated (with --schema: default the schema's features)",
    columnList('--features'),
  )
  .option(
    '--schema <file>',
    'a reading schema (JSON or YAML): its features read from their source columns, named, labelled and limited as it declares',
  )
  .option(
    '--timestamp <column>',
    "timestamp column (without it, daily and weekly patterns are not learnt; with --schema: default the schema's timestamp field, if a column)",
  )
  .option(
    '--key <column>',
    "column naming the equipment, one stream per value (with --schema: default the schema's equipment field, if a column)",
  )
  .option('--delimiter <char>', 'column delimiter', ',')
  .option('--model <file>', 'a trained model artifact: absolute limits for the features it names')
  .option('--limits <list>', 'absolute limits, e.g. "temperature=40:80,humidity=:95"', parseLimits)
  .option(
    '--train-rows <n>',
    `the first N rows of each stream are a warm-up: learnt from, never flagged (default ${DEFAULT_ADAPTIVE_SETTINGS.warmupReadings})`,
    positiveInt('--train-rows'),
  )
  .option(
    '--horizon-minutes <m>',
    `a lasting change is the new normal after at most this long (default ${DEFAULT_ADAPTIVE_SETTINGS.horizonMs / 60_000})`,
    positiveInt('--horizon-minutes'),
  )
  .option('--threshold <score>', 'flag readings scoring at least this', parseThreshold, 0.5)
  .requiredOption('--out <file>', 'where to write the scores (CSV)')
  .showHelpAfterError(seeHelp('npm run score'))
  .action((options) =>
    runCli('score', async () => {
      let mapping: CsvMapping;
      let described: Partial<StreamDetectorConfig> = { limits: options.limits };
      if (options.schema) {
        const read = schemaCsvMapping(options, [options.csv]);
        mapping = read.mapping;
        described = schemaDetectorConfig(read, options.limits);
      } else {
        mapping = csvMapping(options, 'score');
      }
      const dataset = readCsvDataset(options.csv, mapping);
      const model = options.model ? loadModelFile(options.model) : undefined;
      const warmup = options.trainRows ?? DEFAULT_ADAPTIVE_SETTINGS.warmupReadings;
      const out = createWriteStream(options.out);
      out.write(
        `${[mapping.key ?? 'stream', 'timestamp', 'score', 'is_anomaly', 'anomalous_features', 'reasons'].map(csvCell).join(',')}\n`,
      );
      let rows = 0;
      let flagged = 0;
      const { modelVersion } = scoreStreams(
        dataset,
        {
          ...described,
          model,
          scoreThreshold: options.threshold,
          adaptive: {
            warmupReadings: warmup,
            ...(options.horizonMinutes ? { horizonMs: options.horizonMinutes * 60_000 } : {}),
          },
        },
        (stream, i, result) => {
          const time = stream.timestampTexts?.[i] ?? String(i);
          // Key, time and lists are text, neutralised by csvCell; score and flag are written as they are.
          const features = result.anomalous.map((f) => dataset.features[f]).join('; ');
          out.write(
            `${csvCell(stream.key)},${csvCell(time)},${result.score.toFixed(4)},${result.isAnomaly},` +
              `${csvCell(features)},${csvCell(result.reasons.join('; '))}\n`,
          );
          rows++;
          if (result.isAnomaly) flagged++;
        },
      );
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      console.log(
        `wrote ${options.out}: ${rows} rows scored, ${flagged} flagged (detector ${modelVersion}; the first ${warmup} rows of each stream were its warm-up)`,
      );
    }),
  );

function parseLimits(text: string): Record<string, ValueLimits> {
  try {
    return parseValueLimits(text);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

function parseThreshold(text: string): number {
  const threshold = Number(text);
  if (!(threshold > 0 && threshold < 1)) throw new InvalidArgumentError('--threshold is between 0 and 1.');
  return threshold;
}

command.parseAsync(process.argv);
