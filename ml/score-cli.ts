import { createWriteStream, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { csvCell } from '../lambdas/shared/csv';
import { createStreamDetector, parseDetectorModel } from '../lambdas/shared/detector';
import { readCsvDataset, splitRows } from './csv-dataset';
import { streamLength } from './dataset';
import { columnList, csvMapping, positiveInt, runCli } from './options';
import { PLANT_SETTINGS, trainModel } from './train';

/**
 * `npm run score`: a recorded CSV scored offline by the same detector, one output row per input row,
 * for users who want to look at their history before they stream it.
 */
const command = new Command('score')
  .description(
    'Score a recorded CSV of sensor readings with the detector; write timestamp, score, flag and reasons.',
  )
  .requiredOption('--csv <file>', 'the CSV to score')
  .requiredOption('--features <columns>', 'feature columns, comma-separated', columnList('--features'))
  .option('--timestamp <column>', 'timestamp column')
  .option('--key <column>', 'column naming the equipment (one stream per value)')
  .option('--delimiter <char>', 'column delimiter', ',')
  .option('--model <file>', 'a model artifact with these features (default: train on the first rows)')
  .option(
    '--train-rows <n>',
    'without --model: fit on this many first rows',
    positiveInt('--train-rows'),
    400,
  )
  .requiredOption('--out <file>', 'where to write the scores (CSV)')
  .showHelpAfterError()
  .action((options) =>
    runCli('score', async () => {
      const dataset = readCsvDataset(options.csv, csvMapping(options, 'score'));
      const model = options.model
        ? parseDetectorModel(JSON.parse(readFileSync(options.model, 'utf8')))
        : trainModel(splitRows(dataset, options.trainRows).train, PLANT_SETTINGS, {
            modelVersion: `fitted-on-${options.trainRows}-rows`,
            source: options.csv,
          });
      if (model.features.join() !== dataset.features.join()) {
        throw new Error(
          `the model's features (${model.features.join(', ')}) are not --features (${dataset.features.join(', ')})`,
        );
      }
      const detector = createStreamDetector(model);
      const out = createWriteStream(options.out);
      out.write(
        `${[options.key ?? 'stream', 'timestamp', 'score', 'is_anomaly', 'anomalous_features', 'reasons'].join(',')}\n`,
      );
      const width = dataset.features.length;
      let rows = 0;
      let flagged = 0;
      for (const stream of dataset.streams) {
        for (let i = 0; i < streamLength(stream); i++) {
          const result = detector.scoreValues(
            stream.key,
            stream.timestamps[i],
            stream.values.subarray(i * width, (i + 1) * width),
          );
          const time = options.timestamp ? new Date(stream.timestamps[i]).toISOString() : String(i);
          const cells = [
            stream.key,
            time,
            result.score.toFixed(4),
            String(result.isAnomaly),
            result.anomalous.map((f) => dataset.features[f]).join('; '),
            result.reasons.join('; '),
          ];
          out.write(`${cells.map(csvCell).join(',')}\n`);
          rows++;
          if (result.isAnomaly) flagged++;
        }
      }
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      console.log(
        `wrote ${options.out}: ${rows} rows scored, ${flagged} flagged (model ${model.modelVersion})`,
      );
    }),
  );

command.parseAsync(process.argv);
