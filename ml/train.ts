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

/**
 * Noise is taken as bounded (uniform-like) when the differences of consecutive normal readings have
 * an excess kurtosis this low or lower: -0.6 for uniform noise (their differences are triangular), 0
 * for Gaussian noise, more for heavy tails. Differences are used because, unlike deviations from a
 * level, they are not blurred by the level moving.
 */
const BOUNDED_NOISE_KURTOSIS = -0.4;
/** Fewer differences than this do not show the noise's shape well enough to leave the mean. */
const MIN_SHAPE_SAMPLES = 1_000;

/**
 * The width of the noise's support when consecutive differences show it bounded; undefined
 * otherwise. For uniform noise of width w the differences have variance w^2 / 6.
 */
export function boundedNoiseWidth(differences: readonly number[]): number | undefined {
  const n = differences.length;
  if (n < MIN_SHAPE_SAMPLES) return undefined;
  let mean = 0;
  for (const d of differences) mean += d;
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  for (const d of differences) {
    const squared = (d - mean) ** 2;
    m2 += squared;
    m4 += squared * squared;
  }
  m2 /= n;
  m4 /= n;
  if (!(m2 > 0)) return undefined;
  const excessKurtosis = m4 / (m2 * m2) - 3;
  return excessKurtosis <= BOUNDED_NOISE_KURTOSIS ? Math.sqrt(6 * m2) : undefined;
}

/** How many regimes reached `settled` readings (the levels are in time order, per stream). */
function settledRegimes(levels: readonly { count: number }[], settled: number): number {
  let regimes = 0;
  let previous = 0;
  for (const { count } of levels) {
    if (count >= settled && previous < settled) regimes++;
    previous = count;
  }
  return regimes;
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
  /**
   * Whether feature f of reading i is normal (unlabelled readings are taken as normal). A missing value
   * (NaN: an optional feature the reading left out) is not: it is neither learnt nor scored.
   */
  const normal = (stream: Stream, i: number, f: number) =>
    (!stream.labels || (stream.labels[i] & (1 << f)) === 0) && !Number.isNaN(stream.values[i * width + f]);
  const parameters: FeatureParameters[] = [];
  let rows = 0;
  for (const stream of dataset.streams) rows += streamLength(stream);

  for (let f = 0; f < width; f++) {
    let sum = 0;
    let n = 0;
    const blockDifferences: number[] = [];
    const readingDifferences: number[] = [];
    const k = settings.changeWindow;
    for (const stream of dataset.streams) {
      let previousBlock: number | undefined;
      let previousValue: number | undefined;
      let block = 0;
      let inBlock = 0;
      for (let i = 0; i < streamLength(stream); i++) {
        if (!normal(stream, i, f)) {
          previousBlock = undefined;
          previousValue = undefined;
          block = 0;
          inBlock = 0;
          continue;
        }
        const value = stream.values[i * width + f];
        if (previousValue !== undefined) readingDifferences.push(value - previousValue);
        previousValue = value;
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
    const noiseWidth = boundedNoiseWidth(readingDifferences);
    const levels: { level: number; midrange: number; count: number }[] = [];
    for (const stream of dataset.streams) {
      const regime = new Regime(settings.maxRegimeReadings);
      let normalRun = 0;
      for (let i = 0; i < streamLength(stream); i++) {
        const value = stream.values[i * width + f];
        // The detector skips a missing value: so does its replay.
        if (Number.isNaN(value)) continue;
        regime.push(value, noiseStd, k, settings.changeZ);
        const { level, count } = regime;
        const midrange = noiseWidth === undefined ? level : (regime.boundedLevel(noiseStd) ?? level);
        normalRun = normal(stream, i, f) ? normalRun + 1 : 0;
        if (count >= 2 * k && count <= normalRun) levels.push({ level, midrange, count });
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
    const settledLevels = levels.filter((l) => l.count >= settled);
    let levelLow = Number.POSITIVE_INFINITY;
    let levelHigh = Number.NEGATIVE_INFINITY;
    for (const { level: mean, midrange } of settledLevels) {
      const level = noiseWidth === undefined ? mean : midrange;
      if (level < levelLow) levelLow = level;
      if (level > levelHigh) levelHigh = level;
    }
    let margin = settings.bandMargin * (levelHigh - levelLow);
    if (noiseWidth !== undefined) {
      // Midrange levels are precise, so the band is about as wide as the extremes of the regimes'
      // true levels, which fall short of the range normal levels can take: by (range) / (N + 1) on
      // each side on average, for N regimes of uniformly spread levels. Widen it by that much.
      margin += (levelHigh - levelLow) / Math.max(1, settledRegimes(levels, settled) - 1);
    }
    parameters.push({
      mean,
      noiseStd,
      levelLow: levelLow - margin,
      levelHigh: levelHigh + margin,
      ...(noiseWidth === undefined ? {} : { noiseWidth }),
    });
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
