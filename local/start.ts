import '../cli/sdk-warning';
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { seeHelp } from '../cli/usage';
import {
  addReplayOptions,
  checkMappedFeatures,
  equipmentIdOption,
  equipmentIds,
  equipmentTexts,
  schemaOption,
} from '../simulator/schema-options';
import { runLocal } from './run';

const number = (name: string, check: (n: number) => boolean, rule: string) => (value: string) => {
  const parsed = Number(value);
  if (!check(parsed)) throw new InvalidArgumentError(`${name} must be ${rule}.`);
  return parsed;
};
const positiveInt = (name: string) => number(name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');

export function startCommand(out: (line: string) => void, signal: AbortSignal): Command {
  const command = new Command('start')
    .description(
      'Run the whole pipeline on this machine (embedded Kinesis, DynamoDB and S3; the Lambda handlers; a local Firehose and SNS) fed by the simulator (or a recorded CSV file, --replay), with a live dashboard.',
    )
    .addOption(
      new Option('--count <n>', 'send n readings, wait until all are processed, report, and exit')
        .argParser(positiveInt('--count'))
        .conflicts('duration'),
    )
    .option(
      '--duration <s>',
      'send for s seconds, then finish as with --count (one or the other)',
      number('--duration', (n) => n > 0, 'positive'),
    )
    .option(
      '--rate <r>',
      'readings per second',
      number('--rate', (n) => n > 0, 'positive'),
      1000,
    )
    .option(
      '--seed <k>',
      'simulator seed (default: random, printed)',
      number('--seed', Number.isInteger, 'an integer'),
    )
    .option(
      '--bad-ratio <f>',
      'fraction of malformed readings to inject',
      number('--bad-ratio', (n) => n >= 0 && n <= 1, 'between 0 and 1'),
      0,
    )
    .option(
      '--equipment <ids>',
      "equipment ids, comma-separated (default: the schema's simulation equipment, the lab's 101,102,103)",
      equipmentTexts,
    )
    .option('--schema <file>', "the readings' schema, JSON or YAML (default: the lab's, schemas/lab.json)")
    .option(
      '--replay <file>',
      'send the rows of a recorded CSV file instead of generated readings (the options below as for npm run simulate)',
    );
  return addReplayOptions(command)
    .option('--shards <n>', 'shards of the input stream', positiveInt('--shards'), 1)
    .option('--report <file>', 'write the JSON report of a --count or --duration run here')
    .option(
      '--curate',
      'with --count or --duration: then curate every hour of the CSV lake into curated/ (Parquet, as npm run curate) and report the curated counts',
    )
    .option('--no-dashboard', 'do not serve the dashboard')
    .option(
      '--port <p>',
      'dashboard port on 127.0.0.1 (default: a free one)',
      number('--port', (n) => Number.isInteger(n) && n >= 0 && n < 65_536, 'a port number'),
    )
    .option('--data-dir <dir>', "keep the services' data on disk here (default: in memory)")
    .option('--quiet', 'no progress lines', false)
    .showHelpAfterError(seeHelp('npm start'))
    .action(async (options, command: Command) => {
      if (options.curate && options.count === undefined && options.duration === undefined) {
        throw new InvalidArgumentError(
          '--curate needs --count or --duration (it runs once the run is over).',
        );
      }
      if (options.report && options.count === undefined && options.duration === undefined) {
        throw new InvalidArgumentError(
          '--report needs --count or --duration (a run without them ends with Ctrl-C).',
        );
      }
      const given = (key: string) => !['default', undefined].includes(command.getOptionValueSource(key));
      const schema = schemaOption(options.schema);
      checkMappedFeatures(options.map, schema);
      if (options.replay) {
        const generatorOnly = ['seed', 'badRatio', 'equipment'].filter(given);
        if (generatorOnly.length > 0) {
          const flags = generatorOnly.map((key) => `--${key === 'badRatio' ? 'bad-ratio' : key}`);
          throw new InvalidArgumentError(
            `${flags.join(', ')} ${flags.length > 1 ? 'do' : 'does'} not apply to --replay: a replay sends the rows of the file as they are (--equipment-id ID or --equipment-column COL for their equipment)`,
          );
        }
      } else {
        const replayOnly = ['map', 'timestampColumn', 'equipmentId', 'equipmentColumn', 'delimiter', 'speed']
          .filter(given)
          .map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
        if (replayOnly.length > 0) {
          throw new InvalidArgumentError(
            `${replayOnly.join(', ')} only ${replayOnly.length > 1 ? 'apply' : 'applies'} to --replay`,
          );
        }
      }
      const report = await runLocal({
        count: options.count,
        durationSeconds: options.duration,
        rate: options.rate,
        seed: options.seed ?? randomInt(1, 2 ** 31),
        badRatio: options.badRatio,
        schemaFile: options.schema,
        equipment: options.equipment ? equipmentIds(options.equipment, schema) : undefined,
        replay: options.replay
          ? {
              file: options.replay,
              map: options.map,
              timestampColumn: options.timestampColumn,
              equipmentId:
                options.equipmentId === undefined
                  ? undefined
                  : equipmentIdOption(options.equipmentId, schema),
              equipmentColumn: options.equipmentColumn,
              delimiter: options.delimiter,
              speed: options.speed,
              rate: given('rate') ? options.rate : undefined,
            }
          : undefined,
        dataDir: options.dataDir,
        shards: options.shards,
        dashboard: options.dashboard,
        port: options.port ?? 0,
        reportFile: options.report,
        curate: options.curate === true,
        quiet: options.quiet,
        out,
        signal,
      });
      if (report && report.problems.length > 0) process.exitCode = 1;
    });
}

if (require.main === module) {
  const stopping = new AbortController();
  let interrupts = 0;
  const stop = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    console.log('\nStopping (Ctrl-C again to quit at once)...');
    stopping.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  startCommand((line) => console.log(line), stopping.signal)
    .parseAsync(process.argv)
    .then(() => process.exit())
    .catch((error: Error) => {
      console.error(`npm start: ${error.message}`);
      process.exit(1);
    });
}
