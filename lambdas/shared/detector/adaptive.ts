/**
 * The adaptive half of the detector: it learns one feature's normal online, from the stream alone (no
 * training), and says how surprising each reading is, on one scale for every sensor.
 *
 * 1. A forecast of the reading: the level (an exponentially weighted mean) plus, where the timestamps
 *    show them, a daily profile (48 half-hours) or a weekly one (168 hours). Each forecast's recent
 *    absolute error is tracked, and the best of the three is used: a profile is used only while it
 *    predicts better than the level alone, so a signal with no cycle is judged on its level.
 * 2. A surprise per reading in [0, 1]: 0 while the forecast error is within `surpriseFrom` typical
 *    errors, rising to 1 at `surpriseFrom + surpriseSpan`. The typical error is learnt too (a robust
 *    exponentially weighted mean of absolute errors).
 * 3. A likelihood, after Numenta's "anomaly likelihood" (Ahmad et al. 2017): the mean surprise of the
 *    last `averageReadings` readings is compared with the distribution of that mean over the feature's
 *    history (exponentially weighted, `historyReadings`). Its Gaussian tail probability p becomes the
 *    score -log10(p) / 10: 0.5 means a one-in-100,000 surprise for this feature, whatever its units
 *    and noise, so one threshold serves every sensor. Only the first reading of a run of such
 *    surprises keeps its score; the rest of the run is capped just under 0.5 (0.4), so a lasting
 *    change is flagged at its onset, not at every reading.
 * 4. A reading beyond every value seen so far (by `rangeTolerance` of the range) that its forecast
 *    did not expect either (4 typical errors off: a surprise, not a slow drift to new values) scores 1, unless a run of
 *    surprises is already under way (it is part of that run).
 *
 * A lasting change becomes normal as the level follows it: within `levelReadings` readings or
 * `horizonMs`, whichever is sooner. Everything is O(1) per reading, with no allocation; the state is
 * a few hundred numbers, saved and restored exactly (see `save` and `restore`).
 */

import type { StateReader, StateWriter } from './state-codec';

export interface AdaptiveSettings {
  /** A lasting change is part of the normal after at most this long (ms). */
  horizonMs: number;
  /** The level's memory in readings: it follows a change within a few times this many readings. */
  levelReadings: number;
  /** The typical forecast error's memory, in readings. */
  noiseReadings: number;
  /** How long a daily or weekly profile takes to learn a change of the cycle, in cycles. */
  profileCycles: number;
  /** Forecast errors up to this many typical errors are no surprise... */
  surpriseFrom: number;
  /** ... and this many more make a full surprise (1). */
  surpriseSpan: number;
  /** The likelihood judges the mean surprise of this many readings. */
  averageReadings: number;
  /** The memory of surprises the likelihood compares with, in readings. */
  historyReadings: number;
  /** Readings learnt from before the feature is scored (its score is 0 until then). */
  warmupReadings: number;
  /** A reading this far (a share of the range) beyond every value seen is anomalous; 0 turns it off. */
  rangeTolerance: number;
}

export const DEFAULT_ADAPTIVE_SETTINGS: AdaptiveSettings = {
  horizonMs: 3 * 3_600_000,
  levelReadings: 20,
  noiseReadings: 100,
  profileCycles: 1.6,
  surpriseFrom: 3,
  surpriseSpan: 6,
  averageReadings: 10,
  historyReadings: 2_000,
  warmupReadings: 200,
  rangeTolerance: 0.02,
};

/** Which forecast the feature is judged against. */
export const FORECASTS = ['level', 'daily', 'weekly'] as const;
export type Forecast = (typeof FORECASTS)[number];

/** What the adaptive half says of one feature's reading. */
export interface AdaptiveScore {
  /** -log10(tail probability) / 10, in [0, 1]. */
  score: number;
  /** The forecast the reading was judged against, and the reading's deviation from it. */
  expected: number;
  forecast: Forecast;
  /** The reading lies beyond every value seen so far, [low, high] (before this reading). */
  outOfRange: boolean;
  low: number;
  high: number;
  /** Still learning: the score is 0. */
  warmingUp: boolean;
}

const DAY_MS = 86_400_000;
const DAILY_BUCKETS = 48;
const WEEKLY_BUCKETS = 168;
const DAILY_BUCKET_MS = DAY_MS / DAILY_BUCKETS;
const WEEKLY_BUCKET_MS = (7 * DAY_MS) / WEEKLY_BUCKETS;
/** Mean absolute deviation of a Gaussian is 0.7979 of its standard deviation. */
const MAD_TO_STD = 1.2533;
/** Errors beyond this many typical errors are clipped before they teach the typical error. */
const ERROR_CLIP = 5;
/** A new extreme is anomalous when it is also this many typical errors off its forecast. */
const RANGE_SURPRISE = 4;
/** A new extreme must pass the old one by this many typical errors (and by rangeTolerance of the range). */
const RANGE_NOISE_MARGIN = 0.5;
/** The forecasts' recent errors are compared over about this many readings. */
const FORECAST_ERROR_READINGS = 100;
/**
 * Floors for the history of mean surprises, so that a quiet history does not make every surprise
 * huge: Numenta's mean floor, and a variance floor (Numenta: 0.0003) low enough that one full
 * surprise (a reading 9 typical errors off its forecast) in a quiet history scores over 0.5.
 */
const HISTORY_MEAN_FLOOR = 0.03;
const HISTORY_VARIANCE_FLOOR = 0.0002;
/** A tail probability this small is anomalous at the default threshold (score 0.5)... */
const RED_TAIL = 1e-5;
/** ... and the rest of a run of them is capped at this one's score (0.4). */
const YELLOW_TAIL = 1e-4;
/** Scalars of the state, in the order `save` writes them. */
const SCALARS = 19;

/** Coefficients of erfc's Chebyshev fit (Numerical Recipes, relative error < 1.2e-7), highest first. */
const ERFC_COEFFICIENTS = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
  1.00002368, -1.26551223,
];

/** Q(z), the standard normal upper tail probability. */
export function normalTail(z: number): number {
  const x = z / Math.SQRT2;
  const a = x < 0 ? -x : x;
  const t = 1 / (1 + 0.5 * a);
  let poly = 0;
  for (const c of ERFC_COEFFICIENTS) poly = poly * t + c;
  const erfc = t * Math.exp(-a * a + poly);
  return 0.5 * (x >= 0 ? erfc : 2 - erfc);
}

/** The score of a tail probability: -log10(p) / 10, capped at 1 (p = 1e-10). */
export function tailScore(tail: number): number {
  const score = -Math.log10(tail + 1e-10) / 10;
  return score < 0 ? 0 : score > 1 ? 1 : score;
}

/** The score of a mean surprise at or under its history's mean, the usual case. */
const HALF_TAIL_SCORE = tailScore(0.5);
const YELLOW_SCORE = tailScore(YELLOW_TAIL);

/** One feature of one equipment: what it has learnt, updated reading by reading. */
export class AdaptiveFeature {
  /** Readings learnt from. */
  count = 0;
  /** The first and the newest reading learnt from. */
  firstMs = Number.NaN;
  lastMs = Number.NaN;
  /** The level forecast: an exponentially weighted mean of the readings. */
  level = 0;
  /** The levels of the readings with their daily and their weekly profile taken out. */
  private dailyLevel = 0;
  private weeklyLevel = 0;
  /** Slow means (a day, a week) the profiles are deviations from. */
  private dayBaseline = 0;
  private weekBaseline = 0;
  /** Mean absolute forecast error. */
  typicalError = 0;
  private readonly daily = new Float32Array(DAILY_BUCKETS).fill(Number.NaN);
  private readonly weekly = new Float32Array(WEEKLY_BUCKETS).fill(Number.NaN);
  /** Recent absolute errors of the level, daily and weekly forecasts. */
  private levelError = 0;
  private dailyError = 0;
  private weeklyError = 0;
  /** The last `averageReadings` surprises, and their sum. */
  private readonly surprises: Float32Array;
  private surpriseSum = 0;
  /** Mean and variance of the mean surprise over the history. */
  private historyMean = 0;
  private historyVariance = 0;
  private red = 0;
  low = Number.POSITIVE_INFINITY;
  high = Number.NEGATIVE_INFINITY;
  /** When the last run of anomalous surprise began (NaN before any). */
  lastOnsetMs = Number.NaN;
  /**
   * What the newest reading learnt from was judged against (derived, not state): its forecast, and
   * how far off it a reading adds no surprise. NaN until a reading is learnt after warm-up.
   */
  private judgedExpected = Number.NaN;
  private judgedTolerance = Number.NaN;

  /** The rates of the last interval between readings (derived, not state). */
  private readonly rates: Rates = {
    dtMs: Number.NaN,
    level: 0,
    dayBaseline: 0,
    weekBaseline: 0,
    daily: 0,
    weekly: 0,
  };

  constructor(private readonly settings: AdaptiveSettings) {
    this.surprises = new Float32Array(settings.averageReadings);
  }

  /** Scores a reading, then learns from it when `learn` (a reading newer than the last one). */
  score(value: number, timestampMs: number, learn: boolean, out: AdaptiveScore): AdaptiveScore {
    const s = this.settings;
    // Half-hours of the day, and hours of the week from Thursday 1970-01-01 00:00 UTC (any fixed start
    // serves a profile).
    const dayBucket = modulo(Math.floor(timestampMs / DAILY_BUCKET_MS), DAILY_BUCKETS);
    const weekBucket = modulo(Math.floor(timestampMs / WEEKLY_BUCKET_MS), WEEKLY_BUCKETS);
    const dailyOffset = this.daily[dayBucket];
    const weeklyOffset = this.weekly[weekBucket];
    const first = this.count === 0;
    // A profile forecasts only once it has seen a whole cycle: within the first one, its buckets
    // hold nothing but recent deviations, a lagging copy of the level.
    const learntFor = first ? 0 : timestampMs - this.firstMs;
    const hasDaily = learntFor >= DAY_MS && !Number.isNaN(dailyOffset);
    const hasWeekly = learntFor >= 7 * DAY_MS && !Number.isNaN(weeklyOffset);

    const levelForecast = this.level;
    const dailyForecast = hasDaily ? this.dailyLevel + dailyOffset : levelForecast;
    const weeklyForecast = hasWeekly ? this.weeklyLevel + weeklyOffset : levelForecast;
    let forecast: Forecast = 'level';
    let expected = levelForecast;
    if (hasWeekly && this.weeklyError < this.dailyError && this.weeklyError < this.levelError) {
      forecast = 'weekly';
      expected = weeklyForecast;
    } else if (hasDaily && this.dailyError < this.levelError) {
      forecast = 'daily';
      expected = dailyForecast;
    }
    if (first) expected = value;
    const error = value - expected;
    const absError = error < 0 ? -error : error;
    // (Floored at a millionth of the forecast: profiles are held as 32-bit floats, whose rounding
    // must not look like a surprise on a signal with no noise at all.)
    const typical = MAD_TO_STD * this.typicalError;
    const floored = Math.max(typical, 1e-6 * (expected < 0 ? -expected : expected));
    let surprise = 0;
    if (this.count > 1) {
      const z = floored > 0 ? absError / floored : absError > 0 ? Number.POSITIVE_INFINITY : 0;
      surprise = (z - s.surpriseFrom) / s.surpriseSpan;
      // Held as a 32-bit float, as the ring of recent surprises holds it.
      surprise = Math.fround(surprise < 0 ? 0 : surprise > 1 ? 1 : surprise);
    }

    // The likelihood of the recent mean surprise, given the history of such means.
    const slot = this.count % s.averageReadings;
    const sum = this.surpriseSum - this.surprises[slot] + surprise;
    const mean = sum / Math.min(this.count + 1, s.averageReadings);
    const warmingUp = this.count < s.warmupReadings;
    let score = 0;
    let red = 0;
    if (!warmingUp) {
      const historyMean = this.historyMean > HISTORY_MEAN_FLOOR ? this.historyMean : HISTORY_MEAN_FLOOR;
      const historyStd = Math.sqrt(
        this.historyVariance > HISTORY_VARIANCE_FLOOR ? this.historyVariance : HISTORY_VARIANCE_FLOOR,
      );
      const tail = mean > historyMean ? normalTail((mean - historyMean) / historyStd) : 0.5;
      score = tail === 0.5 ? HALF_TAIL_SCORE : tailScore(tail);
      if (tail <= RED_TAIL) {
        red = 1;
        if (this.red === 1) score = YELLOW_SCORE;
      }
    }
    // Beyond the range by a share of it, and by more than the noise (a new extreme of noise alone
    // lies just past the old one).
    const margin = Math.max(s.rangeTolerance * (this.high - this.low), RANGE_NOISE_MARGIN * typical);
    const outOfRange =
      !warmingUp &&
      s.rangeTolerance > 0 &&
      absError > RANGE_SURPRISE * floored &&
      (value > this.high + margin || value < this.low - margin);
    if (outOfRange) {
      // Part of the run of surprises: flagged when it starts one.
      score = this.red === 1 ? YELLOW_SCORE : 1;
      red = 1;
    }

    out.score = score;
    out.expected = expected;
    out.forecast = forecast;
    out.outOfRange = outOfRange;
    out.low = this.low;
    out.high = this.high;
    out.warmingUp = warmingUp;
    if (!learn) return out;

    // Learn: the run of surprises, the forecasts' errors, the level, the profiles, the history.
    this.judgedExpected = warmingUp ? Number.NaN : expected;
    this.judgedTolerance = s.surpriseFrom * floored;
    if (red === 1 && this.red === 0) this.lastOnsetMs = timestampMs;
    this.red = red;
    const dtMs = first ? 0 : timestampMs - this.lastMs;
    this.lastMs = timestampMs;
    this.surprises[slot] = surprise;
    this.surpriseSum = sum;
    if (first) {
      this.level = this.dailyLevel = this.weeklyLevel = value;
      this.dayBaseline = this.weekBaseline = value;
      this.firstMs = timestampMs;
    } else {
      const e = 1 / FORECAST_ERROR_READINGS;
      this.levelError += e * (Math.abs(value - levelForecast) - this.levelError);
      this.dailyError += e * (Math.abs(value - dailyForecast) - this.dailyError);
      this.weeklyError += e * (Math.abs(value - weeklyForecast) - this.weeklyError);
      // Large errors are clipped so that a spike does not teach the typical error much; while the
      // typical error is still 0 (a flat start), the first error teaches it as it is.
      const clip = ERROR_CLIP * typical;
      const taught = typical === 0 || absError < clip ? absError : clip;
      this.typicalError += (this.count === 1 ? 1 : 1 / s.noiseReadings) * (taught - this.typicalError);
      // Each forecast's level follows the readings (with its cycle taken out), within levelReadings
      // readings or the horizon, whichever is sooner.
      const rates = this.ratesFor(dtMs);
      const rate = rates.level;
      this.level += rate * (value - this.level);
      this.dailyLevel += rate * (value - (hasDaily ? dailyOffset : 0) - this.dailyLevel);
      this.weeklyLevel += rate * (value - (hasWeekly ? weeklyOffset : 0) - this.weeklyLevel);
      // The profiles hold deviations from baselines too slow to follow the cycle itself.
      this.dayBaseline += rates.dayBaseline * (value - this.dayBaseline);
      this.weekBaseline += rates.weekBaseline * (value - this.weekBaseline);
    }
    const rates = this.ratesFor(dtMs);
    // A profile learns a surprising reading only up to a few typical errors, so that one anomalous
    // night does not make the next normal one look anomalous.
    const limit = ERROR_CLIP * typical;
    const dayDeviation = value - this.dayBaseline;
    this.daily[dayBucket] = Number.isNaN(dailyOffset)
      ? dayDeviation
      : dailyOffset + rates.daily * clamp(dayDeviation - dailyOffset, limit);
    const weekDeviation = value - this.weekBaseline;
    this.weekly[weekBucket] = Number.isNaN(weeklyOffset)
      ? weekDeviation
      : weeklyOffset + rates.weekly * clamp(weekDeviation - weeklyOffset, limit);
    this.count++;
    const w = 1 / (this.count < s.historyReadings ? this.count : s.historyReadings);
    const d = mean - this.historyMean;
    this.historyMean += w * d;
    this.historyVariance = (1 - w) * (this.historyVariance + w * d * d);
    if (value < this.low) this.low = value;
    if (value > this.high) this.high = value;
    return out;
  }

  /**
   * The normal band of the newest reading learnt from: its forecast, and the values within
   * `surpriseFrom` typical errors of it (a reading there adds no surprise). Undefined while warming
   * up, and after a restore until the next reading.
   */
  normalBand(): { expected: number; low: number; high: number } | undefined {
    if (Number.isNaN(this.judgedExpected)) return undefined;
    return {
      expected: this.judgedExpected,
      low: this.judgedExpected - this.judgedTolerance,
      high: this.judgedExpected + this.judgedTolerance,
    };
  }

  /**
   * How far each average moves for a reading `dtMs` after the previous one. Readings mostly come at
   * a steady pace, so the last interval's rates are kept (they depend on nothing else).
   */
  private ratesFor(dtMs: number): Rates {
    const cached = this.rates;
    if (cached.dtMs === dtMs) return cached;
    const s = this.settings;
    const byReadings = 1 / s.levelReadings;
    const byTime = 1 - Math.exp((-3 * dtMs) / s.horizonMs);
    cached.dtMs = dtMs;
    cached.level = byTime > byReadings ? byTime : byReadings;
    cached.dayBaseline = 1 - Math.exp(-dtMs / DAY_MS);
    cached.weekBaseline = 1 - Math.exp(-dtMs / (7 * DAY_MS));
    cached.daily = profileRate(dtMs, DAILY_BUCKET_MS, s.profileCycles);
    cached.weekly = profileRate(dtMs, WEEKLY_BUCKET_MS, s.profileCycles);
    return cached;
  }

  /** Writes the state: `restore` on a new instance with the same settings continues exactly. */
  save(out: StateWriter): void {
    out
      .float64s([
        this.count,
        this.firstMs,
        this.lastMs,
        this.level,
        this.dailyLevel,
        this.weeklyLevel,
        this.dayBaseline,
        this.weekBaseline,
        this.typicalError,
        this.levelError,
        this.dailyError,
        this.weeklyError,
        this.surpriseSum,
        this.historyMean,
        this.historyVariance,
        this.red,
        this.low,
        this.high,
        this.lastOnsetMs,
      ])
      .float32s(this.surprises)
      .float32s(this.daily)
      .float32s(this.weekly);
  }

  restore(input: StateReader): void {
    const scalars = input.float64s(SCALARS);
    const surprises = input.float32s(this.surprises.length);
    const daily = input.float32s(DAILY_BUCKETS);
    const weekly = input.float32s(WEEKLY_BUCKETS);
    if (
      scalars.length !== SCALARS ||
      surprises.length !== this.surprises.length ||
      daily.length !== DAILY_BUCKETS ||
      weekly.length !== WEEKLY_BUCKETS
    ) {
      throw new Error('the saved state was written with other settings');
    }
    [
      this.count,
      this.firstMs,
      this.lastMs,
      this.level,
      this.dailyLevel,
      this.weeklyLevel,
      this.dayBaseline,
      this.weekBaseline,
      this.typicalError,
      this.levelError,
      this.dailyError,
      this.weeklyError,
      this.surpriseSum,
      this.historyMean,
      this.historyVariance,
      this.red,
      this.low,
      this.high,
      this.lastOnsetMs,
    ] = scalars;
    this.surprises.set(surprises);
    this.daily.set(daily);
    this.weekly.set(weekly);
  }
}

interface Rates {
  dtMs: number;
  level: number;
  dayBaseline: number;
  weekBaseline: number;
  daily: number;
  weekly: number;
}

/**
 * How far a profile's bucket moves toward a reading: its readings of one cycle together move it by
 * about 1 - e^(-1 / cycles). `dtMs` is the time the reading stands for (capped at the bucket).
 */
function profileRate(dtMs: number, bucketMs: number, cycles: number): number {
  const share = dtMs <= 0 ? 0 : dtMs < bucketMs ? dtMs / bucketMs : 1;
  return 1 - Math.exp(-share / cycles);
}

/** `value` clamped to [-limit, limit] (limit 0 or less: no clamp, as while nothing is learnt yet). */
function clamp(value: number, limit: number): number {
  if (!(limit > 0)) return value;
  return value > limit ? limit : value < -limit ? -limit : value;
}

/** `n mod m` in [0, m), for negative n too. */
function modulo(n: number, m: number): number {
  const r = n % m;
  return r < 0 ? r + m : r;
}
