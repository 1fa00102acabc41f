import { z } from 'zod';
import { FEATURE_LABELS, FEATURES, type Feature, type FeatureValues } from './features';
import type { Reading } from './reading';

/**
 * The anomaly detector: a streaming "regime level" detector, one state per equipment and feature.
 *
 * A single reading says little: sensor noise and slow shared drifts (the simulator's per-burst
 * offset, a factory's ambient temperature) make normal and anomalous readings overlap. The level the
 * equipment has held over its recent readings says much more. So, per feature, the detector keeps the
 * readings since the last change of regime, detects a new regime when the mean of the last few
 * readings departs from the regime's mean by more than the noise allows (a two-sample test), and
 * judges the regime's level against the band that normal levels stay in. It also flags a reading far
 * outside its regime (a spike). Everything it flags comes with its reason: which feature, how far.
 * Where training found the noise bounded (uniform-like), a level is the regime's midrange, which such
 * noise pins down far faster than a mean; otherwise, and whenever the two disagree, it is the mean.
 *
 * State lives in memory, per equipment: a warm Lambda keeps it across batches; after a cold start it
 * rebuilds from the readings it sees (the first few readings of each equipment are judged on less
 * context). Readings no newer than the last one seen of their equipment are scored without moving
 * the state, so a retried batch does not count its readings twice.
 */

const featureParameters = z.object({
  /** Centre of normal levels: deviations in reasons are relative to it. */
  mean: z.number(),
  /** Spread of single readings around their regime's level. */
  noiseStd: z.number().positive(),
  /** Normal regime levels stay within [levelLow, levelHigh]. */
  levelLow: z.number(),
  levelHigh: z.number(),
  /**
   * Present when training found the noise bounded (uniform-like: excess kurtosis near -1.2): the
   * width of its support. A level is then the midrange of the regime's readings (second smallest and
   * second largest), which for such noise is precise to about width / n rather than noiseStd / sqrt(n).
   */
  noiseWidth: z.number().positive().optional(),
});

export const detectorModelSchema = z.object({
  formatVersion: z.literal(2),
  modelVersion: z.string().min(1),
  kind: z.literal('regime-level'),
  features: z.array(z.string().min(1)).min(1),
  /** One entry per feature, in the order of `features`. */
  parameters: z.array(featureParameters).min(1),
  /** Readings in the recent window compared with the regime to detect a change. */
  changeWindow: z.number().int().min(2).max(1_000),
  /** How many standard errors apart the window and the regime must be to start a new regime. */
  changeZ: z.number().positive(),
  /** The regime's level is the mean of at most this many readings. */
  maxRegimeReadings: z.number().int().min(10).max(100_000),
  /** A level is anomalous once it is this many of its standard errors outside the normal band. */
  levelZ: z.number().nonnegative(),
  /** A reading this many noise deviations from its regime's level is a spike. */
  spikeZ: z.number().positive(),
  training: z.object({
    source: z.string(),
    rows: z.number().int().nonnegative(),
    createdAt: z.string(),
    notes: z.string().optional(),
    summary: z.record(z.string(), z.number()).optional(),
  }),
});

export type DetectorModel = z.infer<typeof detectorModelSchema>;
export type FeatureParameters = z.infer<typeof featureParameters>;

/** Parses a model artifact, with a message that names the first problem. */
export function parseDetectorModel(json: unknown): DetectorModel {
  const parsed = detectorModelSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid detector model: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (parsed.data.parameters.length !== parsed.data.features.length) {
    throw new Error(
      `invalid detector model: ${parsed.data.parameters.length} parameter sets for ${parsed.data.features.length} features`,
    );
  }
  return parsed.data;
}

export interface DetectorOptions {
  /** Readings whose score reaches this are flagged; higher is less sensitive. Default 0.5. */
  scoreThreshold?: number;
  /** Per-feature thresholds, overriding `scoreThreshold` for those features. */
  featureThresholds?: Record<string, number>;
}

/** What the detector says of one reading, for any list of features. */
export interface ValuesScore {
  /** In [0, 1]: how sure the detector is that the reading is anomalous. */
  score: number;
  isAnomaly: boolean;
  /** Indexes (in the model's feature order) of the anomalous features. */
  anomalous: number[];
  /** Relative deviation of each feature's level from the normal centre (0.23 = 23% over). */
  deviations: number[];
  reasons: string[];
}

/** The detector over any list of features: `evaluate`, `score` and `train` use it on CSV columns. */
export interface StreamDetector {
  readonly modelVersion: string;
  readonly features: readonly string[];
  /** Scores one reading of the stream `key` (an equipment), and moves that stream's state. */
  scoreValues(key: string | number, timestampMs: number, values: ArrayLike<number>): ValuesScore;
}

const LOGISTIC_SLOPE = 1.7;
/** Extra standard errors a level must be out of the band by while its regime is shorter than a window. */
const EARLY_LEVEL_Z = 3;
/** The recent window judged beside the regime, in change windows. */
const RECENT_SCALE = 30;

export function createStreamDetector(
  model: DetectorModel,
  options: DetectorOptions = {},
  labels: readonly string[] = model.features,
): StreamDetector {
  const thresholds = model.features.map((feature) => {
    const threshold = options.featureThresholds?.[feature] ?? options.scoreThreshold ?? 0.5;
    if (!(threshold > 0 && threshold < 1)) {
      throw new Error(
        `the score threshold of ${feature} must be between 0 and 1 (exclusive), got ${threshold}`,
      );
    }
    return threshold;
  });
  const streams = new Map<string | number, { lastMs: number; regimes: Regime[] }>();
  const width = model.features.length;
  const recentWindow = RECENT_SCALE * model.changeWindow;

  return {
    modelVersion: model.modelVersion,
    features: model.features,
    scoreValues(key, timestampMs, values) {
      let stream = streams.get(key);
      if (!stream) {
        stream = {
          lastMs: Number.NEGATIVE_INFINITY,
          regimes: model.parameters.map(() => new Regime(model.maxRegimeReadings)),
        };
        streams.set(key, stream);
      }
      // A reading no newer than the stream's last one (a retried batch) is judged, not learnt from.
      const learn = timestampMs > stream.lastMs;
      if (learn) stream.lastMs = timestampMs;

      let score = 0;
      const anomalous: number[] = [];
      const deviations = new Array<number>(width);
      const reasons: string[] = [];
      for (let f = 0; f < width; f++) {
        const p = model.parameters[f];
        const regime = stream.regimes[f];
        const value = values[f];
        if (learn) regime.take(value, p.noiseStd, model);
        const count = regime.count || 1;
        // How far the level is outside the normal band, in standard errors of the level; judged also
        // on the regime's last readings alone, which show a shift the change test has not split yet.
        const recentCount = Math.min(recentWindow, count);
        const recentLevel = regime.count === 0 ? value : regime.meanOfLast(recentCount);
        const recentOutside =
          (Math.max(recentLevel - p.levelHigh, p.levelLow - recentLevel) * Math.sqrt(recentCount)) /
          p.noiseStd;
        // A level of fewer readings than a change window (after a cold start, say) must be further out.
        const margin = model.levelZ + (count < model.changeWindow ? EARLY_LEVEL_Z : 0);
        const midrange = p.noiseWidth === undefined ? undefined : regime.boundedLevel(p.noiseStd);
        let level: number;
        let outsideBand: number;
        if (p.noiseWidth !== undefined && midrange !== undefined) {
          // Bounded noise: the midrange level, whose standard error is about noiseWidth / n. The recent
          // readings count only when their mean and their midrange (uncorrelated for such noise) both
          // put them out, which keeps a normal level near the band's edge from being flagged by chance.
          level = midrange;
          outsideBand = (Math.max(level - p.levelHigh, p.levelLow - level) * count) / p.noiseWidth;
          // (Their midrange costs a pass over them: it is skipped while their mean is too far inside
          // the band to score even 0.001.)
          if (recentOutside > outsideBand && recentOutside > margin - 4 && recentCount >= 4) {
            const recentMid = regime.midrangeOfLast(recentCount);
            const recentMidOutside =
              (Math.max(recentMid - p.levelHigh, p.levelLow - recentMid) * recentCount) / p.noiseWidth;
            outsideBand = Math.max(outsideBand, Math.min(recentOutside, recentMidOutside));
          }
        } else {
          level = regime.count === 0 ? value : regime.level;
          outsideBand = Math.max(
            (Math.max(level - p.levelHigh, p.levelLow - level) * Math.sqrt(count)) / p.noiseStd,
            recentOutside,
          );
        }
        const levelScore = logistic(LOGISTIC_SLOPE * (outsideBand - margin));
        const spikeScore = logistic((Math.abs(value - level) / p.noiseStd - model.spikeZ) * 2);
        const featureScore = levelScore > spikeScore ? levelScore : spikeScore;
        deviations[f] = p.mean === 0 ? 0 : (level - p.mean) / Math.abs(p.mean);
        if (featureScore > score) score = featureScore;
        if (featureScore >= thresholds[f]) {
          anomalous.push(f);
          reasons.push(
            levelScore >= spikeScore
              ? describeDeviation(labels[f], deviations[f])
              : `${labels[f]} spike ${signedPercent(p.mean === 0 ? 0 : (value - level) / Math.abs(p.mean))} off its level`,
          );
        }
      }
      return { score, isAnomaly: anomalous.length > 0, anomalous, deviations, reasons };
    },
  };
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * The two smallest and the two largest of some readings. Their midrange leaves the outermost pair out,
 * so one stray reading (from before a change of regime, say) cannot pull it.
 */
class TrimmedRange {
  private min1 = Number.POSITIVE_INFINITY;
  private min2 = Number.POSITIVE_INFINITY;
  private max1 = Number.NEGATIVE_INFINITY;
  private max2 = Number.NEGATIVE_INFINITY;

  get midrange(): number {
    return (this.min2 + this.max2) / 2;
  }

  /** Whether `value` is one of the extremes kept, so that losing it leaves them stale. */
  holds(value: number): boolean {
    return value <= this.min2 || value >= this.max2;
  }

  take(value: number): void {
    if (value < this.min2) {
      if (value < this.min1) {
        this.min2 = this.min1;
        this.min1 = value;
      } else this.min2 = value;
    }
    if (value > this.max2) {
      if (value > this.max1) {
        this.max2 = this.max1;
        this.max1 = value;
      } else this.max2 = value;
    }
  }

  reset(): void {
    this.min1 = this.min2 = Number.POSITIVE_INFINITY;
    this.max1 = this.max2 = Number.NEGATIVE_INFINITY;
  }
}

/** The windows compared with the regime, as multiples of the model's change window. */
const CHANGE_SCALES = [1, 3, 10, 30];

/**
 * The readings of one feature since its last change of regime (at most `capacity`): their mean is the
 * level. After each reading, the means of the last k readings, for a few window lengths k, are
 * compared with the mean of the regime's earlier readings; when one differs by more than `changeZ`
 * standard errors, the regime restarts with the shortest such window. Short windows catch large shifts
 * at once, long ones catch small shifts a little later.
 */
export class Regime {
  private readonly values: Float64Array;
  /** Running totals: the sum of readings i..j is totals[j] - totals[i - 1]. */
  private readonly totals: Float64Array;
  private start = 0;
  count = 0;
  private total = 0;
  /** Spikes held out of the regime; a run of `changeWindow` of them is a shift, and joins it. */
  private readonly pending: number[] = [];
  /** The extremes of the regime's readings (for the midrange level). */
  private readonly extremes = new TrimmedRange();
  /** Reused for the extremes of the last few readings. */
  private readonly recentExtremes = new TrimmedRange();

  constructor(private readonly capacity: number) {
    this.values = new Float64Array(capacity);
    this.totals = new Float64Array(capacity);
  }

  /** The mean of the regime's readings (NaN while it has none). */
  get level(): number {
    return this.meanOfLast(this.count);
  }

  /**
   * The midrange of the regime's readings, leaving out the smallest and the largest (so one stray
   * reading from before a change cannot pull it); the mean while the regime has fewer than 4.
   */
  get midrange(): number {
    return this.count < 4 ? this.level : this.extremes.midrange;
  }

  /**
   * The midrange, when it agrees with the mean within 3 of the mean's standard errors (as it does
   * for bounded noise); undefined when readings unlike the noise (spikes taken in before the regime
   * settled, say) have pulled it, or the regime has fewer than 4 readings: then the mean is the level.
   */
  boundedLevel(noiseStd: number): number | undefined {
    if (this.count < 4) return undefined;
    const midrange = this.midrange;
    return Math.abs(midrange - this.level) <= (3 * noiseStd) / Math.sqrt(this.count) ? midrange : undefined;
  }

  /** The midrange of the regime's last `k` readings (4 <= k <= count), without their extremes. */
  midrangeOfLast(k: number): number {
    return this.rangeOfLast(k, this.recentExtremes).midrange;
  }

  /** Mean of the regime's last `k` readings (1 <= k <= count). */
  meanOfLast(k: number): number {
    return this.sumOfLast(k) / k;
  }

  /**
   * Takes a reading in, unless it is a spike off a settled regime: a lone spike must not move the
   * level (or fake a change of regime), while `changeWindow` spikes in a row are a real shift.
   */
  take(
    value: number,
    noiseStd: number,
    settings: { changeWindow: number; changeZ: number; spikeZ: number },
  ): void {
    const { changeWindow, changeZ, spikeZ } = settings;
    const settled = this.count >= 2 * changeWindow;
    if (!settled || Math.abs(value - this.level) <= spikeZ * noiseStd) {
      // Spikes held before this reading were transient: they stay out of the regime.
      this.pending.length = 0;
      this.push(value, noiseStd, changeWindow, changeZ);
      return;
    }
    this.pending.push(value);
    if (this.pending.length < changeWindow) return;
    for (const held of this.pending) this.push(held, noiseStd, changeWindow, changeZ);
    this.pending.length = 0;
  }

  push(value: number, noiseStd: number, window: number, changeZ: number): void {
    let extremesStale = false;
    if (this.count === this.capacity) {
      const evicted = this.values[this.start];
      extremesStale = this.extremes.holds(evicted);
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    const slot = (this.start + this.count) % this.capacity;
    this.total += value;
    this.values[slot] = value;
    this.totals[slot] = this.total;
    this.count++;
    if (extremesStale) this.rangeOfLast(this.count, this.extremes);
    else this.extremes.take(value);
    for (const scale of CHANGE_SCALES) {
      const k = scale * window;
      if (this.count < 2 * k) break;
      const recent = this.sumOfLast(k);
      const older = this.count - k;
      const difference = recent / k - (this.sumOfLast(this.count) - recent) / older;
      if (Math.abs(difference) > changeZ * noiseStd * Math.sqrt(1 / k + 1 / older)) {
        this.start = (this.start + older) % this.capacity;
        this.count = k;
        this.rangeOfLast(k, this.extremes);
        break;
      }
    }
  }

  /** Fills `range` with the extremes of the regime's last `k` readings. */
  private rangeOfLast(k: number, range: TrimmedRange): TrimmedRange {
    range.reset();
    for (let i = this.count - k; i < this.count; i++)
      range.take(this.values[(this.start + i) % this.capacity]);
    return range;
  }

  private sumOfLast(k: number): number {
    const last = (this.start + this.count - 1) % this.capacity;
    if (k === this.count) {
      const first = this.start;
      return this.totals[last] - this.totals[first] + this.values[first];
    }
    return this.totals[last] - this.totals[(this.start + this.count - k - 1) % this.capacity];
  }
}

/** What the pipeline's handlers use: the detector over the four reading features, per equipment. */
export interface Score {
  /** In [0, 1]; 0.5 is the default flagging threshold. */
  score: number;
  isAnomaly: boolean;
  anomalousFeatures: Feature[];
  /** Relative deviation of each feature's recent level from its normal centre (0.23 = 23% over). */
  deviations: FeatureValues;
  /** One short sentence per anomalous feature. */
  reasons: string[];
}

export interface Detector {
  readonly modelVersion: string;
  score(reading: Reading): Score;
}

export function createDetector(model: DetectorModel, options: DetectorOptions = {}): Detector {
  if (model.features.join() !== FEATURES.join()) {
    throw new Error(
      `the pipeline needs a model of ${FEATURES.join(', ')}; this one has ${model.features.join(', ')}`,
    );
  }
  const detector = createStreamDetector(
    model,
    options,
    FEATURES.map((feature) => FEATURE_LABELS[feature]),
  );
  const values = new Float64Array(FEATURES.length);
  // Local: under tsx (local mode, bench) each use of an imported binding is a getter call.
  const features = FEATURES;
  return {
    modelVersion: model.modelVersion,
    score(reading) {
      for (let f = 0; f < features.length; f++) values[f] = reading.values[features[f]];
      const result = detector.scoreValues(reading.equipmentId, reading.timestampMs, values);
      return {
        score: result.score,
        isAnomaly: result.isAnomaly,
        anomalousFeatures: result.anomalous.map((f) => features[f]),
        deviations: {
          vibration_amplitude: result.deviations[0],
          vibration_frequency: result.deviations[1],
          temperature: result.deviations[2],
          humidity: result.deviations[3],
        },
        reasons: result.reasons,
      };
    },
  };
}

/** "temperature +23% over baseline" */
export function describeDeviation(label: string, deviation: number): string {
  return `${label} ${signedPercent(deviation)} ${deviation >= 0 ? 'over' : 'under'} baseline`;
}

function signedPercent(deviation: number): string {
  const percent = Math.abs(deviation) * 100;
  const shown = percent >= 10 ? percent.toFixed(0) : percent.toFixed(1);
  return `${deviation >= 0 ? '+' : '-'}${shown}%`;
}
