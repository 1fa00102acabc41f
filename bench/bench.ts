import '../cli/sdk-warning';
import { cpus } from 'node:os';
import { gzipSync } from 'node:zlib';
import { Command, InvalidArgumentError } from 'commander';
import { npmBannerNote, seeHelp } from '../cli/usage';
import { marshallItem } from '../lambdas/shared/aws/item-marshalling';
import { toCsv } from '../lambdas/shared/csv';
import { CSV_GZIP_LEVEL } from '../lambdas/shared/csv-object';
import { DEFAULT_DECODE_LIMITS } from '../lambdas/shared/decode';
import { createDetector, parseDetectorModel } from '../lambdas/shared/detector';
import { buildDocuments } from '../lambdas/shared/documents';
import { windowContributions } from '../lambdas/shared/minute-windows';
import type { RecordSource } from '../lambdas/shared/processed-reading';
import { DEFAULT_VALIDATION_LIMITS, validateReading } from '../lambdas/shared/reading';
import { scoreRecord } from '../lambdas/shared/score-record';
import { LOCAL_NAMES } from '../local/names';
import { LocalPipeline } from '../local/pipeline';
import { runLocal } from '../local/run';
import model from '../model/default-model.json';
import { createLabGenerator } from '../simulator/generator';
import { runSimulator } from '../simulator/run';

/**
 * `npm run bench`: throughput figures, each beside a baseline measured in the same run, so a change
 * shows as a ratio rather than as a number that depends on the machine.
 */

interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
  notes?: string;
}

const WARM_UP_MS = 300;

/** Runs `work` repeatedly for about `ms` and returns items per second. */
function rate(work: () => number, ms: number): number {
  const warmUntil = performance.now() + WARM_UP_MS;
  while (performance.now() < warmUntil) work();
  let items = 0;
  const start = performance.now();
  while (performance.now() - start < ms) items += work();
  return (items * 1000) / (performance.now() - start);
}

function generationFigure(ms: number): Figure {
  const generator = createLabGenerator({ seed: 1 });
  let t = Date.UTC(2026, 0, 1);
  const generate = () => {
    const step = generator.nextStep(t, 3000);
    t = step.endMs;
    let readings = 0;
    for (const burst of step.bursts) readings += Buffer.from(burst.json).byteLength > 0 ? burst.readings : 0;
    return readings;
  };
  // Baseline: the same readings as objects, serialized by JSON.stringify (what a naive simulator does).
  const sample = createLabGenerator({ seed: 2 })
    .nextStep(t, 3000)
    .bursts.map((burst) => JSON.parse(burst.json));
  const stringify = () => {
    let readings = 0;
    for (const readingsOfBurst of sample) {
      const copies = readingsOfBurst.map((r: Record<string, unknown>) => ({ ...r }));
      readings += Buffer.from(JSON.stringify(copies)).byteLength > 0 ? copies.length : 0;
    }
    return readings;
  };
  return {
    name: 'simulator generation (generate, serialize, encode)',
    value: rate(generate, ms),
    unit: 'readings/s',
    baseline: { name: 'JSON.stringify of the same readings as objects', value: rate(stringify, ms) },
  };
}

/** Lab records of `steps` steps (3 bursts of 1,000 readings each), as the transform receives them. */
function labRecords(steps: number) {
  const now = Date.now();
  const generator = createLabGenerator({ seed: 3 });
  let t = now - steps * 1_000 - 5_000;
  const records: { data: Buffer; source: RecordSource }[] = [];
  for (let s = 0; s < steps; s++) {
    const step = generator.nextStep(t, 3000);
    t = step.endMs;
    for (const burst of step.bursts) {
      records.push({
        data: Buffer.from(burst.json),
        source: {
          stream: 's',
          shardId: 'shardId-000000000000',
          partitionKey: String(burst.equipmentId),
          sequenceNumber: String(s),
          arrivalMs: now,
        },
      });
    }
  }
  return records;
}

/** The baseline of the detector and transform figures: only parsing and re-serializing the records. */
function parseAndStringify(records: { data: Buffer }[]) {
  return () => {
    let readings = 0;
    for (const { data } of records) {
      const parsed = JSON.parse(data.toString('utf8')) as unknown[];
      readings += JSON.stringify(parsed).length > 0 ? parsed.length : 0;
    }
    return readings;
  };
}

function detectorFigure(ms: number, withModel: boolean): Figure {
  const readings = labRecords(20).flatMap(({ data, source }) =>
    (JSON.parse(data.toString('utf8')) as unknown[]).map((value) => {
      const result = validateReading(value, source.arrivalMs);
      if (!result.ok) throw new Error(result.reason);
      return result.reading;
    }),
  );
  const create = () => createDetector(withModel ? parseDetectorModel(model) : undefined);
  let detector = create();
  let t = 0;
  const score = () => {
    // Fresh timestamps each pass, so the detector learns from every reading, as in a live stream.
    detector = create();
    for (const reading of readings) detector.score({ ...reading, timestampMs: reading.timestampMs + t });
    t += 1;
    return readings.length;
  };
  return {
    name: withModel
      ? 'detector alone, with the trained model (both halves: score and state update)'
      : 'detector alone, no model (the adaptive half: score and state update)',
    value: rate(score, ms),
    unit: 'readings/s',
    baseline: {
      name: 'JSON.parse + JSON.stringify of the same records',
      value: rate(parseAndStringify(labRecords(20)), ms),
    },
  };
}

function transformFigure(ms: number): Figure {
  const records = labRecords(20);
  const limits = { ...DEFAULT_DECODE_LIMITS, ...DEFAULT_VALIDATION_LIMITS };
  const transform = () => {
    const detector = createDetector(parseDetectorModel(model));
    let readings = 0;
    for (const { data, source } of records) {
      const { processed } = scoreRecord(source, data, detector, limits);
      for (const document of buildDocuments(source, processed)) marshallItem(document);
      for (const window of windowContributions(source, processed, 120_000, 86_400)) marshallItem(window);
      gzipSync(toCsv(processed), { level: CSV_GZIP_LEVEL });
      readings += processed.length;
    }
    return readings;
  };
  return {
    name: 'transform without I/O (decode, validate, score, CSV and its GZIP, DynamoDB documents and windows marshalled)',
    value: rate(transform, ms),
    unit: 'readings/s',
    baseline: {
      name: 'JSON.parse + JSON.stringify of the same records',
      value: rate(parseAndStringify(records), ms),
    },
  };
}

async function sendingFigure(seconds: number): Promise<Figure> {
  const pipeline = await LocalPipeline.start({});
  // Only the stream is wanted: stop the consumers so they take no CPU from the sender.
  await Promise.all([pipeline.transform.stop(), pipeline.alerter.stop(), pipeline.archive.stop()]);
  try {
    const count = 200_000;
    const started = Date.now();
    const summary = await runSimulator({
      kinesis: pipeline.clients.kinesis,
      streamName: LOCAL_NAMES.inputStream,
      seed: 4,
      rate: 1_000_000,
      count,
      durationSeconds: seconds,
    });
    const sendRate = (summary.sent * 1000) / (Date.now() - started);
    return {
      name: 'simulator sending to the local stream (kinesalite)',
      value: sendRate,
      unit: 'readings/s',
      baseline: { name: 'generation alone (above)', value: 0 },
    };
  } finally {
    await pipeline.stop();
  }
}

async function endToEndFigures(rates: number[], seconds: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  // Each rate on one shard (the stack's default); the highest also on two.
  const runs = [...rates.map((rate) => ({ rate, shards: 1 })), { rate: Math.max(...rates), shards: 2 }];
  for (const { rate: offered, shards } of runs) {
    const report = await runLocal({
      count: offered * seconds,
      rate: offered,
      shards,
      seed: 5,
      badRatio: 0,
      dashboard: false,
      port: 0,
      quiet: true,
      endpointsDir: false,
      out: () => {},
      signal: new AbortController().signal,
    });
    if (!report) throw new Error('the local run did not report');
    figures.push({
      name: `local pipeline end to end at ${offered} readings/s offered, ${shards} shard${shards > 1 ? 's' : ''}`,
      value: report.readingsPerSec,
      unit: 'readings/s sustained',
      baseline: { name: 'offered rate', value: offered },
      notes: `latency p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms; ${report.problems.length === 0 ? 'every reading accounted for' : report.problems.join('; ')}`,
    });
  }
  return figures;
}

async function main(options: { json: boolean; quick: boolean; rates: number[] }) {
  const bannerNote = options.json ? npmBannerNote('bench') : undefined;
  if (bannerNote) console.error(bannerNote);
  const ms = options.quick ? 500 : 2_000;
  const figures: Figure[] = [];
  const log = (text: string) => {
    if (!options.json) console.log(text);
  };
  log(`sensor-anomaly-pipeline benchmarks on ${cpus().length} cores, Node ${process.version}`);
  for (const figure of [
    generationFigure(ms),
    detectorFigure(ms, false),
    detectorFigure(ms, true),
    transformFigure(ms),
  ]) {
    figures.push(figure);
    log(format(figure));
  }
  const sending = await sendingFigure(options.quick ? 5 : 15);
  sending.baseline.value = figures[0].value;
  figures.push(sending);
  log(format(sending));
  for (const figure of await endToEndFigures(options.rates, options.quick ? 5 : 20)) {
    figures.push(figure);
    log(format(figure));
  }
  if (options.json)
    console.log(JSON.stringify({ cores: cpus().length, node: process.version, figures }, null, 2));
}

function format(figure: Figure): string {
  const ratio = figure.baseline.value > 0 ? ` (${(figure.value / figure.baseline.value).toFixed(2)}x)` : '';
  return `${figure.name}: ${Math.round(figure.value).toLocaleString('en-US')} ${figure.unit}${ratio}\n    baseline, ${figure.baseline.name}: ${Math.round(figure.baseline.value).toLocaleString('en-US')}${figure.notes ? `\n    ${figure.notes}` : ''}`;
}

new Command('bench')
  .description(
    'Throughput of the simulator, the transform and the local pipeline end to end, each beside a baseline from the same run.',
  )
  .option('--json', 'print the figures as JSON', false)
  .option('--quick', 'shorter runs (noisier figures)', false)
  .option(
    '--rates <list>',
    'offered rates of the end-to-end runs, readings/s',
    (value: string) =>
      value.split(',').map((part) => {
        const n = Number(part);
        if (!(n > 0)) throw new InvalidArgumentError('--rates takes positive numbers, comma-separated.');
        return n;
      }),
    [1000, 3000, 5000],
  )
  .showHelpAfterError(seeHelp('npm run bench'))
  .action(main)
  .parseAsync(process.argv)
  .catch((error: Error) => {
    console.error(`bench: ${error.message}`);
    process.exit(1);
  })
  .then(() => process.exit(process.exitCode ?? 0));
