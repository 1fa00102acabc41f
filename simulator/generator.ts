import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { skipN } from 'pure-rand/utils/skipN';
import { FEATURES } from '../lambdas/shared/features';

/**
 * The lab's sensor generator (stream.py of "Level 200: Anomaly Detection ML"), seeded. It runs in
 * steps; a step is one burst per equipment, each burst one Kinesis record (a JSON array of readings)
 * keyed by equipment id. Per step and feature, one offset is drawn for every equipment of the step:
 * offset = 0.2 * uniform(-0.5, 0.5), a fraction of the base value. Each reading is then
 *   normal:    base * (round(uniform(0.90, 1.10), 3) + offset), rounded to 2 decimals
 *   anomalous: base * (round(uniform(1.11, 1.30), 3) + offset), rounded to 2 decimals
 * This is the lab source read literally: "1% to 20% above the normal upper bound" is in points of the
 * base (1.10 + 0.01 .. 1.10 + 0.20), not 1.1 * (1 + u), and values keep the lab's 2 decimals.
 * Anomaly state, per equipment and feature, moves once per burst as in the lab: a normal feature turns
 * anomalous with its odds (temperature's tripled when frequency is anomalous in that burst), stays so
 * for 10 bursts, then is forced normal for one burst before the odds are drawn again.
 */

export const LAB_EQUIPMENT: readonly number[] = [101, 102, 103];
export const DEFAULT_BURST_SIZE = 1000;
/** Keeps a record (about 170 bytes a reading at worst) under Kinesis's 1 MiB per record. */
export const MAX_BURST_SIZE = 5000;

/** Base values and odds, in FEATURES order: amplitude, frequency, temperature, humidity. */
export const LAB_BASE_VALUES: readonly number[] = [250, 1000, 60, 30];
export const LAB_ANOMALY_ODDS: readonly number[] = [0.006, 0.015, 0.009, 0.006];
export const TEMPERATURE_ODDS_FACTOR_WHILE_FREQUENCY_ANOMALOUS = 3;
export const ANOMALY_LENGTH_BURSTS = 10;

export const NORMAL_RANGE = { low: 0.9, high: 1.1 } as const;
export const ANOMALY_RANGE = { low: 1.11, high: 1.3 } as const;
/** The per-step offset is uniform in [-OFFSET_SPAN / 2, OFFSET_SPAN / 2] (a fraction of base). */
export const OFFSET_SPAN = 0.2;

const [AMPLITUDE, FREQUENCY, TEMPERATURE, HUMIDITY] = [0, 1, 2, 3];
const FEATURE_COUNT = FEATURES.length;

/** Reading-level faults the pipeline's validator quarantines; each keeps the record valid JSON. */
export const MALFORMED_KINDS = [
  'numeric-string',
  'missing-field',
  'nan',
  'negative-amplitude',
  'humidity-over-100',
  'unknown-field',
  'bad-timestamp',
  'wrong-type',
] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

export interface LabGeneratorOptions {
  seed: number;
  equipment?: readonly number[];
  burstSize?: number;
  /** Fraction of readings replaced by malformed ones, in [0, 1]. */
  badRatio?: number;
}

export interface Burst {
  equipmentId: number;
  /** Features anomalous during this whole burst, as a FEATURES bit mask (features.ts). */
  anomalyMask: number;
  /** The record's data: a JSON array of the readings. */
  json: string;
  readings: number;
  /** `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of each reading. */
  timestamps: string[];
  /** Generated values, FEATURES order, 4 per reading (also for the readings then made malformed). */
  values: Float64Array;
  /** Readings replaced by malformed ones, by ascending index. */
  malformed: { index: number; kind: MalformedKind }[];
  /** When the next reading would be taken (epoch ms, fractional): the burst is complete by then. */
  endMs: number;
}

export interface Step {
  startMs: number;
  endMs: number;
  /** The step's offset per feature (FEATURES order), as a fraction of the base value. */
  offsets: readonly number[];
  bursts: Burst[];
}

export interface LabGenerator {
  /**
   * The next step, its readings evenly spaced at `readingsPerSecond` from `startMs` (the bursts one
   * after the other, as the lab takes them). At most `maxReadings` readings: the last burst is cut.
   */
  nextStep(startMs: number, readingsPerSecond: number, maxReadings?: number): Step;
}

export function createLabGenerator(options: LabGeneratorOptions): LabGenerator {
  const { seed, equipment = LAB_EQUIPMENT, burstSize = DEFAULT_BURST_SIZE, badRatio = 0 } = options;
  checkOptions(seed, equipment, burstSize, badRatio);
  const valuesRng = seededRng(seed);
  // An independent stream, so the bad-ratio never changes the values of the readings it keeps.
  const faultsRng = valuesRng.clone();
  faultsRng.jump();
  const flags = new Int32Array(equipment.length * FEATURE_COUNT);
  const formatTimestamp = createTimestampFormatter();
  let readingsSoFar = 0;

  function nextStep(
    startMs: number,
    readingsPerSecond: number,
    maxReadings = Number.POSITIVE_INFINITY,
  ): Step {
    if (!(readingsPerSecond > 0)) throw new RangeError('readingsPerSecond must be positive');
    const offsets = FEATURES.map(() => OFFSET_SPAN * uniform(valuesRng, -0.5, 0.5));
    const intervalUs = 1e6 / readingsPerSecond;
    const startUs = startMs * 1000;
    const bursts: Burst[] = [];
    let readingIndex = 0;
    for (let e = 0; e < equipment.length && readingIndex < maxReadings; e++) {
      const readings = Math.min(burstSize, maxReadings - readingIndex);
      const anomalyMask = advanceAnomalyState(flags, e * FEATURE_COUNT, valuesRng);
      const values = drawValues(valuesRng, readings, anomalyMask, offsets);
      const timestamps = new Array<string>(readings);
      for (let i = 0; i < readings; i++) {
        timestamps[i] = formatTimestamp(Math.floor(startUs + (readingIndex + i) * intervalUs));
      }
      const malformed = pickMalformed(faultsRng, readings, readingsSoFar, badRatio);
      readingsSoFar += readings;
      readingIndex += readings;
      bursts.push({
        equipmentId: equipment[e],
        anomalyMask,
        json: serializeBurst(equipment[e], timestamps, values, malformed),
        readings,
        timestamps,
        values,
        malformed,
        endMs: (startUs + readingIndex * intervalUs) / 1000,
      });
    }
    return { startMs, endMs: (startUs + readingIndex * intervalUs) / 1000, offsets, bursts };
  }

  return { nextStep };
}

function checkOptions(seed: number, equipment: readonly number[], burstSize: number, badRatio: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`seed must be an integer from 0 to ${0xffff_ffff}, got ${seed}`);
  }
  if (
    equipment.length === 0 ||
    !equipment.every((id) => Number.isInteger(id) && id > 0 && id <= 2 ** 31 - 1)
  ) {
    throw new RangeError('equipment must be a non-empty list of positive integer ids');
  }
  if (!Number.isInteger(burstSize) || burstSize < 1 || burstSize > MAX_BURST_SIZE) {
    throw new RangeError(`burstSize must be an integer from 1 to ${MAX_BURST_SIZE}, got ${burstSize}`);
  }
  if (!(badRatio >= 0 && badRatio <= 1)) throw new RangeError(`badRatio must be in [0, 1], got ${badRatio}`);
}

/** xoroshiro128+ seeded with a small integer starts on near-constant outputs; skip past them. */
export function seededRng(seed: number) {
  const rng = xoroshiro128plus(seed | 0);
  skipN(rng, 32);
  return rng;
}

function uniform(rng: RandomGenerator, low: number, high: number): number {
  return low + (high - low) * uniformFloat64(rng);
}

/** One burst's move of the lab's per-feature counters (0 = normal, 1..10 = anomalous burst number). */
function advanceAnomalyState(flags: Int32Array, at: number, rng: RandomGenerator): number {
  let mask = 0;
  for (let f = 0; f < FEATURE_COUNT; f++) {
    const flag = flags[at + f];
    if (flag === 0) {
      let odds = LAB_ANOMALY_ODDS[f];
      if (f === TEMPERATURE && flags[at + FREQUENCY] > 0)
        odds *= TEMPERATURE_ODDS_FACTOR_WHILE_FREQUENCY_ANOMALOUS;
      if (uniformFloat64(rng) < odds) flags[at + f] = 1;
    } else {
      flags[at + f] = flag >= ANOMALY_LENGTH_BURSTS ? 0 : flag + 1;
    }
    if (flags[at + f] > 0) mask |= 1 << f;
  }
  return mask;
}

function drawValues(rng: RandomGenerator, readings: number, anomalyMask: number, offsets: readonly number[]) {
  const values = new Float64Array(readings * FEATURE_COUNT);
  for (let i = 0, v = 0; i < readings; i++) {
    for (let f = 0; f < FEATURE_COUNT; f++, v++) {
      const range = anomalyMask & (1 << f) ? ANOMALY_RANGE : NORMAL_RANGE;
      const factor = Math.round(uniform(rng, range.low, range.high) * 1000) / 1000;
      values[v] = Math.round(LAB_BASE_VALUES[f] * (factor + offsets[f]) * 100) / 100;
    }
  }
  return values;
}

/**
 * Which readings of a burst are malformed. The count keeps the running total at exactly
 * round(badRatio * readings so far) at every burst's end; the positions and kinds (of `kinds`) are random.
 */
export function pickMalformed<K extends string = MalformedKind>(
  rng: RandomGenerator,
  readings: number,
  before: number,
  badRatio: number,
  kinds: readonly K[] = MALFORMED_KINDS as unknown as readonly K[],
): { index: number; kind: K }[] {
  const count = Math.round(badRatio * (before + readings)) - Math.round(badRatio * before);
  if (count === 0) return [];
  // Floyd's sampling: `count` distinct indexes out of `readings`, with `count` draws.
  const chosen = new Set<number>();
  for (let j = readings - count; j < readings; j++) {
    const pick = uniformInt(rng, 0, j);
    chosen.add(chosen.has(pick) ? j : pick);
  }
  return [...chosen]
    .sort((a, b) => a - b)
    .map((index) => ({ index, kind: kinds[uniformInt(rng, 0, kinds.length - 1)] }));
}

/** Writes the JSON text directly: several times faster than building objects for JSON.stringify. */
function serializeBurst(
  equipmentId: number,
  timestamps: readonly string[],
  values: Float64Array,
  malformed: Burst['malformed'],
): string {
  const idPart = `","equipment_id":${equipmentId},"vibration_amplitude":`;
  const parts = new Array<string>(timestamps.length);
  let nextBad = 0;
  for (let i = 0, v = 0; i < timestamps.length; i++, v += FEATURE_COUNT) {
    if (nextBad < malformed.length && malformed[nextBad].index === i) {
      parts[i] = malformedReading(malformed[nextBad++].kind, timestamps[i], equipmentId, values, v);
      continue;
    }
    parts[i] =
      `{"timestamp":"${timestamps[i]}${idPart}${values[v]},"vibration_frequency":${values[v + 1]},` +
      `"temperature":${values[v + 2]},"humidity":${values[v + 3]}}`;
  }
  return `[${parts.join(',')}]`;
}

function malformedReading(
  kind: MalformedKind,
  timestamp: string,
  equipmentId: number,
  values: Float64Array,
  v: number,
): string {
  const fields: [string, string][] = [
    ['timestamp', `"${timestamp}"`],
    ['equipment_id', String(equipmentId)],
    ...FEATURES.map((feature, f): [string, string] => [feature, String(values[v + f])]),
  ];
  const set = (name: string, text: string) => {
    const field = fields.find(([key]) => key === name);
    if (field) field[1] = text;
    else fields.push([name, text]);
  };
  switch (kind) {
    case 'numeric-string':
      set('vibration_amplitude', `"${values[v + AMPLITUDE]}"`);
      break;
    case 'missing-field':
      fields.splice(fields.length - 1, 1);
      break;
    case 'nan':
      // The bare token Python's json module writes; the pipeline reads it and rejects the reading.
      set('vibration_frequency', 'NaN');
      break;
    case 'negative-amplitude':
      set('vibration_amplitude', String(-values[v + AMPLITUDE]));
      break;
    case 'humidity-over-100':
      set('humidity', String(values[v + HUMIDITY] + 100));
      break;
    case 'unknown-field':
      set('pressure', '101.3');
      break;
    case 'bad-timestamp':
      set('timestamp', `"${timestamp.slice(0, 5)}13${timestamp.slice(7)}"`);
      break;
    case 'wrong-type':
      set('temperature', `[${values[v + TEMPERATURE]}]`);
      break;
  }
  return `{${fields.map(([key, text]) => `"${key}":${text}`).join(',')}}`;
}

/** Epoch microseconds to `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), reusing the text up to the second. */
export function createTimestampFormatter(): (epochUs: number) => string {
  let second = Number.NaN;
  let prefix = '';
  return (epochUs) => {
    const s = Math.floor(epochUs / 1e6);
    if (s !== second) {
      second = s;
      prefix = `${new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ')}.`;
    }
    return prefix + String(epochUs - s * 1e6 + 1e6).slice(1);
  };
}
