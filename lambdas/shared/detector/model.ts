import { z } from 'zod';

/**
 * The trained model artifact (`npm run train`, versioned JSON, bundled with the Lambda). It is
 * optional: the detector learns every feature's normal online without it. For the features it names,
 * it adds what training found and never adapts: the band that normal regime levels stay in (an
 * absolute limit), the noise of single readings, and the settings of the regime tracker.
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
