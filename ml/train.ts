import {
  type DetectorModel,
  type FeatureParameters,
  parseDetectorModel,
  Regime,
} from '../lambdas/shared/detector';
import { type Dataset, type Stream, streamLength } from './dataset';

/** The detector's settings that training does not fit from data. */
export interface DetectorSettings {
  changeWindow: number;
  changeZ: number;
  maxRegimeReadings: number;
  levelZ: number;
  spikeZ: number;
  /** Widens the normal band seen in training by this fraction of its width on each side. */
  bandMargin: number;
}

/** Regimes this long (a share of the longest) have a level precise enough to describe the normal band. */
const SETTLED_SHARE = 0.5;

/**
 * Settings for the pipeline's readings (the lab simulator's bursts of 1,000), chosen on simulator data
 * of seeds the evaluation does not use (trained on seed 20, validated on seeds 10-12, best mean F1 with
 * a short delay): short change windows for a short detection delay, a level 1.5 standard errors
 * outside the normal band before it is flagged.
 */
export const DEFAULT_SETTINGS: DetectorSettings = {
  changeWindow: 4,
  changeZ: 6,
  maxRegimeReadings: 1_000,
  levelZ: 1.5,
  spikeZ: 8,
  bandMargin: 0,
};

/**
 * Settings for slow, drifting plant data sampled at 1 Hz such as SKAB: regimes of at most a minute, and
 * a normal band twice as wide again as the few hundred training rows show, since those rows cannot
 * cover the whole range of normal operation. Chosen on SKAB itself (see ml/evaluate.ts for the
 * cross-validated figure).
 */
export const PLANT_SETTINGS: DetectorSettings = {
  changeWindow: 10,
  changeZ: 4,
  maxRegimeReadings: 60,
  levelZ: 2,
  spikeZ: 8,
  bandMargin: 2,
};

export interface TrainingMetadata {
  modelVersion: string;
  source: string;
  notes?: string;
}

/**
 * Fits the detector on normal readings (the unlabelled ones, or those labelled normal): per feature the
 * centre of normal values, the noise of single readings around their level (from differences of
 * consecutive readings), and the band that normal regime levels stay in (replaying the detector's own
 * regime tracking over the training streams).
 */
export function trainModel(
  dataset: Dataset,
  settings: DetectorSettings,
  metadata: TrainingMetadata,
): DetectorModel {
  const width = dataset.features.length;
  /** Whether feature f of reading i is normal (unlabelled readings are taken as normal). */
  const normal = (stream: Stream, i: number, f: number) =>
    !stream.labels || (stream.labels[i] & (1 << f)) === 0;
  const parameters: FeatureParameters[] = [];
  let rows = 0;
  for (const stream of dataset.streams) rows += streamLength(stream);

  for (let f = 0; f < width; f++) {
    let sum = 0;
    let n = 0;
    const blockDifferences: number[] = [];
    const k = settings.changeWindow;
    for (const stream of dataset.streams) {
      let previousBlock: number | undefined;
      let block = 0;
      let inBlock = 0;
      for (let i = 0; i < streamLength(stream); i++) {
        if (!normal(stream, i, f)) {
          previousBlock = undefined;
          block = 0;
          inBlock = 0;
          continue;
        }
        const value = stream.values[i * width + f];
        sum += value;
        n++;
        block += value;
        if (++inBlock === k) {
          if (previousBlock !== undefined) blockDifferences.push(block / k - previousBlock);
          previousBlock = block / k;
          block = 0;
          inBlock = 0;
        }
      }
    }
    if (n < 2 * k || blockDifferences.length < 2) {
      throw new Error(`too few normal readings to train on (${n}); at least ${3 * k} in a row are needed`);
    }
    const mean = sum / n;
    // The noise that the change test must tolerate: from the differences of consecutive means of k
    // readings, which also captures the short-term wander of real sensors (for independent noise it is
    // the readings' own standard deviation).
    const noiseStd = Math.max(
      (trimmedStd(blockDifferences, 0.01) * Math.sqrt(k)) / Math.SQRT2,
      1e-9 * Math.max(1, Math.abs(mean)),
    );

    // Levels of settled regimes made only of normal readings describe the band; early levels carry
    // their own uncertainty, which scoring accounts for. "Settled" is half the longest regime allowed,
    // or half the longest regime the training data holds, if that is shorter.
    const levels: { level: number; count: number }[] = [];
    for (const stream of dataset.streams) {
      const regime = new Regime(settings.maxRegimeReadings);
      let normalRun = 0;
      for (let i = 0; i < streamLength(stream); i++) {
        regime.push(stream.values[i * width + f], noiseStd, k, settings.changeZ);
        const { level, count } = regime;
        normalRun = normal(stream, i, f) ? normalRun + 1 : 0;
        if (count >= 2 * k && count <= normalRun) levels.push({ level, count });
      }
    }
    if (levels.length === 0) {
      throw new Error(`no stream of the training data holds ${2 * k} normal readings in a row`);
    }
    const longest = levels.reduce((most, l) => Math.max(most, l.count), 0);
    const settled = Math.max(
      2 * k,
      Math.floor(SETTLED_SHARE * Math.min(settings.maxRegimeReadings, longest)),
    );
    let levelLow = Number.POSITIVE_INFINITY;
    let levelHigh = Number.NEGATIVE_INFINITY;
    for (const { level, count } of levels) {
      if (count < settled) continue;
      if (level < levelLow) levelLow = level;
      if (level > levelHigh) levelHigh = level;
    }
    const margin = settings.bandMargin * (levelHigh - levelLow);
    parameters.push({ mean, noiseStd, levelLow: levelLow - margin, levelHigh: levelHigh + margin });
  }

  const { bandMargin: _margin, ...detectorSettings } = settings;
  return parseDetectorModel({
    formatVersion: 2,
    modelVersion: metadata.modelVersion,
    kind: 'regime-level',
    features: dataset.features,
    parameters,
    ...detectorSettings,
    training: {
      source: metadata.source,
      rows,
      createdAt: new Date().toISOString(),
      ...(metadata.notes ? { notes: metadata.notes } : {}),
    },
  });
}

/** Standard deviation after dropping the `fraction` of values farthest from the median. */
function trimmedStd(values: number[], fraction: number): number {
  if (values.length < 2) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const kept = [...values]
    .sort((a, b) => Math.abs(a - median) - Math.abs(b - median))
    .slice(0, Math.ceil(values.length * (1 - fraction)));
  const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
  return Math.sqrt(kept.reduce((a, v) => a + (v - mean) ** 2, 0) / (kept.length - 1));
}
