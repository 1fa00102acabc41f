import { z } from 'zod';
import { FEATURE_LABELS, FEATURES, type Feature, type FeatureValues } from './features';
import type { Reading } from './reading';

/**
 * The anomaly detector. This first version is a per-feature z-score against a fixed baseline: honest
 * and explainable, but blind to context (a per-burst offset shifts normal readings as far as some
 * anomalies). Its quality is measured, and improved, by `npm run evaluate`.
 */

const featureBaseline = z.object({ mean: z.number(), std: z.number().positive() });

export const detectorModelSchema = z.object({
  formatVersion: z.literal(1),
  modelVersion: z.string().min(1),
  kind: z.literal('zscore'),
  features: z.tuple([
    z.literal(FEATURES[0]),
    z.literal(FEATURES[1]),
    z.literal(FEATURES[2]),
    z.literal(FEATURES[3]),
  ]),
  baseline: z.object({
    vibration_amplitude: featureBaseline,
    vibration_frequency: featureBaseline,
    temperature: featureBaseline,
    humidity: featureBaseline,
  }),
  /** A feature is anomalous when its |z| reaches this value (its feature score is then 0.5). */
  zThreshold: z.number().positive(),
  training: z.object({
    source: z.string(),
    rows: z.number().int().nonnegative(),
    createdAt: z.string(),
    notes: z.string().optional(),
  }),
});

export type DetectorModel = z.infer<typeof detectorModelSchema>;

/** Parses a model artifact, with a message that names the first problem. */
export function parseDetectorModel(json: unknown): DetectorModel {
  const parsed = detectorModelSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid detector model: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export interface Score {
  /** In [0, 1]; 0.5 is the default flagging threshold. */
  score: number;
  isAnomaly: boolean;
  anomalousFeatures: Feature[];
  /** Relative deviation of each feature from its baseline mean (0.23 = 23% over). */
  deviations: FeatureValues;
  /** One short sentence per anomalous feature. */
  reasons: string[];
}

export interface Detector {
  readonly modelVersion: string;
  score(reading: Reading): Score;
}

export interface DetectorOptions {
  /** Readings whose score reaches this are flagged; higher is less sensitive. Default 0.5. */
  scoreThreshold?: number;
}

/** Steepness of the z-to-score curve: a z of twice the threshold scores 0.94. */
const HILL_EXPONENT = 4;

export function createDetector(model: DetectorModel, options: DetectorOptions = {}): Detector {
  const scoreThreshold = options.scoreThreshold ?? 0.5;
  if (!(scoreThreshold > 0 && scoreThreshold < 1)) {
    throw new Error(`scoreThreshold must be between 0 and 1 (exclusive), got ${scoreThreshold}`);
  }
  const thresholdPower = model.zThreshold ** HILL_EXPONENT;
  return {
    modelVersion: model.modelVersion,
    score(reading: Reading): Score {
      let score = 0;
      const anomalousFeatures: Feature[] = [];
      const reasons: string[] = [];
      const deviations = {} as FeatureValues;
      for (const feature of FEATURES) {
        const { mean, std } = model.baseline[feature];
        const value = reading.values[feature];
        const zPower = (Math.abs(value - mean) / std) ** HILL_EXPONENT;
        const featureScore = zPower / (zPower + thresholdPower);
        deviations[feature] = mean === 0 ? 0 : (value - mean) / Math.abs(mean);
        if (featureScore > score) score = featureScore;
        if (featureScore >= scoreThreshold) {
          anomalousFeatures.push(feature);
          reasons.push(describeDeviation(feature, deviations[feature]));
        }
      }
      return { score, isAnomaly: anomalousFeatures.length > 0, anomalousFeatures, deviations, reasons };
    },
  };
}

/** "temperature +23% over baseline" */
export function describeDeviation(feature: Feature, deviation: number): string {
  const percent = Math.abs(deviation) * 100;
  const shown = percent >= 10 ? percent.toFixed(0) : percent.toFixed(1);
  return `${FEATURE_LABELS[feature]} ${deviation >= 0 ? '+' : '-'}${shown}% ${deviation >= 0 ? 'over' : 'under'} baseline`;
}
