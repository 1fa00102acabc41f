/** The four sensor features of a reading, in the order every file and document uses. */
export const FEATURES = ['vibration_amplitude', 'vibration_frequency', 'temperature', 'humidity'] as const;

export type Feature = (typeof FEATURES)[number];

export type FeatureValues = Record<Feature, number>;

/** Short names for reasons and alert subjects ("temperature +23% over baseline"). */
export const FEATURE_LABELS: Record<Feature, string> = {
  vibration_amplitude: 'vibration amplitude',
  vibration_frequency: 'vibration frequency',
  temperature: 'temperature',
  humidity: 'humidity',
};

/** Bit i of an anomaly mask is set when FEATURES[i] is anomalous. */
export function featuresToMask(features: readonly Feature[]): number {
  let mask = 0;
  for (const feature of features) mask |= 1 << FEATURES.indexOf(feature);
  return mask;
}

export function maskToFeatures(mask: number): Feature[] {
  return FEATURES.filter((_, i) => (mask & (1 << i)) !== 0);
}
