import { createDetector, describeDeviation, parseDetectorModel } from '../../lambdas/shared/detector';
import { FEATURES, type FeatureValues } from '../../lambdas/shared/features';
import type { Reading } from '../../lambdas/shared/reading';
import defaultModelJson from '../../model/default-model.json';
import { defaultModel, detector } from './fixtures';

const BASELINE: FeatureValues = {
  vibration_amplitude: 250,
  vibration_frequency: 1000,
  temperature: 60,
  humidity: 30,
};

function reading(values: Partial<FeatureValues> = {}): Reading {
  return {
    equipmentId: 101,
    timestampMs: Date.UTC(2026, 10, 23, 19, 47, 9),
    values: { ...BASELINE, ...values },
  };
}

describe('detector score', () => {
  const factors = [0, 0.01, 0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2, 1.4, 2, 10, 100];
  const grid = FEATURES.flatMap((feature) => factors.map((factor) => ({ feature, factor })));

  it.each(grid)('is in [0, 1] for $feature at $factor x baseline', ({ feature, factor }) => {
    const { score } = detector.score(reading({ [feature]: BASELINE[feature] * factor }));
    expect(Number.isFinite(score)).toBe(true);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
  });

  it('grows with the distance from the baseline', () => {
    const scores = [60, 63, 66, 72, 84, 120].map(
      (temperature) => detector.score(reading({ temperature })).score,
    );
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThan(scores[i - 1]);
  });

  it('scores a reading at the baseline means near 0 and does not flag it', () => {
    const result = detector.score(reading());
    expect(result.score).toBeLessThan(0.001);
    expect(result.isAnomaly).toBe(false);
    expect(result.anomalousFeatures).toEqual([]);
    expect(result.reasons).toEqual([]);
    expect(result.deviations).toEqual({
      vibration_amplitude: 0,
      vibration_frequency: 0,
      temperature: 0,
      humidity: 0,
    });
  });

  it('flags temperature +40% as a temperature anomaly only, with its reason', () => {
    const result = detector.score(reading({ temperature: 84 }));
    expect(result.isAnomaly).toBe(true);
    expect(result.score).toBeGreaterThan(0.5);
    expect(result.anomalousFeatures).toEqual(['temperature']);
    expect(result.reasons).toEqual(['temperature +40% over baseline']);
    expect(result.deviations.temperature).toBeCloseTo(0.4, 10);
  });

  it('says "under baseline" for a negative deviation', () => {
    const result = detector.score(reading({ humidity: 18 }));
    expect(result.anomalousFeatures).toEqual(['humidity']);
    expect(result.reasons).toEqual(['humidity -40% under baseline']);
  });

  it('lists every anomalous feature, in feature order, with one reason each', () => {
    const result = detector.score(reading({ humidity: 45, vibration_amplitude: 150 }));
    expect(result.anomalousFeatures).toEqual(['vibration_amplitude', 'humidity']);
    expect(result.reasons).toEqual([
      'vibration amplitude -40% under baseline',
      'humidity +50% over baseline',
    ]);
  });

  it('reports the model version it was built from', () => {
    expect(detector.modelVersion).toBe('zscore-lab-spec-1');
  });
});

describe('describeDeviation', () => {
  it('shows whole percents from 10% and one decimal below', () => {
    expect(describeDeviation('temperature', 0.234)).toBe('temperature +23% over baseline');
    expect(describeDeviation('vibration_frequency', -0.0456)).toBe(
      'vibration frequency -4.6% under baseline',
    );
  });
});

describe('scoreThreshold option', () => {
  const moderate = reading({ temperature: 84 });
  const mild = reading({ temperature: 70 });

  it('a higher threshold stops flagging a reading the default flags', () => {
    const { score } = detector.score(moderate);
    expect(score).toBeGreaterThan(0.5);
    expect(score).toBeLessThan(0.95);
    expect(detector.score(moderate).isAnomaly).toBe(true);
    const strict = createDetector(defaultModel(), { scoreThreshold: 0.95 });
    expect(strict.score(moderate)).toMatchObject({ isAnomaly: false, anomalousFeatures: [], reasons: [] });
    expect(strict.score(moderate).score).toBe(score);
  });

  it('a lower threshold flags a reading the default does not', () => {
    const { score } = detector.score(mild);
    expect(score).toBeGreaterThan(0.1);
    expect(score).toBeLessThan(0.5);
    expect(detector.score(mild).isAnomaly).toBe(false);
    const sensitive = createDetector(defaultModel(), { scoreThreshold: 0.1 });
    expect(sensitive.score(mild)).toMatchObject({ isAnomaly: true, anomalousFeatures: ['temperature'] });
  });

  it.each([0, 1, -0.1, 1.5, Number.NaN])('createDetector rejects threshold %p', (scoreThreshold) => {
    expect(() => createDetector(defaultModel(), { scoreThreshold })).toThrow(
      /^scoreThreshold must be between 0 and 1 \(exclusive\), got /,
    );
  });

  it.each([0.01, 0.5, 0.99])('createDetector accepts threshold %p', (scoreThreshold) => {
    expect(() => createDetector(defaultModel(), { scoreThreshold })).not.toThrow();
  });
});

describe('parseDetectorModel', () => {
  const model = () => structuredClone(defaultModelJson) as Record<string, unknown> & typeof defaultModelJson;

  it('accepts the default model', () => {
    expect(parseDetectorModel(model()).baseline.temperature).toEqual({ mean: 60, std: 4.898979 });
  });

  it('rejects a model with a missing std, naming its path', () => {
    const broken = model();
    delete (broken.baseline.temperature as { std?: number }).std;
    expect(() => parseDetectorModel(broken)).toThrow(/^invalid detector model: baseline\.temperature\.std: /);
  });

  it('rejects a model with a missing modelVersion, naming it', () => {
    const broken: Record<string, unknown> = model();
    delete broken.modelVersion;
    expect(() => parseDetectorModel(broken)).toThrow(/^invalid detector model: modelVersion: /);
  });

  it.each([0, -1])('rejects std %p, naming its path', (std) => {
    const broken = model();
    broken.baseline.humidity.std = std;
    expect(() => parseDetectorModel(broken)).toThrow(/^invalid detector model: baseline\.humidity\.std: /);
  });

  it('names (root) when the model is not an object', () => {
    expect(() => parseDetectorModel('model')).toThrow(/^invalid detector model: \(root\): /);
  });
});
