import { type AdaptiveSettings, DEFAULT_ADAPTIVE_SETTINGS } from '../lambdas/shared/detector';
import { nabDataset } from './evaluate-nab';
import { type NabFile, readNabCorpus } from './nab-corpus';
import { NAB_PROFILES, type NabScoredFile, probationRows, scoreAtThreshold } from './nab-scoring';
import { scoreStreams } from './score-streams';

/**
 * How the adaptive detector's defaults were chosen: leave-one-category-out cross-validation on the NAB
 * development subset, at the shipped threshold (0.5), standard profile. For each category, the grid's
 * best settings on the other categories score the held-out one; the sum over categories is an honest
 * estimate of the score on unseen data, and the settings most folds chose are the defaults. The
 * averaging window (10 readings) is Numenta's published choice and is not tuned.
 */

/** The settings tried. */
export function crossValidationGrid(): AdaptiveSettings[] {
  const grid: AdaptiveSettings[] = [];
  for (const levelReadings of [10, 20])
    for (const horizonHours of [1, 3, 12])
      for (const surpriseFrom of [2, 3, 4])
        for (const surpriseSpan of [3, 6])
          for (const historyReadings of [1_000, 2_000, 4_000])
            for (const rangeTolerance of [0.02, 0.05])
              grid.push({
                ...DEFAULT_ADAPTIVE_SETTINGS,
                levelReadings,
                horizonMs: horizonHours * 3_600_000,
                surpriseFrom,
                surpriseSpan,
                historyReadings,
                rangeTolerance,
              });
  return grid;
}

export interface CrossValidation {
  configurations: number;
  /** Normalised standard score of the held-out categories, each scored with the settings chosen without it. */
  heldOut: number;
  /** The same settings scored on every category (in-sample). */
  folds: {
    heldOut: string;
    chosen: Partial<AdaptiveSettings>;
    heldOutRaw: number;
    bestPossibleRaw: number;
  }[];
  /** Settings chosen by the most folds (ties: the best on all categories). */
  chosen: Partial<AdaptiveSettings>;
  /** Range of the in-sample score over the whole grid: how much the settings matter at all. */
  gridMin: number;
  gridMedian: number;
  gridMax: number;
}

const TUNED = [
  'levelReadings',
  'horizonMs',
  'surpriseFrom',
  'surpriseSpan',
  'historyReadings',
  'rangeTolerance',
] as const;

export function crossValidateNab(
  root: string,
  onProgress: (done: number, total: number) => void = () => {},
): CrossValidation {
  const corpus = readNabCorpus(root);
  const categories = [...new Set(corpus.map((f) => f.category))];
  const windows = corpus.reduce((n, f) => n + f.windows.length, 0);
  const normalise = (raw: number) => (100 * (raw + windows)) / (2 * windows);
  const grid = crossValidationGrid();
  // Raw standard score at 0.5 per setting and category.
  const raw = grid.map((settings, g) => {
    const byCategory = new Map<string, number>();
    const scored = corpus.map((file) => scoreFile(file, settings));
    const result = scoreAtThreshold(scored, NAB_PROFILES.standard, 0.5);
    result.files.forEach((f, i) => {
      byCategory.set(corpus[i].category, (byCategory.get(corpus[i].category) ?? 0) + f.raw);
    });
    onProgress(g + 1, grid.length);
    return byCategory;
  });
  const total = (g: number, except?: string) =>
    categories.reduce((sum, c) => sum + (c === except ? 0 : (raw[g].get(c) ?? 0)), 0);
  const argmax = (score: (g: number) => number) =>
    grid.reduce((best, _, g) => (score(g) > score(best) ? g : best), 0);

  const folds = categories.map((category) => {
    const g = argmax((i) => total(i, category));
    return {
      heldOut: category,
      g,
      chosen: pick(grid[g]),
      heldOutRaw: raw[g].get(category) ?? 0,
      bestPossibleRaw: Math.max(...raw.map((r) => r.get(category) ?? 0)),
    };
  });
  const votes = new Map<number, number>();
  for (const fold of folds) votes.set(fold.g, (votes.get(fold.g) ?? 0) + 1);
  const chosen = [...votes.entries()].sort((a, b) => b[1] - a[1] || total(b[0]) - total(a[0]))[0][0];
  const inSample = grid.map((_, g) => normalise(total(g))).sort((a, b) => a - b);
  return {
    configurations: grid.length,
    heldOut: normalise(folds.reduce((sum, f) => sum + f.heldOutRaw, 0)),
    folds: folds.map(({ g: _g, ...fold }) => fold),
    chosen: pick(grid[chosen]),
    gridMin: inSample[0],
    gridMedian: inSample[Math.floor(inSample.length / 2)],
    gridMax: inSample[inSample.length - 1],
  };
}

function scoreFile(file: NabFile, settings: AdaptiveSettings): NabScoredFile {
  const scores = new Float64Array(file.values.length);
  scoreStreams(
    nabDataset(file),
    { adaptive: { ...settings, warmupReadings: probationRows(file.values.length) } },
    (_, i, r) => {
      scores[i] = r.score;
    },
  );
  return { name: file.name, timestamps: file.timestamps, scores, windows: file.windows };
}

function pick(settings: AdaptiveSettings): Partial<AdaptiveSettings> {
  return Object.fromEntries(TUNED.map((k) => [k, settings[k]]));
}
