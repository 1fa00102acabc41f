/**
 * NAB v1.1 scoring (the Numenta Anomaly Benchmark's sweeper), with no I/O: a detector's scores for
 * the rows of each file, the file's labelled anomaly windows, and a cost profile in; raw and
 * normalised scores out, at a fixed threshold or at the threshold NAB's optimiser would pick.
 *
 * Per file: the first min(floor(0.15 n), 750) rows are a probation and are not scored. A row is a
 * detection when its score is at or above the threshold. Only the earliest detection in a window counts,
 * weighted by how early it is; a window with none costs A_FN; every detection outside the windows costs
 * A_FP, less just after a window. See ../shared/datasets/nab-dev/README.md.
 */

export interface NabProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const NAB_PROFILES = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
} as const satisfies Record<string, NabProfile>;

export type NabProfileName = keyof typeof NAB_PROFILES;
export const NAB_PROFILE_NAMES = Object.keys(NAB_PROFILES) as NabProfileName[];

/** One file to score: its rows' timestamps (epoch ms) and scores, and its anomaly windows. */
export interface NabScoredFile {
  name: string;
  timestamps: ArrayLike<number>;
  scores: ArrayLike<number>;
  /** [start, end] timestamps of each window; both are timestamps of rows of the file. */
  windows: readonly (readonly [number, number])[];
}

/** NAB's sigmoid, scaled to (-1, 1): 1 far before a window's right edge, -1 from three widths after it. */
export function scaledSigmoid(position: number): number {
  if (position > 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

/** Rows of a file not scored: the detector's probation. */
export function probationRows(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 750);
}

/** Outside every window (a detection there is a false positive). */
const OUTSIDE = -1;
/** In the probation (never scored). */
const PROBATION = -2;

/**
 * Where each row of a file lies (in probation, outside every window, or in window w) and the
 * profile-free weight a detection there would earn: NAB's `unweightedScore`.
 */
interface RowLayout {
  window: Int32Array;
  weight: Float64Array;
  /** Windows with at least one row after the probation: the ones that count. */
  windows: number;
}

function layout(file: NabScoredFile): RowLayout {
  const n = file.timestamps.length;
  if (file.scores.length !== n) {
    throw new Error(`${file.name}: ${file.scores.length} scores for ${n} rows`);
  }
  const indexOf = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!indexOf.has(file.timestamps[i])) indexOf.set(file.timestamps[i], i);
  const bounds = file.windows.map(([start, end], w) => {
    const left = indexOf.get(start);
    const right = indexOf.get(end);
    if (left === undefined || right === undefined || right < left) {
      throw new Error(`${file.name}: window ${w + 1} does not start and end on rows of the file`);
    }
    return { left, right };
  });
  const window = new Int32Array(n).fill(OUTSIDE);
  const weight = new Float64Array(n);
  const probation = probationRows(n);
  const maxTp = scaledSigmoid(-1);
  const counted = new Set<number>();
  let next = 0;
  let current: { left: number; right: number; w: number } | undefined;
  let previous: { right: number; width: number } | undefined;
  for (let i = 0; i < n; i++) {
    if (!current && next < bounds.length && i === bounds[next].left) {
      current = { ...bounds[next], w: next };
      next++;
    }
    if (current) {
      const width = current.right - current.left + 1;
      weight[i] = scaledSigmoid(-(current.right - i + 1) / width) / maxTp;
    } else if (previous) {
      weight[i] = scaledSigmoid(Math.abs(previous.right - i) / (previous.width - 1));
    } else {
      weight[i] = -1;
    }
    if (i < probation) window[i] = PROBATION;
    else if (current) {
      window[i] = current.w;
      counted.add(current.w);
    }
    if (current && i === current.right) {
      previous = { right: current.right, width: current.right - current.left + 1 };
      current = undefined;
    }
  }
  return { window, weight, windows: counted.size };
}

export interface NabFileResult {
  name: string;
  raw: number;
  /** Windows with a detection, windows without, detections outside every window. */
  detected: number;
  missed: number;
  falsePositives: number;
}

export interface NabResult {
  threshold: number;
  raw: number;
  /** 100 (raw - null) / (perfect - null): 0 never firing, 100 perfect. */
  normalised: number;
  detected: number;
  missed: number;
  falsePositives: number;
  files: NabFileResult[];
}

/** Scores every file with one threshold: a row is a detection when its score is >= threshold. */
export function scoreAtThreshold(
  files: readonly NabScoredFile[],
  profile: NabProfile,
  threshold: number,
): NabResult {
  const results = files.map((file) => scoreFile(file, layout(file), profile, threshold));
  return total(threshold, results, profile, windowCount(files));
}

function scoreFile(
  file: NabScoredFile,
  rows: RowLayout,
  profile: NabProfile,
  threshold: number,
): NabFileResult {
  const best = new Float64Array(rows.windows > 0 ? Math.max(...rows.window) + 1 : 0).fill(Number.NaN);
  let fp = 0;
  let falsePositives = 0;
  for (let i = 0; i < rows.window.length; i++) {
    if (!(file.scores[i] >= threshold)) continue;
    const w = rows.window[i];
    if (w === OUTSIDE) {
      fp += rows.weight[i] * profile.fpWeight;
      falsePositives++;
    } else if (w >= 0 && Number.isNaN(best[w])) best[w] = rows.weight[i] * profile.tpWeight;
  }
  let raw = fp;
  let detected = 0;
  const windows = new Set<number>();
  for (const w of rows.window) if (w >= 0) windows.add(w);
  for (const w of windows) {
    if (Number.isNaN(best[w])) raw -= profile.fnWeight;
    else {
      raw += best[w];
      detected++;
    }
  }
  return { name: file.name, raw, detected, missed: windows.size - detected, falsePositives };
}

function windowCount(files: readonly NabScoredFile[]): number {
  return files.reduce((sum, file) => sum + layout(file).windows, 0);
}

function total(threshold: number, files: NabFileResult[], profile: NabProfile, windows: number): NabResult {
  const raw = files.reduce((sum, f) => sum + f.raw, 0);
  const nullScore = -profile.fnWeight * windows;
  const perfect = profile.tpWeight * windows;
  return {
    threshold,
    raw,
    normalised: windows === 0 ? 0 : (100 * (raw - nullScore)) / (perfect - nullScore),
    detected: files.reduce((sum, f) => sum + f.detected, 0),
    missed: files.reduce((sum, f) => sum + f.missed, 0),
    falsePositives: files.reduce((sum, f) => sum + f.falsePositives, 0),
    files,
  };
}

/** The threshold that never fires: NAB's sweep starts there. */
export const NEVER_FIRING = 1.1;

/**
 * The threshold NAB's optimiser picks: every distinct score (and 1.1, never firing) is tried on all
 * files together, and the best total raw score wins; ties go to the higher threshold.
 */
export function optimiseThreshold(files: readonly NabScoredFile[], profile: NabProfile): NabResult {
  const layouts = files.map(layout);
  // Every scored row, with what it adds when it becomes a detection.
  const points: { score: number; file: number; row: number }[] = [];
  layouts.forEach((rows, file) => {
    for (let row = 0; row < rows.window.length; row++) {
      if (rows.window[row] !== PROBATION) points.push({ score: files[file].scores[row], file, row });
    }
  });
  points.sort((a, b) => b.score - a.score);
  const windows = layouts.reduce((sum, rows) => sum + rows.windows, 0);
  // Per file and window: the best (earliest) detection so far; the sum of all parts is the raw score.
  const bestInWindow = layouts.map((rows) =>
    new Float64Array(rows.windows > 0 ? Math.max(...rows.window) + 1 : 0).fill(-profile.fnWeight),
  );
  let raw = -profile.fnWeight * windows;
  let bestRaw = raw;
  let bestThreshold = NEVER_FIRING;
  let threshold = NEVER_FIRING;
  for (const point of points) {
    if (point.score !== threshold) {
      if (raw > bestRaw) {
        bestRaw = raw;
        bestThreshold = threshold;
      }
      threshold = point.score;
    }
    const rows = layouts[point.file];
    const w = rows.window[point.row];
    if (w === OUTSIDE) raw += rows.weight[point.row] * profile.fpWeight;
    else {
      const gain = rows.weight[point.row] * profile.tpWeight;
      const best = bestInWindow[point.file];
      if (gain > best[w]) {
        raw += gain - best[w];
        best[w] = gain;
      }
    }
  }
  if (raw > bestRaw) bestThreshold = threshold;
  return scoreAtThreshold(files, profile, bestThreshold);
}
