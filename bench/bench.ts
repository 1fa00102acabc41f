import { cpus } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { toCsv } from '../lambdas/shared/csv';
import { DEFAULT_DECODE_LIMITS } from '../lambdas/shared/decode';
import { createDetector, parseDetectorModel } from '../lambdas/shared/detector';
import { buildDocuments } from '../lambdas/shared/documents';
import { toReadingRow } from '../lambdas/shared/processed-reading';
import { DEFAULT_VALIDATION_LIMITS } from '../lambdas/shared/reading';
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

function transformCoreFigure(ms: number): Figure {
  const detector = createDetector(parseDetectorModel(model));
  const limits = { ...DEFAULT_DECODE_LIMITS, ...DEFAULT_VALIDATION_LIMITS };
  const now = Date.now();
  const bursts = createLabGenerator({ seed: 3 }).nextStep(now - 5_000, 3000).bursts;
  const records = bursts.map((burst) => ({
    data: Buffer.from(burst.json),
    source: {
      stream: 's',
      shardId: 'shardId-000000000000',
      partitionKey: String(burst.equipmentId),
      sequenceNumber: '1',
      arrivalMs: now,
    },
  }));
  const transform = () => {
    let readings = 0;
    for (const { data, source } of records) {
      const { processed } = scoreRecord(source, data, detector, limits);
      buildDocuments(source, processed);
      toCsv(processed.map(toReadingRow));
      readings += processed.length;
    }
    return readings;
  };
  const parseOnly = () => {
    let readings = 0;
    for (const { data } of records) readings += (JSON.parse(data.toString('utf8')) as unknown[]).length;
    return readings;
  };
  return {
    name: 'transform core (decode, validate, score, documents, CSV)',
    value: rate(transform, ms),
    unit: 'readings/s',
    baseline: { name: 'JSON.parse of the same records alone', value: rate(parseOnly, ms) },
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
  const ms = options.quick ? 500 : 2_000;
  const figures: Figure[] = [];
  const log = (text: string) => {
    if (!options.json) console.log(text);
  };
  log(`sensor-anomaly-pipeline benchmarks on ${cpus().length} cores, Node ${process.version}`);
  for (const figure of [generationFigure(ms), transformCoreFigure(ms)]) {
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
  .action(main)
  .parseAsync(process.argv)
  .catch((error: Error) => {
    console.error(`bench: ${error.message}`);
    process.exit(1);
  })
  .then(() => process.exit(process.exitCode ?? 0));
