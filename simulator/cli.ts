import '../cli/sdk-warning';
import { Command, InvalidArgumentError, Option } from 'commander';
import { explainAwsError } from '../cli/aws-access';
import { readLocalEndpoints } from '../cli/targets';
import { npmBannerNote, seeHelp } from '../cli/usage';
import { createKinesisClient, type KinesisConnection } from '../lambdas/shared/aws/clients';
import type { EquipmentId } from '../lambdas/shared/reading';
import type { ReadingSchema } from '../lambdas/shared/reading-schema';
import { DEFAULT_BURST_SIZE, LAB_EQUIPMENT, MAX_BURST_SIZE } from './generator';
import { createReplaySource, DEFAULT_REPLAY_EQUIPMENT_ID, MAX_RECORD_SPAN_MS, readRecording } from './replay';
import {
  DEFAULT_RATE,
  type Destination,
  type LoopSettings,
  type RunSummary,
  runSimulator,
  runSource,
  SimulatorSendError,
} from './run';
import {
  addReplayOptions,
  checkMappedFeatures,
  equipmentIdOption,
  equipmentIds,
  equipmentSeries,
  equipmentTexts,
  generatorSchemaLine,
  outOfRangeWarning,
  replayLine,
  replayMapping,
  replayPace,
  replaySchemaLine,
  replaySummaryLine,
  schemaOption,
  undeliveredPart,
} from './schema-options';

export { formatShift } from './schema-options';

/** `npm run simulate`: the lab's stream.py, in TypeScript. */

type SimulatorTarget = 'aws' | 'local' | 'stdout';

interface SimulateOptions {
  target: SimulatorTarget;
  stream: string;
  region?: string;
  endpoint?: string;
  rate: number;
  count?: number;
  duration?: number;
  schema?: string;
  equipment?: string[];
  equipmentCount?: number;
  burstSize: number;
  seed?: number;
  labels?: string;
  badRatio: number;
  quiet: boolean;
  replay?: string;
  map?: Record<string, string>;
  timestampColumn?: string;
  equipmentId?: string;
  equipmentColumn?: string;
  delimiter: string;
  speed?: number;
}

export interface SimulatorIo {
  /** Records go here with `--target stdout`, progress otherwise. */
  stdout: NodeJS.WritableStream;
  /** Warnings, errors, and progress with `--target stdout`. */
  stderr: NodeJS.WritableStream;
  /** Ctrl-C: stop generating, send what is buffered, print the summary. */
  signal?: AbortSignal;
}

/** kinesalite (under `npm start`) accepts any key; the SDK only needs one to sign with. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const numberOption =
  (name: string, accept: (n: number) => boolean, what: string) =>
  (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !accept(parsed)) throw new InvalidArgumentError(`${name} must be ${what}.`);
    return parsed;
  };
const positiveInt = (name: string) =>
  numberOption(name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
const positive = (name: string) =>
  numberOption(name, (n) => n > 0 && Number.isFinite(n), 'a positive number');

const SCHEMA_HELP = `
Reading schema (--schema FILE, JSON or YAML; see schemas/): readings of your own sensors, with the
  schema's field names. Generated readings: per equipment (the schema's simulation equipment unless
  --equipment) and feature, values around the feature's simulation.base with Gaussian noise of
  simulation.noise (default: mid-range, 1% of the range), within the physical range, with anomalous
  episodes shifted by several noise units; optional features are left out now and then. --bad-ratio
  readings break the schema's rules. The lab's schema (the default) keeps the lab's generator.
`;

const REPLAY_HELP = `
Replay (--replay FILE.csv): each row of the file becomes one reading, sent instead of generated ones.
  Values: without --schema, --map gives the column of each of the lab's four reading fields, all
    required. With --schema, each feature is read from the column its source names, else from the
    column of its name (--map FEATURE=COL overrides); an optional feature without a column is left out,
    as is an empty cell of one; --timestamp-column and --equipment-column default to the schema's
    timestamp and equipment fields when the file has such columns. Values outside the schema's
    physical ranges are sent as they are (the pipeline quarantines them); a warning first counts the
    rows concerned.
  Equipment: --equipment-id ID for every row (default: the schema's first simulation equipment,
    ${DEFAULT_REPLAY_EQUIPMENT_ID} for the lab), or --equipment-column COL.
  Pace: --speed X follows the recorded timestamps X times faster (default 1, real time; 60 = a minute
    of recording per second), or --rate R sends R readings/s whatever the timestamps say.
  Timestamp sent: with --timestamp-column, each reading's recorded time plus one fixed shift, so the
    recorded gaps are kept. The shift is the largest that stamps no reading later than the moment it is
    due to be sent, so the pipeline's clock-skew check accepts every reading at any speed: at --speed 1
    the first reading carries the time the replay starts; faster, the last reading replayed carries the
    moment it is due and the others are earlier. The summary prints the shift, to join the file's own
    labels back. Without --timestamp-column, a reading carries the moment it is due to be sent.
  Records: up to --burst-size readings of one equipment, cut before a reading due ${MAX_RECORD_SPAN_MS / 1000} s or more
    after the record's first; a record is sent when its last reading is due.
  --count N replays the first N rows, --duration S the rows due in the first S seconds.
  Examples (SKAB, a minute per second):
    npm run simulate -- --schema schemas/skab.json --replay ../shared/datasets/skab/data/valve1/1.csv \\
      --delimiter ';' --timestamp-column datetime --speed 60
    npm run simulate -- --replay ../shared/datasets/skab/data/valve1/1.csv \\
      --delimiter ';' --timestamp-column datetime --speed 60 \\
      --map vibration_amplitude=Accelerometer1RMS,vibration_frequency=Current,temperature=Temperature,humidity=Thermocouple
`;

export function simulateCommand(io: SimulatorIo): Command {
  const command = new Command('simulate')
    .description(
      "Send sensor readings (the lab's stream.py, in TypeScript, or your reading schema's) to Kinesis, or print them; or replay a recorded CSV file.",
    )
    .addOption(
      new Option('--target <target>', 'a Kinesis stream in AWS, the local pipeline, or records on stdout')
        .choices(['aws', 'local', 'stdout'])
        .default('stdout'),
    )
    .option('--stream <name>', 'Kinesis stream name', 'sensor-readings')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--endpoint <url>', 'a Kinesis-compatible endpoint (overrides the target)')
    .option(
      '--rate <r>',
      'readings per second, all equipment together; with --replay, a fixed rate instead of --speed',
      positive('--rate'),
      DEFAULT_RATE,
    )
    .addOption(
      new Option('--count <n>', 'stop after n readings')
        .argParser(positiveInt('--count'))
        .conflicts('duration'),
    )
    .option('--duration <s>', 'stop after s seconds (or --count)', positive('--duration'))
    .option('--schema <file>', "the readings' schema, JSON or YAML (default: the lab's; see below)")
    .addOption(
      new Option(
        '--equipment <ids>',
        `equipment ids, comma-separated (default: the schema's simulation equipment, the lab's ${LAB_EQUIPMENT.join(',')})`,
      )
        .argParser(equipmentTexts)
        .conflicts('equipmentCount'),
    )
    .option(
      '--equipment-count <k>',
      "k pieces of equipment, numbered on from the schema's first: 101, 102, ... for the lab",
      positiveInt('--equipment-count'),
    )
    .option(
      '--burst-size <n>',
      `readings per record (at most ${MAX_BURST_SIZE}, fewer for a schema of large readings)`,
      numberOption(
        '--burst-size',
        (n) => Number.isInteger(n) && n > 0 && n <= MAX_BURST_SIZE,
        `an integer from 1 to ${MAX_BURST_SIZE}`,
      ),
      DEFAULT_BURST_SIZE,
    )
    .option(
      '--seed <k>',
      'random seed: the same seed gives the same readings (default: random, printed)',
      numberOption(
        '--seed',
        (n) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff,
        'an integer from 0 to 4294967295',
      ),
    )
    .option('--labels <file>', 'write the ground truth per reading (.csv for CSV, else JSON Lines)')
    .option(
      '--bad-ratio <f>',
      'fraction of readings replaced by malformed ones',
      numberOption('--bad-ratio', (n) => n >= 0 && n <= 1, 'a number from 0 to 1'),
      0,
    )
    .option('--quiet', 'no progress lines, only the summary', false)
    .option(
      '--replay <file>',
      'send the rows of a recorded CSV file instead of generated readings (see below)',
    );
  return addReplayOptions(command)
    .addHelpText('after', SCHEMA_HELP + REPLAY_HELP)
    .showHelpAfterError(seeHelp('npm run simulate'))
    .action(async (options: SimulateOptions, command: Command) => {
      const log = (line: string) => (options.target === 'stdout' ? io.stderr : io.stdout).write(`${line}\n`);
      const warn = (line: string) => io.stderr.write(`${line}\n`);
      const bannerNote = options.target === 'stdout' ? npmBannerNote('simulate') : undefined;
      if (bannerNote) warn(bannerNote);
      const reporting = { signal: io.signal, ...progressReporting(options, log, warn) };
      const schema = schemaOption(options.schema);
      checkMappedFeatures(options.map, schema);
      if (options.replay) {
        await replay(options.replay, schema, options, command, io, reporting, log, warn);
        return;
      }
      const replayOnly = REPLAY_ONLY.filter(([key]) => given(command, key)).map(([, flag]) => flag);
      if (replayOnly.length > 0) {
        throw new Error(
          `${replayOnly.join(', ')} only ${replayOnly.length > 1 ? 'apply' : 'applies'} to --replay`,
        );
      }
      const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
      const equipment = equipmentOf(options, schema);
      if (!options.quiet && options.schema !== undefined) {
        log(generatorSchemaLine(schema, options.schema, equipment ?? schema.simulationEquipment));
      }
      try {
        const summary = await runSimulator({
          ...destination(options, io),
          ...reporting,
          seed,
          rate: options.rate,
          count: options.count,
          durationSeconds: options.duration,
          schema,
          equipment,
          // A schema of large readings has a smaller default.
          burstSize: given(command, 'burstSize') ? options.burstSize : undefined,
          badRatio: options.badRatio,
          labelsFile: options.labels,
        });
        log(summaryLine(summary, seed));
      } catch (error) {
        if (error instanceof SimulatorSendError) log(summaryLine(error.summary, seed));
        throw error;
      }
    });
}

/** Options of the replay alone, and those of the generator alone, by attribute name. */
const REPLAY_ONLY = [
  ['map', '--map'],
  ['timestampColumn', '--timestamp-column'],
  ['equipmentId', '--equipment-id'],
  ['equipmentColumn', '--equipment-column'],
  ['delimiter', '--delimiter'],
  ['speed', '--speed'],
] as const;

const GENERATOR_ONLY: Record<string, string> = {
  seed: '--seed does not apply to --replay: a replay sends the values of the file, nothing is drawn at random',
  badRatio:
    "--bad-ratio does not apply to --replay: the file's rows are sent as they are (a warning counts those the pipeline will quarantine)",
  labels:
    "--labels does not apply to --replay: it writes the generator's ground truth; a recording's own labels (SKAB's anomaly column) stay in the file, and the summary prints the timestamp shift to join them on",
  equipment: '--equipment does not apply to --replay: use --equipment-id N or --equipment-column COL',
  equipmentCount:
    '--equipment-count does not apply to --replay: use --equipment-id N or --equipment-column COL',
};

/** Whether the user gave an option (on the command line), not its default. */
function given(command: Command, key: string): boolean {
  const source = command.getOptionValueSource(key);
  return source !== undefined && source !== 'default';
}

type Reporting = Pick<LoopSettings, 'onProgress' | 'onThrottle' | 'signal'>;

/** A SENT line per thousand readings, like the lab; a line per throttle. */
function progressReporting(
  options: SimulateOptions,
  log: (line: string) => void,
  warn: (line: string) => void,
): Reporting {
  let printedThousands = 0;
  return {
    onProgress: (progress) => {
      const thousands = Math.floor(progress.sent / 1000);
      if (options.quiet || thousands === printedThousands) return;
      printedThousands = thousands;
      log(`SENT: ${progress.sent} - ${progress.readingsPerSecond} msgs/sec`);
    },
    onThrottle: (notice) =>
      warn(
        `THROTTLED: Kinesis refused ${notice.throttledRecords} records for throughput (attempt ${notice.attempt}); ` +
          `slowing to ${Math.round(notice.readingsPerSecond)} readings/s`,
      ),
  };
}

async function replay(
  file: string,
  schema: ReadingSchema,
  options: SimulateOptions,
  command: Command,
  io: SimulatorIo,
  reporting: Reporting,
  log: (line: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  for (const [key, message] of Object.entries(GENERATOR_ONLY)) {
    if (given(command, key)) throw new Error(message);
  }
  const mapping = replayMapping(file, schema, {
    schemaFile: options.schema,
    map: options.map,
    timestampColumn: options.timestampColumn,
    equipmentId:
      options.equipmentId === undefined ? undefined : equipmentIdOption(options.equipmentId, schema),
    equipmentColumn: options.equipmentColumn,
    delimiter: options.delimiter,
  });
  const pace = replayPace(mapping, {
    speed: options.speed,
    rate: given(command, 'rate') ? options.rate : undefined,
  });
  const recording = readRecording(file, mapping, schema);
  const source = createReplaySource(recording, {
    pace,
    burstSize: given(command, 'burstSize') ? options.burstSize : undefined,
    count: options.count,
    durationSeconds: options.duration,
  });
  const outside = outOfRangeWarning(source);
  if (outside) warn(outside);
  if (!options.quiet && options.schema !== undefined) log(replaySchemaLine(source, options.schema));
  if (!options.quiet) log(replayLine(source, pace));
  try {
    const summary = await runSource(source, {
      ...destination(options, io),
      ...reporting,
      count: options.count,
      durationSeconds: options.duration,
    });
    log(replaySummaryLine(summary, source));
  } catch (error) {
    if (error instanceof SimulatorSendError) log(replaySummaryLine(error.summary, source));
    throw error;
  }
}

function destination(options: SimulateOptions, io: SimulatorIo): Destination {
  if (options.target === 'stdout') return { output: io.stdout };
  return { kinesis: createKinesisClient(...kinesisConnection(options)), streamName: options.stream };
}

function kinesisConnection(options: SimulateOptions): [string | undefined, KinesisConnection] {
  if (options.target === 'local' && !options.endpoint) {
    const local = readLocalEndpoints();
    return [local.region, { endpoint: local.kinesis, credentials: LOCAL_CREDENTIALS }];
  }
  return [options.region, { endpoint: options.endpoint }];
}

function equipmentOf(options: SimulateOptions, schema: ReadingSchema): readonly EquipmentId[] | undefined {
  if (options.equipmentCount) return equipmentSeries(schema, options.equipmentCount);
  return options.equipment ? equipmentIds(options.equipment, schema) : undefined;
}

function summaryLine(summary: RunSummary, seed: number): string {
  return (
    `DONE: ${summary.sent} readings in ${summary.records} records (${summary.malformed} malformed, ` +
    `${summary.anomalousReadings} anomalous) in ${(summary.elapsedMs / 1000).toFixed(1)} s, ` +
    `${summary.readingsPerSecond} readings/s; throttled ${summary.throttled} times; ` +
    `${undeliveredPart(summary)}seed ${seed}`
  );
}

/** The first Ctrl-C (or SIGTERM from systemd) stops gracefully; a second one quits at once. */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('stopping: sending what is buffered (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return controller.signal;
}

if (require.main === module) {
  simulateCommand({ stdout: process.stdout, stderr: process.stderr, signal: stopSignal() })
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(`simulate: ${explainAwsError(error)}`);
      process.exitCode = 1;
    });
}
