import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readLocalEndpoints } from '../cli/targets';
import { createKinesisClient, type KinesisConnection } from '../lambdas/shared/aws/clients';
import { FEATURES, type Feature } from '../lambdas/shared/features';
import { PHYSICAL_RANGES } from '../lambdas/shared/reading';
import { DEFAULT_BURST_SIZE, LAB_EQUIPMENT, MAX_BURST_SIZE } from './generator';
import {
  createReplaySource,
  DEFAULT_REPLAY_EQUIPMENT_ID,
  isoOf,
  MAX_RECORD_SPAN_MS,
  type ReplayMapping,
  type ReplayPace,
  type ReplaySource,
  readRecording,
} from './replay';
import {
  DEFAULT_RATE,
  type Destination,
  type LoopSettings,
  type RunSummary,
  runSimulator,
  runSource,
  SimulatorSendError,
} from './run';

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
  equipment?: number[];
  equipmentCount?: number;
  burstSize: number;
  seed?: number;
  labels?: string;
  badRatio: number;
  quiet: boolean;
  replay?: string;
  map?: Partial<Record<Feature, string>>;
  timestampColumn?: string;
  equipmentId?: number;
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

function equipmentList(value: string): number[] {
  const ids = value.split(',').map((id) => Number(id.trim()));
  if (ids.some((id) => !Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1)) {
    throw new InvalidArgumentError('--equipment must be a comma-separated list of positive integer ids.');
  }
  return ids;
}

function columnMap(value: string): Partial<Record<Feature, string>> {
  const map: Partial<Record<Feature, string>> = {};
  for (const pair of value.split(',')) {
    const equals = pair.indexOf('=');
    const [field, column] = [pair.slice(0, equals).trim(), pair.slice(equals + 1).trim()];
    if (equals < 0 || field === '' || column === '') {
      throw new InvalidArgumentError(`--map takes FIELD=COLUMN pairs separated by commas, got "${pair}".`);
    }
    if (!(FEATURES as readonly string[]).includes(field)) {
      throw new InvalidArgumentError(`--map: "${field}" is not a reading field (${FEATURES.join(', ')}).`);
    }
    if (map[field as Feature] !== undefined)
      throw new InvalidArgumentError(`--map: ${field} is mapped twice.`);
    map[field as Feature] = column;
  }
  return map;
}

function delimiterOption(value: string): string {
  if (value === '') throw new InvalidArgumentError('--delimiter must not be empty.');
  return value === '\\t' ? '\t' : value;
}

const REPLAY_HELP = `
Replay (--replay FILE.csv): each row of the file becomes one reading, sent instead of generated ones.
  Values: --map gives the column of each of the four reading fields, all required. Values outside
    the pipeline's physical ranges are sent as they are (the pipeline quarantines them); a warning
    first counts the rows concerned.
  Equipment: --equipment-id N for every row (default ${DEFAULT_REPLAY_EQUIPMENT_ID}), or --equipment-column COL.
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
  Example (SKAB, a minute per second):
    npm run simulate -- --replay ../shared/datasets/skab/data/valve1/1.csv \\
      --delimiter ';' --timestamp-column datetime --speed 60 \\
      --map vibration_amplitude=Accelerometer1RMS,vibration_frequency=Current,temperature=Temperature,humidity=Thermocouple
`;

export function simulateCommand(io: SimulatorIo): Command {
  return new Command('simulate')
    .description(
      'Send lab sensor readings (stream.py, in TypeScript) to Kinesis, or print them; or replay a recorded CSV file.',
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
    .option('--count <n>', 'stop after n readings', positiveInt('--count'))
    .option('--duration <s>', 'stop after s seconds', positive('--duration'))
    .addOption(
      new Option('--equipment <ids>', `equipment ids, comma-separated (default: ${LAB_EQUIPMENT.join(',')})`)
        .argParser(equipmentList)
        .conflicts('equipmentCount'),
    )
    .option('--equipment-count <k>', 'k pieces of equipment: 101, 102, ...', positiveInt('--equipment-count'))
    .option(
      '--burst-size <n>',
      `readings per record (at most ${MAX_BURST_SIZE})`,
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
    )
    .option(
      '--map <fields>',
      'with --replay: the column of each reading field, all four: vibration_amplitude=COL,vibration_frequency=COL,temperature=COL,humidity=COL',
      columnMap,
    )
    .option(
      '--timestamp-column <col>',
      'with --replay: the column of recorded times (ISO 8601, YYYY-MM-DD HH:MM:SS[.ffffff] in UTC, or epoch ms)',
    )
    .addOption(
      new Option(
        '--equipment-id <n>',
        `with --replay: the equipment id of every row (default: ${DEFAULT_REPLAY_EQUIPMENT_ID})`,
      )
        .argParser(
          numberOption(
            '--equipment-id',
            (n) => Number.isInteger(n) && n > 0 && n <= 2 ** 31 - 1,
            'a positive integer up to 2147483647',
          ),
        )
        .conflicts('equipmentColumn'),
    )
    .option('--equipment-column <col>', "with --replay: the column of each row's equipment id")
    .option(
      '--delimiter <c>',
      "with --replay: the CSV delimiter ('\\t' for a tab; SKAB uses ';')",
      delimiterOption,
      ',',
    )
    .option(
      '--speed <x>',
      "with --replay: x times the recording's own pace, from its timestamps (default: 1, real time)",
      positive('--speed'),
    )
    .addHelpText('after', REPLAY_HELP)
    .showHelpAfterError()
    .action(async (options: SimulateOptions, command: Command) => {
      const log = (line: string) => (options.target === 'stdout' ? io.stderr : io.stdout).write(`${line}\n`);
      const warn = (line: string) => io.stderr.write(`${line}\n`);
      const reporting = { signal: io.signal, ...progressReporting(options, log, warn) };
      if (options.replay) {
        await replay(options.replay, options, command, io, reporting, log, warn);
        return;
      }
      const replayOnly = REPLAY_ONLY.filter(([key]) => given(command, key)).map(([, flag]) => flag);
      if (replayOnly.length > 0) {
        throw new Error(
          `${replayOnly.join(', ')} only ${replayOnly.length > 1 ? 'apply' : 'applies'} to --replay`,
        );
      }
      const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
      try {
        const summary = await runSimulator({
          ...destination(options, io),
          ...reporting,
          seed,
          rate: options.rate,
          count: options.count,
          durationSeconds: options.duration,
          equipment: equipmentOf(options),
          burstSize: options.burstSize,
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
  options: SimulateOptions,
  command: Command,
  io: SimulatorIo,
  reporting: Reporting,
  log: (line: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  const { mapping, pace } = replaySettings(options, command);
  const recording = readRecording(file, mapping);
  const source = createReplaySource(recording, {
    pace,
    burstSize: options.burstSize,
    count: options.count,
    durationSeconds: options.duration,
  });
  const outside = outOfRangeWarning(source);
  if (outside) warn(outside);
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

function replaySettings(
  options: SimulateOptions,
  command: Command,
): { mapping: ReplayMapping; pace: ReplayPace } {
  for (const [key, message] of Object.entries(GENERATOR_ONLY)) {
    if (given(command, key)) throw new Error(message);
  }
  const missing = FEATURES.filter((feature) => options.map?.[feature] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `--replay needs --map with a column for each reading field: ${FEATURES.map((f) => `${f}=COL`).join(',')} ` +
        `(missing: ${missing.join(', ')})`,
    );
  }
  const rateGiven = given(command, 'rate');
  if (rateGiven && options.speed !== undefined) {
    throw new Error("--speed and --rate both set the replay's pace: give one");
  }
  if (!rateGiven && options.timestampColumn === undefined) {
    throw new Error(
      options.speed !== undefined
        ? '--speed follows the recorded timestamps: give --timestamp-column COL, or --rate R readings/s'
        : 'without --timestamp-column the file has no pace of its own: give --rate R (readings/s)',
    );
  }
  return {
    mapping: {
      columns: options.map as Record<Feature, string>,
      timestamp: options.timestampColumn,
      equipmentColumn: options.equipmentColumn,
      equipmentId: options.equipmentId,
      delimiter: options.delimiter,
    },
    pace: rateGiven ? { rate: options.rate } : { speed: options.speed ?? 1 },
  };
}

function outOfRangeWarning(source: ReplaySource): string | undefined {
  const { rows, fields } = source.outOfRange;
  if (rows === 0) return undefined;
  const details = fields.map(({ feature, column, below, above, lowest, highest }) => {
    const { min, max, unit } = PHYSICAL_RANGES[feature];
    const counts = [below > 0 ? `${below} below ${min}` : '', above > 0 ? `${above} above ${max}` : '']
      .filter(Boolean)
      .join(', ');
    return `${feature}=${column}: ${counts} (the column goes from ${lowest} to ${highest}; ${feature} must be ${min} to ${max}${unit})`;
  });
  return (
    `WARNING: ${rows} of ${source.plannedRows} rows have values outside the pipeline's physical ranges; ` +
    `they are sent as they are and the pipeline will quarantine them. ${details.join('; ')}. ` +
    'Map each field to a column whose values lie within its range.'
  );
}

function replayLine(source: ReplaySource, pace: ReplayPace): string {
  const { recording, plannedRows, plannedMs } = source;
  const recorded = recording.recordedMs;
  const span =
    recorded && plannedRows > 0
      ? `, recorded ${isoOf(recorded[0])} to ${isoOf(recorded[plannedRows - 1])}`
      : '';
  const equipment = [...new Set(recording.equipmentIds.subarray(0, plannedRows))];
  const shown = equipment.length > 5 ? `${equipment.slice(0, 5).join(', ')}, ...` : equipment.join(', ');
  const at = pace.speed !== undefined ? `${pace.speed}x the recorded pace` : `${pace.rate} readings/s`;
  return (
    `REPLAY: ${plannedRows} of ${recording.rows} rows of ${basename(recording.file)}${span}; ` +
    `equipment ${shown}; at ${at}, about ${(plannedMs / 1000).toFixed(1)} s`
  );
}

function replaySummaryLine(summary: RunSummary, source: ReplaySource): string {
  const shift = source.shiftMs();
  return (
    `DONE: ${summary.sent} readings in ${summary.records} records (${summary.malformed} outside the pipeline's ` +
    `physical ranges) in ${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.readingsPerSecond} readings/s; ` +
    `throttled ${summary.throttled} times; ${undeliveredPart(summary)}` +
    `replayed ${basename(source.recording.file)}, timestamps sent = ` +
    (shift === undefined ? 'when due' : `recorded ${formatShift(shift)}`)
  );
}

/** `+2258d 03:12:45.123`. */
export function formatShift(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  let rest = Math.abs(ms);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const clock = new Date(rest).toISOString().slice(11, 23);
  return `${sign}${days}d ${clock}`;
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

function equipmentOf(options: SimulateOptions): readonly number[] {
  if (options.equipmentCount) return Array.from({ length: options.equipmentCount }, (_, i) => 101 + i);
  return options.equipment ?? LAB_EQUIPMENT;
}

function summaryLine(summary: RunSummary, seed: number): string {
  return (
    `DONE: ${summary.sent} readings in ${summary.records} records (${summary.malformed} malformed, ` +
    `${summary.anomalousReadings} anomalous) in ${(summary.elapsedMs / 1000).toFixed(1)} s, ` +
    `${summary.readingsPerSecond} readings/s; throttled ${summary.throttled} times; ` +
    `${undeliveredPart(summary)}seed ${seed}`
  );
}

/** After a send failure, the readings it left undelivered (the error itself is printed after the summary). */
function undeliveredPart(summary: RunSummary): string {
  return summary.undelivered > 0 ? `NOT DELIVERED: ${summary.undelivered} readings (error below); ` : '';
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
      console.error(`simulate: ${error.message}`);
      process.exitCode = 1;
    });
}
