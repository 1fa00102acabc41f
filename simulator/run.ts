import { setTimeout as delay } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { RetryOptions } from '../lambdas/shared/aws/retry';
import {
  type Burst,
  createLabGenerator,
  DEFAULT_BURST_SIZE,
  LAB_EQUIPMENT,
  type LabGenerator,
} from './generator';
import { openLabels } from './labels';
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

export interface RunSettings {
  seed: number;
  /** Readings per second, all equipment together. */
  rate?: number;
  /** Stop after exactly this many readings (the last record cut short)... */
  count?: number;
  /** ...or after this long; with neither, run until `signal` aborts. */
  durationSeconds?: number;
  equipment?: readonly number[];
  burstSize?: number;
  badRatio?: number;
  labelsFile?: string;
  /** After each record delivered. */
  onProgress?: (progress: RunProgress) => void;
  onRecordSent?: (record: SentRecord) => void;
  /** Kinesis throttled: the run slows down to the rate given. */
  onThrottle?: (notice: SlowDownNotice) => void;
  /** Stops generating; what is buffered is still sent, then the summary returned. */
  signal?: AbortSignal;
  retry?: RetryOptions;
  clock?: Clock;
}

export type RunOptions = Destination & RunSettings;

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
  malformed: number;
  /** Delivered well-formed readings with at least one anomalous feature. */
  anomalousReadings: number;
  elapsedMs: number;
  readingsPerSecond: number;
  /** How many times Kinesis throttled a call or entries of it. */
  throttled: number;
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

interface BurstRecord extends OutgoingRecord {
  burst: Burst;
}

interface Limits {
  count: number;
  deadlineMs: number;
  burstSize: number;
}

export async function runSimulator(options: RunOptions): Promise<RunSummary> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const rate = options.rate ?? DEFAULT_RATE;
  checkRunLimits(rate, options.count, options.durationSeconds);
  const burstSize = options.burstSize ?? DEFAULT_BURST_SIZE;
  const generator = createLabGenerator({
    seed: options.seed,
    equipment: options.equipment ?? LAB_EQUIPMENT,
    burstSize,
    badRatio: options.badRatio,
  });
  const startMs = clock.now();
  const tally = new RunTally(startMs);
  const pace = new ThrottleAwareRate(rate);
  const labels = options.labelsFile ? openLabels(options.labelsFile) : undefined;
  const sender = createSender(options, (notice) => {
    tally.throttled++;
    options.onThrottle?.({ ...notice, readingsPerSecond: pace.throttled(clock.now()) });
  });
  const queue = new SendQueue<BurstRecord>(sender, (sent, record) => {
    tally.add(record.burst);
    labels?.write(record.burst, sent);
    options.onRecordSent?.(sent);
    options.onProgress?.(tally.progress(clock.now()));
  });
  const limits: Limits = {
    count: options.count ?? Number.POSITIVE_INFINITY,
    deadlineMs: startMs + (options.durationSeconds ?? Number.POSITIVE_INFINITY) * 1000,
    burstSize,
  };
  try {
    await produce(generator, queue, pace, limits, clock, options.signal);
    await queue.flush();
  } catch (error) {
    const unsent = queue.unsentRecords.reduce((n, record) => n + record.readings, 0);
    throw new SimulatorSendError(tally.summary(clock.now()), unsent, error as Error);
  } finally {
    await labels?.close();
  }
  return tally.summary(clock.now());
}

function checkRunLimits(rate: number, count: number | undefined, durationSeconds: number | undefined): void {
  if (!(rate > 0 && Number.isFinite(rate)))
    throw new RangeError(`rate must be a positive number, got ${rate}`);
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (durationSeconds !== undefined && !(durationSeconds > 0)) {
    throw new RangeError(`durationSeconds must be positive, got ${durationSeconds}`);
  }
}

function createSender(options: RunOptions, onThrottle: (notice: ThrottleNotice) => void): RecordSender {
  if (options.output) return createLineWriter(options.output);
  return createKinesisSender({
    kinesis: options.kinesis,
    streamName: options.streamName,
    retry: options.retry,
    onThrottle,
  });
}

/**
 * Generates and queues bursts at the pace's rate. Pacing is a token bucket over readings, kept in its
 * virtual-time form: a burst is released once the time of its last reading has come, and the readings'
 * clock may fall at most one burst behind real time (the bucket's capacity), so after a stall it skips
 * ahead rather than sending a backlog.
 */
async function produce(
  generator: LabGenerator,
  queue: SendQueue<BurstRecord>,
  pace: ThrottleAwareRate,
  limits: Limits,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<void> {
  let produced = 0;
  let stepStartMs = clock.now();
  while (produced < limits.count && !signal?.aborted) {
    const nowMs = clock.now();
    const rate = pace.current(nowMs);
    stepStartMs = Math.max(stepStartMs, nowMs - (limits.burstSize * 1000) / rate);
    const step = generator.nextStep(stepStartMs, rate, limits.count - produced);
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

/** Each throttle halves the rate (at most once a second); it then doubles back every 10 s up to the target. */
class ThrottleAwareRate {
  private cutAtMs = Number.NEGATIVE_INFINITY;
  private cutToRate: number;

  constructor(private readonly target: number) {
    this.cutToRate = target;
  }

  current(nowMs: number): number {
    return Math.min(this.target, this.cutToRate * 2 ** ((nowMs - this.cutAtMs) / RECOVERY_DOUBLING_MS));
  }

  /** Slows down (unless it just did) and returns the rate from now on. */
  throttled(nowMs: number): number {
    if (nowMs - this.cutAtMs >= MIN_CUT_INTERVAL_MS) {
      this.cutToRate = Math.max(this.target * MIN_RATE_FRACTION, this.current(nowMs) / 2);
      this.cutAtMs = nowMs;
    }
    return this.current(nowMs);
  }
}

const RECOVERY_DOUBLING_MS = 10_000;
const MIN_CUT_INTERVAL_MS = 1_000;
const MIN_RATE_FRACTION = 1 / 64;

class RunTally {
  sent = 0;
  records = 0;
  malformed = 0;
  anomalousReadings = 0;
  throttled = 0;

  constructor(private readonly startMs: number) {}

  add(burst: Burst): void {
    this.sent += burst.readings;
    this.records++;
    this.malformed += burst.malformed.length;
    if (burst.anomalyMask !== 0) this.anomalousReadings += burst.readings - burst.malformed.length;
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

  summary(nowMs: number): RunSummary {
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
    };
  }
}

function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0;
}

function ignoreAbort(error: Error): void {
  if (error.name !== 'AbortError') throw error;
}
