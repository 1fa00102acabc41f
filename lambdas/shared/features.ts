import { LAB_SCHEMA } from './reading-schema';

/** The lab schema's four sensor features, in the order every file and document of the lab uses. */
export const FEATURES = ['vibration_amplitude', 'vibration_frequency', 'temperature', 'humidity'] as const;

export type Feature = (typeof FEATURES)[number];

/** A reading's values, by feature name (the reading schema's features). */
export type FeatureValues = Record<string, number>;

/** The lab's short names for reasons and alert subjects ("temperature +23% over baseline"). */
export const FEATURE_LABELS: Record<string, string> = Object.fromEntries(
  LAB_SCHEMA.features.map((f) => [f.name, f.label]),
);

/**
 * An anomaly mask: bit i is set when features[i] is anomalous. Written with powers of two rather than
 * bit operators, which stop at 32 bits: a schema may have up to 50 features.
 */
export function featuresToMask(anomalous: readonly string[], features: readonly string[] = FEATURES): number {
  let mask = 0;
  for (const feature of anomalous) {
    const i = features.indexOf(feature);
    if (i >= 0) mask += 2 ** i;
  }
  return mask;
}

/**
 * Counts an anomalous reading against each feature it names, or against every feature when it names
 * none of them (the reading as a whole was flagged): the per-feature anomaly counts of the dashboard's
 * bins and of the per-minute windows.
 */
export function countAnomalousFeatures(
  counts: number[],
  named: readonly string[],
  features: readonly string[],
): void {
  let counted = false;
  for (let i = 0; i < features.length; i++) {
    if (named.includes(features[i])) {
      counts[i]++;
      counted = true;
    }
  }
  if (!counted) for (let i = 0; i < features.length; i++) counts[i]++;
}

export function maskToFeatures(mask: number, features: readonly string[] = FEATURES): string[] {
  return features.filter((_, i) => Math.floor(mask / 2 ** i) % 2 === 1);
}
