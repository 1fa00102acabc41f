import '../cli/sdk-warning';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { seeHelp } from '../cli/usage';
import { FEATURES } from '../lambdas/shared/features';
import type { ReadingSchema } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { type CsvMapping, readCsvDataset } from './csv-dataset';
import { type Dataset, simulatorDataset } from './dataset';
import { columnList, csvMapping, integer, positiveInt, runCli, schemaCsvMapping } from './options';
import { DEFAULT_SETTINGS, type DetectorSettings, PLANT_SETTINGS, trainModel } from './train';

/**
 * `npm run train`: fits the detector and writes the versioned JSON artifact the Lambda loads. From the
 * simulator, or from CSV files: the CSV lake the pipeline writes (readings/*.csv in the processed
 * bucket: --features with the four feature columns, --key equipment_id, --timestamp timestamp, and
 * --label is_anomaly to leave out the readings the current model flagged) or any sensor CSV. With
 * --schema, the features are a reading schema's (read from its source columns, named by its names), so
 * the model deploys with that schema.
 */
const command = new Command('train')
  .description('Fit the anomaly detector and write its model artifact (JSON).')
  .option('--simulator', 'train on labelled simulator readings')
  .option('--count <n>', 'simulator: readings', positiveInt('--count'), 300_000)
  .option(
    '--seed <k>',
    'simulator: seed (the evaluation uses 1, 3, 4, 5: keep them out)',
    integer('--seed'),
    20,
  )
  .option('--input <files...>', 'CSV files to train on')
  .option(
    '--features <columns>',
    "CSV: feature columns, comma-separated (default: the lab's four, or the --schema's features)",
    columnList('--features'),
  )
  .option(
    '--schema <file>',
    "CSV: a reading schema (JSON or YAML): its features read from their source columns, and the model's features named as the schema names them (to deploy with it)",
  )
  .option(
    '--key <column>',
    "CSV: column naming the equipment, one stream per value (with --schema: default the schema's equipment field, if a column)",
  )
  .option(
    '--timestamp <column>',
    "CSV: timestamp column, rows of a stream are ordered by it (with --schema: default the schema's timestamp field, if a column)",
  )
  .option('--label <column>', 'CSV: readings to leave out of the normal fit (1 or true)')
  .option('--delimiter <char>', 'CSV: column delimiter', ',')
  .option(
    '--plant',
    'use the settings for slow 1 Hz plant data (SKAB-like) instead of the pipeline defaults',
    false,
  )
  .option('--model-version <name>', 'version recorded in the artifact (default: from the data and date)')
  .requiredOption('--out <file>', 'where to write the model artifact')
  .showHelpAfterError(seeHelp('npm run train'))
  .action((options) =>
    runCli('train', async () => {
      let dataset: Dataset;
      let source: string;
      let schema: ReadingSchema | undefined;
      if (options.simulator) {
        if (options.schema && !loadReadingSchema(options.schema).isLab) {
          throw new Error(
            "--simulator generates the lab's readings; a model for another reading schema is trained with --input FILE.csv --schema FILE",
          );
        }
        dataset = simulatorDataset(options.seed, options.count);
        source = dataset.name;
      } else if (options.input) {
        let mapping: CsvMapping;
        if (options.schema) {
          const read = schemaCsvMapping(options, options.input);
          // A model of other features than the schema's could not be deployed with it.
          const other = read.mapping.features.filter((_, f) => !read.features[f]);
          if (other.length > 0) {
            throw new Error(
              `--features names ${other.join(', ')}, which ${options.schema} does not declare (its features, by name or source column: ${read.schema.features.map((f) => (f.source === f.name ? f.name : `${f.name} or "${f.source}"`)).join(', ')})`,
            );
          }
          mapping = read.mapping;
          schema = read.schema;
        } else {
          mapping = csvMapping({ features: [...FEATURES], ...options }, 'train --input');
        }
        dataset = readCsvDataset(options.input, mapping);
        source = options.input.join(', ');
      } else {
        throw new Error('give --simulator, or --input FILE.csv with --features');
      }
      const settings: DetectorSettings = options.plant ? PLANT_SETTINGS : DEFAULT_SETTINGS;
      const modelVersion =
        options.modelVersion ??
        `regime-level-${options.simulator ? 'simulator' : (schema?.name ?? 'csv')}-${new Date().toISOString().slice(0, 10)}`;
      const model = trainModel(dataset, settings, {
        modelVersion,
        source,
        ...(schema ? { notes: `features of the reading schema ${schema.id}` } : {}),
      });
      writeFileSync(options.out, `${JSON.stringify(model, null, 2)}\n`);
      const size = Buffer.byteLength(JSON.stringify(model));
      console.log(
        `wrote ${options.out}: ${model.modelVersion}, ${model.features.length} features, trained on ${model.training.rows} readings (${size} bytes)`,
      );
      for (const [f, p] of model.parameters.entries()) {
        console.log(
          `  ${model.features[f]}: centre ${p.mean.toFixed(3)}, noise ${p.noiseStd.toFixed(3)}${p.noiseWidth === undefined ? '' : ` (bounded, width ${p.noiseWidth.toFixed(3)}: levels by midrange)`}, normal levels ${p.levelLow.toFixed(3)} .. ${p.levelHigh.toFixed(3)}`,
        );
      }
    }),
  );

command.parseAsync(process.argv);
