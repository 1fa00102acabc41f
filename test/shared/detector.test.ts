import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  createDetector,
  createStreamDetector,
  type DetectorModel,
  type DetectorOptions,
  parseDetectorModel,
  Regime,
  type StreamDetector,
} from '../../lambdas/shared/detector';
import { FEATURES } from '../../lambdas/shared/features';
import { simulatorDataset } from '../../ml/dataset';
import { DEFAULT_SETTINGS, trainModel } from '../../ml/train';
import { defaultModel } from './fixtures';

const BASE = [250, 1000, 60, 30];
const T0 = Date.UTC(2026, 10, 23, 19, 0, 0);

/** Seeded readings of the four features: uniform noise of +-10% of base around `level` (a fraction of base). */
function readings(seed: number, count: number, level: (i: number, f: number) => number): Float64Array[] {
  const rng = xoroshiro128plus(seed);
  return Array.from({ length: count }, (_, i) =>
    Float64Array.from(BASE, (base, f) => base * (level(i, f) + 0.2 * (uniformFloat64(rng) - 0.5))),
  );
}

function flags(detector: StreamDetector, series: Float64Array[], key = '101', startMs = T0) {
  return series.map((values, i) => detector.scoreValues(key, startMs + i, values));
}

const TEMPERATURE = FEATURES.indexOf('temperature');

/** The detector over a model's features, with that model's absolute limits. */
function trained(
  model: DetectorModel,
  options: DetectorOptions = {},
  labels?: readonly string[],
): StreamDetector {
  return createStreamDetector({ ...options, features: model.features, model, labels });
}

describe('the regime-level detector', () => {
  const model = defaultModel();

  test('stable noise at a normal level is never flagged', () => {
    const detector = trained(model);
    const results = flags(
      detector,
      readings(1, 20_000, () => 1.0),
    );

    expect(results.filter((r) => r.isAnomaly)).toHaveLength(0);
    expect(Math.max(...results.map((r) => r.score))).toBeLessThan(0.5);
  });

  test('a step change of one feature is flagged within 50 readings, naming that feature and its deviation', () => {
    const step = 3_000;
    const series = readings(2, 5_000, (i, f) => (f === TEMPERATURE && i >= step ? 1.25 : 1.0));
    const results = flags(
      trained(
        model,
        {},
        model.features.map((f) => f.replace('_', ' ')),
      ),
      series,
    );

    const first = results.findIndex((r) => r.isAnomaly);
    expect(first).toBeGreaterThanOrEqual(step);
    expect(first - step).toBeLessThan(50);
    const after = results.slice(step + 100);
    expect(after.every((r) => r.isAnomaly && r.anomalous.join() === String(TEMPERATURE))).toBe(true);
    expect(after[0].reasons).toHaveLength(1);
    expect(after[0].reasons[0]).toMatch(/^temperature \+2\d% over baseline$/);
  });

  test('a drop below the normal band says "under baseline"', () => {
    const series = readings(3, 3_000, (i, f) => (f === 0 && i >= 1_000 ? 0.7 : 1.0));
    const results = flags(trained(model, {}, ['vibration amplitude', 'f', 't', 'h']), series);

    expect(results[2_000].isAnomaly).toBe(true);
    expect(results[2_000].reasons[0]).toMatch(/^vibration amplitude -\d+% under baseline$/);
  });

  test('a single reading far from its level is flagged as a spike, and the next normal reading is not', () => {
    const series = readings(4, 1_001, () => 1.0);
    series[900][TEMPERATURE] = 60 * 2.5;
    const results = flags(trained(model, {}, ['a', 'f', 'temperature', 'h']), series);

    expect(results[900].isAnomaly).toBe(true);
    expect(results[900].reasons[0]).toMatch(/^temperature spike \+\d+% off its level$/);
    expect(results[901].isAnomaly).toBe(false);
  });

  test('each equipment has its own state: an anomaly of one leaves the others alone', () => {
    const detector = trained(model);
    const hot = readings(5, 2_000, (i, f) => (f === TEMPERATURE && i >= 1_000 ? 1.3 : 1.0));
    const calm = readings(6, 2_000, () => 1.0);
    const results = hot.flatMap((values, i) => [
      detector.scoreValues('101', T0 + i, values),
      detector.scoreValues('102', T0 + i, calm[i]),
    ]);

    expect(results.filter((_, n) => n % 2 === 0).some((r) => r.isAnomaly)).toBe(true);
    expect(results.filter((_, n) => n % 2 === 1).some((r) => r.isAnomaly)).toBe(false);
  });

  test('readings no newer than the last one seen (a retried batch) are scored without moving the state', () => {
    const series = readings(7, 2_000, () => 1.0);
    const replayed = trained(model);
    const once = trained(model);
    flags(once, series.slice(0, 1_500));
    flags(replayed, series.slice(0, 1_500));
    // A retry of hot readings with old timestamps must not teach the detector a new level.
    flags(
      replayed,
      readings(8, 500, () => 1.3),
    );

    const next = series.slice(1_500);
    const expected = flags(once, next, '101', T0 + 1_500);
    expect(flags(replayed, next, '101', T0 + 1_500)).toEqual(expected);
  });

  test('after a cold start it judges a stream from its first readings', () => {
    const results = flags(
      trained(model),
      readings(9, 200, (_, f) => (f === TEMPERATURE ? 1.3 : 1.0)),
    );

    expect(results.findIndex((r) => r.isAnomaly)).toBeLessThan(20);
  });

  test('with bounded noise, a level 0.8% of base over the band is flagged within 100 readings; one inside it rarely', () => {
    expect(model.parameters.every((p) => p.noiseWidth !== undefined)).toBe(true);
    const edge = model.parameters[TEMPERATURE].levelHigh / BASE[TEMPERATURE];
    const flagged = (level: number, seed: number) =>
      flags(
        trained(model),
        readings(seed, 20_000, (_, f) => (f === TEMPERATURE ? level : 1.0)),
      ).filter((r) => r.isAnomaly).length;
    // 1% of base inside the edge: almost never (under 0.05%); 0.1% inside it, where chance alone
    // crosses it more often: under 5% (about 3% measured).
    expect(flagged(edge - 0.01, 11)).toBeLessThan(10);
    expect(flagged(edge - 0.001, 11)).toBeLessThan(1_000);

    const step = 2_000;
    const justOver = readings(12, 4_000, (i, f) => (f === TEMPERATURE && i >= step ? edge + 0.008 : 1.0));
    const results = flags(trained(model), justOver);
    const first = results.findIndex((r) => r.isAnomaly);
    expect(first).toBeGreaterThanOrEqual(step);
    expect(first - step).toBeLessThan(100);
    expect(results.slice(step + 200).every((r) => r.anomalous.join() === String(TEMPERATURE))).toBe(true);
  });

  test('the same model judging by the mean (no noiseWidth) needs far longer for that level', () => {
    const byMean = {
      ...model,
      parameters: model.parameters.map(({ noiseWidth: _width, ...p }) => p),
    };
    const edge = model.parameters[TEMPERATURE].levelHigh / BASE[TEMPERATURE];
    const step = 2_000;
    const justOver = readings(12, 4_000, (i, f) => (f === TEMPERATURE && i >= step ? edge + 0.008 : 1.0));
    // The trained half's delay: the adaptive half flags the onset at once, whatever the model.
    const delay = (m: DetectorModel) =>
      flags(trained(m), justOver).findIndex(
        (r, i) => i >= step && r.reasons.some((reason) => reason.endsWith('over baseline')),
      ) - step;

    expect(delay(byMean)).toBeGreaterThan(2 * delay(model));
  });

  test('a regime’s midrange leaves out one stray reading, where the plain midrange would move', () => {
    const regime = new Regime(1_000);
    const rng = xoroshiro128plus(13);
    regime.push(100, 1, 4, 1e9); // a stray reading from before a change
    for (let i = 0; i < 999; i++) regime.push(10 + (uniformFloat64(rng) - 0.5), 1, 4, 1e9);

    expect(Math.abs(regime.midrange - 10)).toBeLessThan(0.01);
    expect(Math.abs(regime.midrangeOfLast(500) - 10)).toBeLessThan(0.02);
    // Past capacity, the oldest readings leave the extremes too.
    for (let i = 0; i < 1_000; i++) regime.push(20 + (uniformFloat64(rng) - 0.5), 1, 4, 1e9);
    expect(Math.abs(regime.midrange - 20)).toBeLessThan(0.01);
  });

  test('sensitivity is configurable without retraining, globally or per feature', () => {
    const series = readings(10, 3_000, (i, f) => (f === TEMPERATURE && i >= 2_000 ? 1.1 : 1.0));
    const count = (options: DetectorOptions) =>
      flags(trained(model, options), series).filter((r) => r.isAnomaly).length;

    const normal = count({});
    expect(count({ scoreThreshold: 0.999 })).toBeLessThan(normal);
    expect(count({ featureThresholds: { temperature: 0.999 } })).toBeLessThan(normal);
    expect(count({ scoreThreshold: 0.05 })).toBeGreaterThan(normal);
    expect(() => trained(model, { scoreThreshold: 1 })).toThrow(/between 0 and 1/);
  });

  test('the pipeline detector scores reading objects and names features in reading order', () => {
    const detector = createDetector(model);
    const base = {
      equipmentId: 101,
      values: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 60, humidity: 30 },
    };
    for (let i = 0; i < 50; i++) detector.score({ ...base, timestampMs: T0 + i });
    const score = detector.score({
      ...base,
      timestampMs: T0 + 50,
      values: { ...base.values, temperature: 200, humidity: 95 },
    });

    expect(score.isAnomaly).toBe(true);
    expect(score.anomalousFeatures).toEqual(['temperature', 'humidity']);
    expect(score.reasons).toHaveLength(2);
    expect(score.reasons[0]).toMatch(/^temperature /);
    expect(score.deviations.temperature).toBeGreaterThan(0);
  });
});

describe('the model artifact', () => {
  test('train, save, load: the loaded model scores every reading exactly as the trained one', () => {
    const training = simulatorDataset(30, 30_000);
    const fitted = trainModel(training, DEFAULT_SETTINGS, {
      modelVersion: 'round-trip',
      source: training.name,
    });
    const loaded = parseDetectorModel(JSON.parse(JSON.stringify(fitted)));
    const test = simulatorDataset(31, 12_000).streams[0];
    const score = (model: DetectorModel) => {
      const detector = trained(model);
      return Array.from(test.timestamps, (t, i) =>
        detector.scoreValues(test.key, t, test.values.subarray(i * 4, i * 4 + 4)),
      );
    };

    expect(loaded).toEqual(fitted);
    expect(score(loaded)).toEqual(score(fitted));
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThan(1_000_000);
  });

  test('the shipped model is a valid artifact of the four pipeline features', () => {
    const model = defaultModel();
    expect(model.features).toEqual([...FEATURES]);
    expect(model.formatVersion).toBe(2);
    expect(() => createDetector(model)).not.toThrow();
  });

  test('a model with a missing or bad field is refused, naming it', () => {
    const model = defaultModel() as unknown as Record<string, unknown>;
    expect(() => parseDetectorModel({ ...model, changeWindow: undefined })).toThrow(/changeWindow/);
    const parameters = model.parameters as { noiseStd: number }[];
    const zeroNoise = parameters.map((p) => ({ ...p, noiseStd: 0 }));
    expect(() => parseDetectorModel({ ...model, parameters: zeroNoise })).toThrow(/parameters\.0\.noiseStd/);
    expect(() => parseDetectorModel({ ...model, parameters: parameters.slice(1) })).toThrow(
      /3 parameter sets for 4 features/,
    );
    expect(() => parseDetectorModel(42)).toThrow(/\(root\)/);
  });

  test('the pipeline refuses a model of other features', () => {
    const model = { ...defaultModel(), features: ['a', 'b', 'c', 'd'] };
    expect(() => createDetector(model)).toThrow(
      /the model names features the readings do not have: a, b, c, d/,
    );
  });
});
