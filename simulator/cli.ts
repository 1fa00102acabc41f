import { Command, InvalidArgumentError, Option } from 'commander';
import { readLocalEndpoints } from '../cli/targets';
import { createKinesisClient, type KinesisConnection } from '../lambdas/shared/aws/clients';
import { DEFAULT_BURST_SIZE, LAB_EQUIPMENT, MAX_BURST_SIZE } from './generator';
import { DEFAULT_RATE, type Destination, type RunSummary, runSimulator, SimulatorSendError } from './run';

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

export function simulateCommand(io: SimulatorIo): Command {
  return new Command('simulate')
    .description('Send lab sensor readings (stream.py, in TypeScript) to Kinesis, or print them.')
    .addOption(
      new Option('--target <target>', 'a Kinesis stream in AWS, the local pipeline, or records on stdout')
        .choices(['aws', 'local', 'stdout'])
        .default('stdout'),
    )
    .option('--stream <name>', 'Kinesis stream name', 'sensor-readings')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--endpoint <url>', 'a Kinesis-compatible endpoint (overrides the target)')
    .option('--rate <r>', 'readings per second, all equipment together', positive('--rate'), DEFAULT_RATE)
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
    .showHelpAfterError()
    .action(async (options: SimulateOptions) => {
      const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
      const log = (line: string) => (options.target === 'stdout' ? io.stderr : io.stdout).write(`${line}\n`);
      const warn = (line: string) => io.stderr.write(`${line}\n`);
      let printedThousands = 0;
      try {
        const summary = await runSimulator({
          ...destination(options, io),
          seed,
          rate: options.rate,
          count: options.count,
          durationSeconds: options.duration,
          equipment: equipmentOf(options),
          burstSize: options.burstSize,
          badRatio: options.badRatio,
          labelsFile: options.labels,
          signal: io.signal,
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
        });
        log(summaryLine(summary, seed));
      } catch (error) {
        if (error instanceof SimulatorSendError) log(summaryLine(error.summary, seed));
        throw error;
      }
    });
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
    `${summary.readingsPerSecond} readings/s; throttled ${summary.throttled} times; seed ${seed}`
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
      console.error(`simulate: ${error.message}`);
      process.exitCode = 1;
    });
}
