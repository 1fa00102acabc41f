import { setTimeout as delay } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { RetryOptions } from '../lambdas/shared/aws/retry';
import type { EquipmentId } from '../lambdas/shared/reading';
import type { ReadingSchema } from '../lambdas/shared/reading-schema';
import { type Burst, createLabGenerator, DEFAULT_BURST_SIZE, LAB_EQUIPMENT } from './generator';
import { openLabels } from './labels';
import { createSchemaGenerator, maxBurstSize, type SchemaBurst } from './schema-generator';
import {
  createKinesisSender,
  createLineWriter,
  type OutgoingRecord,
  type RecordSender,
  SendQueue,
  type SentRecord,
  type ThrottleNotice,
} from './sender';

/** About the lab's pace: stream.py sleeps 0.3 ms per reading. */
export const DEFAULT_RATE = 3000;

/** Time as the run loop sees it; tests pass a virtual one. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    ms > 0 && !signal?.aborted ? delay(ms, undefined, { signal }).catch(ignoreAbort) : Promise.resolve(),
};

/** Records go to a Kinesis stream, or as one line of JSON each to `output` (`--target stdout`). */
export type Destination =
  | { kinesis: KinesisClient; streamName: string; output?: never }
  | { output: NodeJS.WritableStream; kinesis?: never; streamName?: never };

/** What bounds a run and what it reports, whatever its source. */
export interface LoopSettings {
  /** Stop after exactly this many readings (the last record cut short)... */
  count?: number;
  /** ...or after this long; with neither, run until `signal` aborts (or the source runs out). */
  durationSeconds?: number;
  /** After each record delivered. */
  onProgress?: (progress: RunProgress) => void;
  onRecordSent?: (record: SentRecord) => void;
  /** Kinesis throttled: the run slows down to the rate given. */
  onThrottle?: (notice: SlowDownNotice) => void;
  /** Stops producing; what is buffered is still sent, then the summary returned. */
  signal?: AbortSignal;
  retry?: RetryOptions;
  clock?: Clock;
}

/** The generator's settings (`runSimulator`). */
export interface RunSettings extends LoopSettings {
  seed: number;
  /** Readings per second, all equipment together. */
  rate?: number;
  /**
   * The readings' schema: the lab's generator for the lab's (the default), the schema generator
   * (schema-generator.ts) for any other.
   */
  schema?: ReadingSchema;
  /** Default: the lab's 101, 102, 103, or the schema's simulation equipment. */
  equipment?: readonly EquipmentId[];
  burstSize?: number;
  badRatio?: number;
  labelsFile?: string;
}

export type RunOptions = Destination & RunSettings;

/** One record's worth of readings from a source, and when it is due. */
export interface SourceBurst {
  equipmentId: EquipmentId;
  /** The record's data: a JSON array of the readings. */
  json: string;
  readings: number;
  /** When it is due (epoch ms, fractional, on the run's clock): it is queued once that time has come. */
  endMs: number;
  /** Readings of it the pipeline will quarantine. */
  malformedReadings: number;
  /** Readings of it known to be anomalous. */
  anomalousReadings: number;
}

/**
 * Where a run's bursts come from: the lab generator (`runSimulator`) or a recorded file (replay.ts).
 * The run loop paces, bounds, queues and sends them; a source only says what is due when.
 */
export interface BurstSource<B extends SourceBurst = SourceBurst> {
  /** Readings per second at full pace: a throttle notice reports the share of it the run slows to. */
  readonly fullRate: number;
  /**
   * The next bursts, due from `startMs` on at `pace` times the source's full pace (less than 1 while
   * Kinesis throttles), with at most `maxReadings` readings in all; no bursts once the source has run out.
   * `endMs` is where the following step starts.
   */
  nextStep(startMs: number, pace: number, maxReadings: number): { bursts: B[]; endMs: number };
  /** How far behind real time the source may fall before the loop skips ahead rather than catching up. */
  maxLagMs(pace: number): number;
  /** A burst was delivered. */
  delivered?(burst: B, sent: SentRecord): void;
  /** The run is over, sent or not. */
  close?(): Promise<void>;
}

export interface RunProgress {
  sent: number;
  records: number;
  elapsedMs: number;
  readingsPerSecond: number;
}

export interface SlowDownNotice extends ThrottleNotice {
  readingsPerSecond: number;
}

export interface RunSummary {
  /** Readings delivered, malformed ones included. */
  sent: number;
  records: number;
  /** Delivered readings the pipeline will quarantine: the generator's malformed ones, a replay's out of range. */
  malformed: number;
  /** Delivered well-formed readings with at least one anomalous feature (known only for the generator). */
  anomalousReadings: number;
  elapsedMs: number;
  readingsPerSecond: number;
  /** How many times Kinesis throttled a call or entries of it. */
  throttled: number;
  /**
   * Readings not delivered when sending failed for good (entries Kinesis still refused after every retry,
   * or a call that failed outright): those of the failed call and those queued behind it. 0 unless the
   * run failed (SimulatorSendError).
   */
  undelivered: number;
}

/** Sending failed for good: what was delivered, and how much was not. */
export class SimulatorSendError extends Error {
  constructor(
    readonly summary: RunSummary,
    readonly unsentReadings: number,
    cause: Error,
  ) {
    super(
      `${cause.message}; ${unsentReadings} readings were not delivered (${summary.sent} were, in ${summary.records} records)`,
      { cause },
    );
    this.name = 'SimulatorSendError';
  }
}

interface BurstRecord<B extends SourceBurst> extends OutgoingRecord {
  burst: B;
}

interface Limits {
  count: number;
  deadlineMs: number;
}

/** A generated burst (the lab generator's or a schema's), as the run loop sees it. */
interface GeneratedBurst extends SourceBurst {
  burst: Burst | SchemaBurst;
}

/** The simulator: generated bursts, paced at `rate`. */
export async function runSimulator(options: RunOptions): Promise<RunSummary> {
  checkLoopLimits(options.count, options.durationSeconds);
  return runSource(createGeneratorSource(options), options);
}

function createGeneratorSource(options: RunSettings): BurstSource<GeneratedBurst> {
  const rate = options.rate ?? DEFAULT_RATE;
  if (!(rate > 0 && Number.isFinite(rate)))
    throw new RangeError(`rate must be a positive number, got ${rate}`);
  const { schema } = options;
  const lab = !schema || schema.isLab;
  const equipment = options.equipment ?? (lab ? LAB_EQUIPMENT : schema.simulationEquipment);
  const burstSize =
    options.burstSize ??
    (lab ? DEFAULT_BURST_SIZE : Math.min(DEFAULT_BURST_SIZE, maxBurstSize(schema, equipment)));
  const settings = { seed: options.seed, burstSize, badRatio: options.badRatio };
  const generator = lab
    ? createLabGenerator({ ...settings, equipment: labEquipment(equipment) })
    : createSchemaGenerator({ ...settings, schema, equipment });
  const labels = options.labelsFile ? openLabels(options.labelsFile, schema?.featureNames) : undefined;
  return {
    fullRate: rate,
    nextStep(startMs, pace, maxReadings) {
      const step = generator.nextStep(startMs, rate * pace, maxReadings);
      return { endMs: step.endMs, bursts: step.bursts.map(generatedBurst) };
    },
    // The generator's readings may fall at most one burst behind real time (see produce).
    maxLagMs: (pace) => (burstSize * 1000) / (rate * pace),
    delivered: (burst, sent) => labels?.write(burst.burst, sent),
    close: async () => labels?.close(),
  };
}

/** The lab generator takes integer ids (it checks them). */
function labEquipment(equipment: readonly EquipmentId[]): readonly number[] {
  if (equipment.some((id) => typeof id !== 'number')) {
    throw new RangeError('equipment must be a non-empty list of positive integer ids');
  }
  return equipment as readonly number[];
}

function generatedBurst(burst: Burst | SchemaBurst): GeneratedBurst {
  const malformedReadings = burst.malformed.length;
  return {
    equipmentId: burst.equipmentId,
    json: burst.json,
    readings: burst.readings,
    endMs: burst.endMs,
    malformedReadings,
    anomalousReadings: burst.anomalyMask !== 0 ? burst.readings - malformedReadings : 0,
    burst,
  };
}

/**
 * Runs the loop over any source: paces its bursts (slowing down while Kinesis throttles), bounds the
 * run by count, duration and `signal`, sends through one SendQueue, counts what was delivered.
 */
export async function runSource<B extends SourceBurst>(
  source: BurstSource<B>,
  options: Destination & LoopSettings,
): Promise<RunSummary> {
  try {
    checkLoopLimits(options.count, options.durationSeconds);
    return await runLoop(source, options);
  } finally {
    await source.close?.();
  }
}

async function runLoop<B extends SourceBurst>(
  source: BurstSource<B>,
  options: Destination & LoopSettings,
): Promise<RunSummary> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const startMs = clock.now();
  const tally = new RunTally(startMs);
  const pace = new ThrottleAwarePace();
  const sender = createSender(options, (notice) => {
    tally.throttled++;
    options.onThrottle?.({ ...notice, readingsPerSecond: source.fullRate * pace.throttled(clock.now()) });
  });
  const queue = new SendQueue<BurstRecord<B>>(sender, (sent, record) => {
    tally.add(record.burst);
    source.delivered?.(record.burst, sent);
    options.onRecordSent?.(sent);
    options.onProgress?.(tally.progress(clock.now()));
  });
  const limits: Limits = {
    count: options.count ?? Number.POSITIVE_INFINITY,
    deadlineMs: startMs + (options.durationSeconds ?? Number.POSITIVE_INFINITY) * 1000,
  };
  try {
    await produce(source, queue, pace, limits, clock, options.signal);
    await queue.flush();
  } catch (error) {
    const unsent = queue.unsentRecords.reduce((n, record) => n + record.readings, 0);
    throw new SimulatorSendError(tally.summary(clock.now(), unsent), unsent, error as Error);
  }
  return tally.summary(clock.now());
}

function checkLoopLimits(count: number | undefined, durationSeconds: number | undefined): void {
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (durationSeconds !== undefined && !(durationSeconds > 0)) {
    throw new RangeError(`durationSeconds must be positive, got ${durationSeconds}`);
  }
}

function createSender(
  options: Destination & LoopSettings,
  onThrottle: (notice: ThrottleNotice) => void,
): RecordSender {
  if (options.output) return createLineWriter(options.output);
  return createKinesisSender({
    kinesis: options.kinesis,
    streamName: options.streamName,
    retry: options.retry,
    onThrottle,
  });
}

/**
 * Takes the source's bursts and queues each once it is due. Pacing is a token bucket over readings, kept
 * in its virtual-time form: a burst is released once its due time has come, and the source's clock may
 * fall at most `maxLagMs` behind real time (the bucket's capacity: one burst for the generator), so after
 * a stall it skips ahead rather than sending a backlog at once. Stops at the count, the deadline, an
 * abort, or when the source has nothing more.
 */
async function produce<B extends SourceBurst>(
  source: BurstSource<B>,
  queue: SendQueue<BurstRecord<B>>,
  pace: ThrottleAwarePace,
  limits: Limits,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<void> {
  let produced = 0;
  let stepStartMs = clock.now();
  while (produced < limits.count && !signal?.aborted) {
    const nowMs = clock.now();
    const share = pace.current(nowMs);
    stepStartMs = Math.max(stepStartMs, nowMs - source.maxLagMs(share));
    const step = source.nextStep(stepStartMs, share, limits.count - produced);
    if (step.bursts.length === 0) return;
    for (const burst of step.bursts) {
      if (Math.max(burst.endMs, clock.now()) > limits.deadlineMs) return;
      await clock.sleep(burst.endMs - clock.now(), signal);
      if (signal?.aborted) return;
      const data = Buffer.from(burst.json);
      await queue.push({ partitionKey: String(burst.equipmentId), data, readings: burst.readings, burst });
      produced += burst.readings;
    }
    stepStartMs = step.endMs;
  }
}

/**
 * The share of its full pace a run goes at: each throttle halves it (at most once a second, down to
 * 1/64); it then doubles back every 10 s up to 1.
 */
class ThrottleAwarePace {
  private cutAtMs = Number.NEGATIVE_INFINITY;
  private cutTo = 1;

  current(nowMs: number): number {
    return Math.min(1, this.cutTo * 2 ** ((nowMs - this.cutAtMs) / RECOVERY_DOUBLING_MS));
  }

  /** Slows down (unless it just did) and returns the pace from now on. */
  throttled(nowMs: number): number {
    if (nowMs - this.cutAtMs >= MIN_CUT_INTERVAL_MS) {
      this.cutTo = Math.max(MIN_PACE, this.current(nowMs) / 2);
      this.cutAtMs = nowMs;
    }
    return this.current(nowMs);
  }
}

const RECOVERY_DOUBLING_MS = 10_000;
const MIN_CUT_INTERVAL_MS = 1_000;
const MIN_PACE = 1 / 64;

class RunTally {
  sent = 0;
  records = 0;
  malformed = 0;
  anomalousReadings = 0;
  throttled = 0;

  constructor(private readonly startMs: number) {}

  add(burst: SourceBurst): void {
    this.sent += burst.readings;
    this.records++;
    this.malformed += burst.malformedReadings;
    this.anomalousReadings += burst.anomalousReadings;
  }

  progress(nowMs: number): RunProgress {
    const elapsedMs = nowMs - this.startMs;
    return {
      sent: this.sent,
      records: this.records,
      elapsedMs,
      readingsPerSecond: perSecond(this.sent, elapsedMs),
    };
  }

  summary(nowMs: number, undelivered = 0): RunSummary {
    const { sent, records, malformed, anomalousReadings, throttled } = this;
    const elapsedMs = nowMs - this.startMs;
    return {
      sent,
      records,
      malformed,
      anomalousReadings,
      elapsedMs,
      readingsPerSecond: perSecond(sent, elapsedMs),
      throttled,
      undelivered,
    };
  }
}

function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0;
}

function ignoreAbort(error: Error): void {
  if (error.name !== 'AbortError') throw error;
}
