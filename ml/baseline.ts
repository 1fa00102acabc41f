import type { Dataset } from './dataset';
import { streamLength } from './dataset';

/**
 * The lab's approach, as the comparison: a per-reading model on the normalised features. Each feature
 * is standardised with the training data's mean and deviation, a reading's score is its largest
 * absolute z, and the threshold is the one that gives the best F1 on the (labelled) training data.
 */
export interface PerReadingModel {
  means: number[];
  stds: number[];
  threshold: number;
}

export function trainPerReadingModel(dataset: Dataset): PerReadingModel {
  const width = dataset.features.length;
  const means = new Array<number>(width).fill(0);
  const stds = new Array<number>(width).fill(0);
  let n = 0;
  for (const stream of dataset.streams) {
    for (let i = 0; i < streamLength(stream); i++) {
      n++;
      for (let f = 0; f < width; f++) means[f] += stream.values[i * width + f];
    }
  }
  for (let f = 0; f < width; f++) means[f] /= n;
  for (const stream of dataset.streams) {
    for (let i = 0; i < streamLength(stream); i++) {
      for (let f = 0; f < width; f++) stds[f] += (stream.values[i * width + f] - means[f]) ** 2;
    }
  }
  for (let f = 0; f < width; f++) stds[f] = Math.sqrt(stds[f] / (n - 1)) || 1;

  // Scores of the training readings, sorted, against their labels: the best cut maximises F1.
  const scored: { score: number; anomalous: boolean }[] = [];
  for (const stream of dataset.streams) {
    for (let i = 0; i < streamLength(stream); i++) {
      scored.push({
        score: maxAbsZ(stream.values.subarray(i * width, (i + 1) * width), means, stds),
        anomalous: (stream.labels?.[i] ?? 0) !== 0,
      });
    }
  }
  scored.sort((a, b) => b.score - a.score);
  const positives = scored.filter((s) => s.anomalous).length;
  let tp = 0;
  let best = { f1: -1, threshold: Number.POSITIVE_INFINITY };
  scored.forEach((s, i) => {
    if (s.anomalous) tp++;
    const fp = i + 1 - tp;
    const f1 = tp / (tp + (fp + (positives - tp)) / 2);
    if (f1 > best.f1 && (i + 1 === scored.length || scored[i + 1].score < s.score))
      best = { f1, threshold: s.score };
  });
  return { means, stds, threshold: best.threshold };
}

export function perReadingAnomaly(model: PerReadingModel, values: ArrayLike<number>): boolean {
  return maxAbsZ(values, model.means, model.stds) >= model.threshold;
}

function maxAbsZ(values: ArrayLike<number>, means: number[], stds: number[]): number {
  let most = 0;
  for (let f = 0; f < means.length; f++) most = Math.max(most, Math.abs(values[f] - means[f]) / stds[f]);
  return most;
}
