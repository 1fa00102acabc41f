import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NAB_DIR, readNabCorpus, readTimeSeries } from '../../ml/nab-corpus';
import {
  NAB_PROFILES,
  type NabScoredFile,
  NEVER_FIRING,
  optimiseThreshold,
  probationRows,
  scoreAtThreshold,
} from '../../ml/nab-scoring';

const { standard } = NAB_PROFILES;
/** NAB's scaled sigmoid, written out again: 2 / (1 + e^(5y)) - 1. */
const sigma = (y: number) => 2 / (1 + Math.exp(5 * y)) - 1;

/** 100 rows a minute apart (probation: the first 15), one window over rows 40 to 49. */
function file(detections: number[], score = 1): NabScoredFile {
  const timestamps = Array.from({ length: 100 }, (_, i) => i * 60_000);
  const scores = timestamps.map((_, i) => (detections.includes(i) ? score : 0));
  return { name: 'hand-made.csv', timestamps, scores, windows: [[40 * 60_000, 49 * 60_000]] };
}

describe('NAB v1.1 scoring', () => {
  test('the probation is 15% of the rows, at most 750', () => {
    expect(probationRows(100)).toBe(15);
    expect(probationRows(4032)).toBe(604);
    expect(probationRows(15_902)).toBe(750);
  });

  test('a detection at the left edge of a window earns A_TP; at the right edge, sigma(-1/W)/sigma(-1)', () => {
    expect(scoreAtThreshold([file([40])], standard, 0.5)).toMatchObject({
      raw: 1,
      normalised: 100,
      detected: 1,
      missed: 0,
    });
    expect(scoreAtThreshold([file([49])], standard, 0.5).raw).toBeCloseTo(sigma(-0.1) / sigma(-1), 12);
  });

  test('only the earliest detection in a window counts', () => {
    expect(scoreAtThreshold([file([45, 41, 48])], standard, 0.5).raw).toBeCloseTo(
      sigma(-0.9) / sigma(-1),
      12,
    );
  });

  test('a missed window costs A_FN: never firing normalises to 0', () => {
    const result = scoreAtThreshold([file([])], standard, 0.5);
    expect(result).toMatchObject({ raw: -1, normalised: 0, detected: 0, missed: 1, falsePositives: 0 });
    expect(scoreAtThreshold([file([])], NAB_PROFILES.reward_low_FN_rate, 0.5).raw).toBe(-2);
  });

  test('a detection in probation is not scored; one before any window costs A_FP', () => {
    expect(scoreAtThreshold([file([10, 40])], standard, 0.5)).toMatchObject({ raw: 1, falsePositives: 0 });
    const early = scoreAtThreshold([file([20, 40])], standard, 0.5);
    expect(early.raw).toBeCloseTo(1 - 0.11, 12);
    expect(early.falsePositives).toBe(1);
    expect(scoreAtThreshold([file([20, 40])], NAB_PROFILES.reward_low_FP_rate, 0.5).raw).toBeCloseTo(
      1 - 0.22,
      12,
    );
  });

  test('a detection just after a window costs little, one three widths on the full A_FP', () => {
    const justAfter = scoreAtThreshold([file([40, 50])], standard, 0.5).raw;
    expect(justAfter).toBeCloseTo(1 + 0.11 * sigma(1 / 9), 12);
    expect(justAfter).toBeGreaterThan(1 - 0.11);
    expect(scoreAtThreshold([file([40, 90])], standard, 0.5).raw).toBeCloseTo(1 - 0.11, 12);
    // Every detection outside the windows pays, one per row.
    expect(scoreAtThreshold([file([40, 90, 91, 92])], standard, 0.5).falsePositives).toBe(3);
  });

  test('the optimiser keeps the best threshold, the higher one on a tie, and 1.1 when firing never pays', () => {
    const scores = file([]);
    const graded: NabScoredFile = {
      ...scores,
      scores: Array.from(scores.scores, (_, i) => (i === 40 ? 0.8 : i === 60 ? 0.9 : i === 70 ? 0.3 : 0)),
    };
    // 0.9 flags row 60 (a false positive), 0.8 adds the window, 0.3 adds a second false positive.
    const best = optimiseThreshold([graded], standard);
    expect(best.threshold).toBe(0.8);
    expect(best.detected).toBe(1);
    // Row 45 (0.7) adds nothing to the window row 40 (0.8) found: a tie, which goes to the higher threshold.
    const tie: NabScoredFile = {
      ...scores,
      scores: Array.from(scores.scores, (_, i) => (i === 40 ? 0.8 : i === 45 ? 0.7 : 0)),
    };
    expect(optimiseThreshold([tie], standard).threshold).toBe(0.8);
    const onlyFalse: NabScoredFile = {
      ...scores,
      scores: Array.from(scores.scores, (_, i) => (i === 20 ? 0.9 : 0)),
    };
    expect(optimiseThreshold([onlyFalse], standard).threshold).toBe(NEVER_FIRING);
  });

  test('a window that is not on the rows of the file is an error that names the file', () => {
    const bad: NabScoredFile = { ...file([]), windows: [[40 * 60_000 + 1, 49 * 60_000]] };
    expect(() => scoreAtThreshold([bad], standard, 0.5)).toThrow('hand-made.csv: window 1');
  });

  const referenceDir = join(DEFAULT_NAB_DIR, 'reference', 'windowedGaussian');
  const withCorpus = existsSync(referenceDir) ? describe : describe.skip;
  withCorpus("NAB's published windowed-Gaussian outputs on the development subset (../shared)", () => {
    let scored: NabScoredFile[];
    beforeAll(() => {
      scored = readNabCorpus(DEFAULT_NAB_DIR).map((nab) => {
        const [category, name] = nab.name.split('/');
        const reference = readTimeSeries(
          join(referenceDir, category, `windowedGaussian_${name}`),
          'anomaly_score',
        );
        return { name: nab.name, timestamps: nab.timestamps, scores: reference.values, windows: nab.windows };
      });
    });

    test('thresholds optimised: the figures of the dataset README, to the digits it gives', () => {
      const best = optimiseThreshold(scored, standard);
      expect(best.threshold).toBe(1);
      expect(best.raw).toBeCloseTo(1.1681, 4);
      expect(best.normalised).toBeCloseTo(50.87, 2);
      expect(best).toMatchObject({ detected: 50, missed: 17, falsePositives: 249 });
      expect(optimiseThreshold(scored, NAB_PROFILES.reward_low_FP_rate).raw).toBeCloseTo(-25.2853, 4);
      expect(optimiseThreshold(scored, NAB_PROFILES.reward_low_FN_rate).raw).toBeCloseTo(-15.3756, 4);
    });

    test('at a fixed threshold of 0.9', () => {
      const fixed = scoreAtThreshold(scored, standard, 0.9);
      expect(fixed.raw).toBeCloseTo(-1611.223, 3);
      expect(fixed.normalised).toBeCloseTo(-1152.41, 2);
      expect(fixed).toMatchObject({ detected: 66, missed: 1, falsePositives: 15_599 });
    });
  });
});
