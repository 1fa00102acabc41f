import type { FeatureValues } from '../features';
import type { Reading } from '../reading';
import { LAB_SCHEMA, type ReadingSchema } from '../reading-schema';
import {
  AdaptiveFeature,
  type AdaptiveScore,
  type AdaptiveSettings,
  DEFAULT_ADAPTIVE_SETTINGS,
} from './adaptive';
import type { DetectorModel, FeatureParameters } from './model';
import { describeAdaptive, describeDeviation, describeLimit, describeSpike } from './reasons';
import { Regime, scoreTrained, type TrainedScore } from './regime';
import { StateReader, StateWriter } from './state-codec';

export { type AdaptiveSettings, DEFAULT_ADAPTIVE_SETTINGS } from './adaptive';
export { type DetectorModel, detectorModelSchema, type FeatureParameters, parseDetectorModel } from './model';
export { describeDeviation } from './reasons';
export { Regime } from './regime';

/**
 * The anomaly detector, one state per stream (an equipment) and feature. Two halves, each scoring
 * every reading in [0, 1]; a feature's score is the higher of the two:
 *
 * - adaptive (./adaptive.ts), for every feature: it learns the feature's normal online (level,
 *   noise, daily and weekly profile), needs no training, follows a lasting change within a horizon,
 *   and scores surprise as a calibrated likelihood, so that 0.5 means the same on every sensor;
 * - absolute limits, which never adapt: the trained band of a model artifact (./regime.ts) for the
 *   features the model names, and limits a user writes (temperature 40 to 80, say).
 *
 * A lasting change is thus anomalous at its onset and normal after the horizon, unless it breaks an
 * absolute limit, in which case it stays flagged. Readings no newer than the last one seen of their
 * stream (a retried batch) are scored without moving the state, so a retry does not learn twice.
 * A stream's state can be saved and restored (`saveState`, `restoreState`), so a new execution
 * environment continues where the last one stopped.
 */

/** Limits a user sets on a feature's readings; a reading outside them is anomalous whatever was learnt. */
export interface ValueLimits {
  low?: number;
  high?: number;
}

export interface DetectorOptions {
  /** Readings whose score reaches this are flagged; higher is less sensitive. Default 0.5. */
  scoreThreshold?: number;
  /** Per-feature thresholds, overriding `scoreThreshold` for those features. */
  featureThresholds?: Record<string, number>;
  /** Absolute limits per feature name. */
  limits?: Record<string, ValueLimits>;
  /** Settings of the adaptive half (defaults: DEFAULT_ADAPTIVE_SETTINGS). */
  adaptive?: Partial<AdaptiveSettings>;
}

export interface StreamDetectorConfig extends DetectorOptions {
  /** The features of each reading, in the order `scoreValues` receives them. */
  features: readonly string[];
  /** Labels in reasons (default: the feature names). */
  labels?: readonly string[];
  /** Units after values in reasons, with their space (" °C"); default none. */
  units?: readonly string[];
  /** A trained model: absolute limits for the features it names. */
  model?: DetectorModel;
}

/** What the detector says of one reading, for any list of features. */
export interface ValuesScore {
  /** In [0, 1]: how sure the detector is that the reading is anomalous. */
  score: number;
  isAnomaly: boolean;
  /** Indexes (in the detector's feature order) of the anomalous features. */
  anomalous: number[];
  /** Relative deviation of each feature from its normal (0.23 = 23% over). */
  deviations: number[];
  reasons: string[];
  /** The adaptive half is still learning this stream (it scores 0 until then). */
  warmingUp: boolean;
}

/**
 * What the detector holds normal for one feature of a stream, for display: each part present only
 * where the detector has it.
 */
export interface FeatureNormal {
  /** The adaptive half's forecast of the newest reading, and the band within which a reading adds no surprise. */
  expected?: number;
  low?: number;
  high?: number;
  /** Absolute limits (the schema's or the user's): a reading beyond one is anomalous. */
  limitLow?: number;
  limitHigh?: number;
  /** A trained model's band of normal levels. */
  levelLow?: number;
  levelHigh?: number;
  /** The score at which the feature is flagged. */
  threshold: number;
}

export interface StreamDetector {
  readonly modelVersion: string;
  readonly features: readonly string[];
  /** Scores one reading of the stream `key` (an equipment), and moves that stream's state. */
  scoreValues(key: string | number, timestampMs: number, values: ArrayLike<number>): ValuesScore;
  /** Whether this detector holds state for the stream (it saw or restored it). */
  has(key: string | number): boolean;
  /** The time of the newest reading learnt from, for a stream it holds. */
  lastLearntMs(key: string | number): number | undefined;
  /** The stream's state, compact and versioned; undefined for a stream it does not hold. */
  saveState(key: string | number): Uint8Array | undefined;
  /**
   * Replaces the stream's state with a saved one. Throws, changing nothing, when the bytes are not a
   * state of this detector's model, features and settings (after a redeploy with another model, say).
   */
  restoreState(key: string | number, state: Uint8Array): void;
  /** Drops the stream's state (it is learnt again, or restored, when next seen). */
  forget(key: string | number): void;
  /** Per feature (the detector's order), its normal as of the newest reading; undefined for a stream it does not hold. */
  normal(key: string | number): FeatureNormal[] | undefined;
}

/** The adaptive half's version: it changes whenever what it learns or how it scores does. */
export const ADAPTIVE_VERSION = 'adaptive-1';
/** First field of a saved state. */
const STATE_FORMAT = 1;

interface StreamState {
  lastMs: number;
  adaptive: AdaptiveFeature[];
  /** Per feature: the regime of a trained feature, undefined for the others. */
  regimes: (Regime | undefined)[];
}

export function createStreamDetector(config: StreamDetectorConfig): StreamDetector {
  const { features, model } = config;
  const labels = config.labels ?? features;
  const units = config.units ?? features.map(() => '');
  const width = features.length;
  const settings: AdaptiveSettings = { ...DEFAULT_ADAPTIVE_SETTINGS, ...config.adaptive };
  if (model) {
    const unknown = model.features.filter((feature) => !features.includes(feature));
    if (unknown.length > 0) {
      throw new Error(
        `the model names features the readings do not have: ${unknown.join(', ')} (readings have ${features.join(', ')})`,
      );
    }
  }
  for (const name of Object.keys(config.limits ?? {})) {
    if (!features.includes(name)) throw new Error(`a limit is set on ${name}, which is not a feature`);
  }
  const trained: (FeatureParameters | undefined)[] = features.map((feature) => {
    const index = model ? model.features.indexOf(feature) : -1;
    return model && index >= 0 ? model.parameters[index] : undefined;
  });
  const limits = features.map((feature) => {
    const limit = config.limits?.[feature] ?? {};
    return { low: limit.low ?? Number.NEGATIVE_INFINITY, high: limit.high ?? Number.POSITIVE_INFINITY };
  });
  const thresholds = features.map((feature) => {
    const threshold = config.featureThresholds?.[feature] ?? config.scoreThreshold ?? 0.5;
    if (!(threshold > 0 && threshold < 1)) {
      throw new Error(
        `the score threshold of ${feature} must be between 0 and 1 (exclusive), got ${threshold}`,
      );
    }
    return threshold;
  });
  const modelVersion = model ? `${model.modelVersion}+${ADAPTIVE_VERSION}` : ADAPTIVE_VERSION;
  // A saved state is restored only into a detector that would have written it.
  const stateVersion = `${modelVersion}|${features.join(',')}|${JSON.stringify(settings)}`;
  const streams = new Map<string | number, StreamState>();
  // A trained band is the range of normal levels: it replaces the adaptive half's own range check.
  const trainedSettings: AdaptiveSettings = { ...settings, rangeTolerance: 0 };
  const newStream = (): StreamState => ({
    lastMs: Number.NEGATIVE_INFINITY,
    adaptive: trained.map((p) => new AdaptiveFeature(p ? trainedSettings : settings)),
    regimes: trained.map((p) => (p && model ? new Regime(model.maxRegimeReadings) : undefined)),
  });
  const adaptiveScore: AdaptiveScore = {
    score: 0,
    expected: 0,
    forecast: 'level',
    outOfRange: false,
    low: 0,
    high: 0,
    warmingUp: false,
  };
  const trainedScore: TrainedScore = { score: 0, byLevel: true, level: 0 };

  return {
    modelVersion,
    features,
    scoreValues(key, timestampMs, values) {
      let stream = streams.get(key);
      if (!stream) {
        stream = newStream();
        streams.set(key, stream);
      }
      const learn = timestampMs > stream.lastMs;
      if (learn) stream.lastMs = timestampMs;

      let score = 0;
      let warmingUp = false;
      const anomalous: number[] = [];
      const deviations = new Array<number>(width);
      const reasons: string[] = [];
      for (let f = 0; f < width; f++) {
        const value = values[f];
        if (Number.isNaN(value)) {
          // An optional feature the reading left out: nothing to judge or learn.
          deviations[f] = 0;
          continue;
        }
        const adaptive = stream.adaptive[f].score(value, timestampMs, learn, adaptiveScore);
        if (adaptive.warmingUp) warmingUp = true;
        const expected = adaptive.expected;
        deviations[f] = expected === 0 ? 0 : (value - expected) / Math.abs(expected);
        let featureScore = adaptive.score;
        // Whose reason a flag gives: a broken absolute limit first, then the trained band, then the adaptive half.
        let reason = 0; // 0 adaptive, 1 trained level, 2 trained spike, 3 user limit
        const p = trained[f];
        const regime = stream.regimes[f];
        if (p && regime && model) {
          if (learn) regime.take(value, p.noiseStd, model);
          const t = scoreTrained(p, model, regime, value, trainedScore);
          deviations[f] = p.mean === 0 ? 0 : (t.level - p.mean) / Math.abs(p.mean);
          const trainedMax = t.score;
          if (trainedMax >= thresholds[f] || trainedMax > featureScore) reason = t.byLevel ? 1 : 2;
          if (trainedMax > featureScore) featureScore = trainedMax;
        }
        const limit = limits[f];
        if (value < limit.low || value > limit.high) {
          featureScore = 1;
          reason = 3;
        }

        if (featureScore > score) score = featureScore;
        if (featureScore >= thresholds[f]) {
          anomalous.push(f);
          const label = labels[f];
          if (reason === 0) reasons.push(describeAdaptive(label, value, adaptive, units[f]));
          else if (reason === 3) reasons.push(describeLimit(label, value, limit, units[f]));
          else {
            const centre = (p as FeatureParameters).mean;
            const level = trainedScore.level;
            reasons.push(
              reason === 1
                ? describeDeviation(label, deviations[f])
                : describeSpike(label, centre === 0 ? 0 : (value - level) / Math.abs(centre)),
            );
          }
        }
      }
      return { score, isAnomaly: anomalous.length > 0, anomalous, deviations, reasons, warmingUp };
    },

    has: (key) => streams.has(key),
    lastLearntMs: (key) => streams.get(key)?.lastMs,
    forget: (key) => {
      streams.delete(key);
    },

    normal(key) {
      const stream = streams.get(key);
      if (!stream) return undefined;
      return features.map((_, f) => {
        const normal: FeatureNormal = { threshold: thresholds[f], ...stream.adaptive[f].normalBand() };
        if (Number.isFinite(limits[f].low)) normal.limitLow = limits[f].low;
        if (Number.isFinite(limits[f].high)) normal.limitHigh = limits[f].high;
        const p = trained[f];
        if (p) {
          normal.levelLow = p.levelLow;
          normal.levelHigh = p.levelHigh;
        }
        return normal;
      });
    },

    saveState(key) {
      const stream = streams.get(key);
      if (!stream) return undefined;
      const out = new StateWriter().uint32(STATE_FORMAT).text(stateVersion).float64(stream.lastMs);
      for (const adaptive of stream.adaptive) adaptive.save(out);
      for (const regime of stream.regimes) {
        if (!regime) continue;
        const { readings, pending, firstTotal } = regime.save();
        out.float64s(readings).float64s(pending).float64(firstTotal);
      }
      return out.finish();
    },

    restoreState(key, bytes) {
      const input = new StateReader(bytes);
      if (input.uint32() !== STATE_FORMAT) throw new Error('the saved state is of another format');
      const version = input.text(64 * 1024);
      if (version !== stateVersion) {
        throw new Error(
          `the saved state is of another model or settings (${version.split('|')[0]}, not ${modelVersion})`,
        );
      }
      const stream = newStream();
      stream.lastMs = input.float64();
      for (const adaptive of stream.adaptive) adaptive.restore(input);
      for (const regime of stream.regimes) {
        if (!regime || !model) continue;
        const readings = input.float64s(model.maxRegimeReadings);
        const pending = input.float64s(model.changeWindow);
        regime.restore(readings, Array.from(pending), input.float64());
      }
      input.end();
      streams.set(key, stream);
    },
  };
}

/** What the pipeline's handlers use: the detector over a reading schema's features, per equipment. */
export interface Score {
  /** In [0, 1]; 0.5 is the default flagging threshold. */
  score: number;
  isAnomaly: boolean;
  anomalousFeatures: string[];
  /** Relative deviation of each feature from its normal (0.23 = 23% over). */
  deviations: FeatureValues;
  /** One short sentence per anomalous feature. */
  reasons: string[];
  /** The detector is still learning this equipment. */
  warmingUp: boolean;
}

export interface Detector {
  readonly modelVersion: string;
  score(reading: Reading): Score;
  /** The per-equipment state, for persistence (see StreamDetector). */
  readonly streams: StreamDetector;
}

/**
 * The pipeline's detector: a reading schema's features (the lab's by default), per equipment, with an
 * optional trained model. The schema's absolute limits apply, overridden by `options.limits`.
 */
export function createDetector(
  model: DetectorModel | undefined,
  options: DetectorOptions = {},
  schema: ReadingSchema = LAB_SCHEMA,
): Detector {
  const schemaLimits = Object.fromEntries(
    schema.features.filter((f) => f.limits).map((f) => [f.name, f.limits as ValueLimits]),
  );
  const features = schema.featureNames;
  const detector = createStreamDetector({
    ...options,
    limits: { ...schemaLimits, ...options.limits },
    features,
    labels: schema.features.map((f) => f.label),
    units: schema.features.map((f) => f.unitSuffix),
    model,
  });
  const values = new Float64Array(features.length);
  return {
    modelVersion: detector.modelVersion,
    streams: detector,
    score(reading) {
      for (let f = 0; f < features.length; f++) values[f] = reading.values[features[f]];
      const result = detector.scoreValues(reading.equipmentId, reading.timestampMs, values);
      const deviations: FeatureValues = {};
      for (let f = 0; f < features.length; f++) deviations[features[f]] = result.deviations[f];
      return {
        score: result.score,
        isAnomaly: result.isAnomaly,
        anomalousFeatures: result.anomalous.map((f) => features[f]),
        deviations,
        reasons: result.reasons,
        warmingUp: result.warmingUp,
      };
    },
  };
}
