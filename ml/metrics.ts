/**
 * Detection quality, reading by reading. F1 is the SKAB leaderboard's: TP / (TP + (FP + FN) / 2).
 * FAR is the share of normal readings flagged, MAR the share of anomalous readings missed.
 */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface Quality {
  precision: number;
  recall: number;
  f1: number;
  /** False alarm rate, in %. */
  far: number;
  /** Missed alarm rate, in %. */
  mar: number;
  readings: number;
  anomalous: number;
}

export function emptyConfusion(): Confusion {
  return { tp: 0, fp: 0, fn: 0, tn: 0 };
}

export function count(confusion: Confusion, truth: boolean, predicted: boolean): void {
  if (truth && predicted) confusion.tp++;
  else if (predicted) confusion.fp++;
  else if (truth) confusion.fn++;
  else confusion.tn++;
}

export function quality({ tp, fp, fn, tn }: Confusion): Quality {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(tp, tp + (fp + fn) / 2),
    far: 100 * ratio(fp, fp + tn),
    mar: 100 * ratio(fn, fn + tp),
    readings: tp + fp + fn + tn,
    anomalous: tp + fn,
  };
}

export interface Delays {
  /** Anomaly episodes (a run of anomalous readings in one stream) in the data. */
  episodes: number;
  /** Episodes with no flag at all. */
  missed: number;
  /** Readings from an episode's first anomalous reading to its first flag, over detected episodes. */
  mean: number;
  median: number;
  max: number;
}

/** Detection delay per episode of one or more streams: `labels[i]` truth, `flags[i]` prediction. */
export function delays(streams: { labels: ArrayLike<number>; flags: ArrayLike<number> }[]): Delays {
  const found: number[] = [];
  let episodes = 0;
  let missed = 0;
  for (const { labels, flags } of streams) {
    let start = -1;
    let detected = false;
    const close = () => {
      if (start >= 0 && !detected) missed++;
      start = -1;
    };
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]) {
        if (start < 0) {
          start = i;
          detected = false;
          episodes++;
        }
        if (!detected && flags[i]) {
          detected = true;
          found.push(i - start);
        }
      } else close();
    }
    close();
  }
  found.sort((a, b) => a - b);
  return {
    episodes,
    missed,
    mean: found.length ? found.reduce((a, b) => a + b, 0) / found.length : 0,
    median: found.length ? found[Math.floor(found.length / 2)] : 0,
    max: found.length ? found[found.length - 1] : 0,
  };
}
