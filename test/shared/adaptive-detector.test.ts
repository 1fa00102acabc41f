import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  createStreamDetector,
  DEFAULT_ADAPTIVE_SETTINGS,
  type StreamDetector,
  type StreamDetectorConfig,
  type ValuesScore,
} from '../../lambdas/shared/detector';
import { defaultModel } from './fixtures';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Midnight UTC: readings every 5 minutes from here, as NAB's and many plants' historians store them. */
const T0 = Date.UTC(2026, 0, 5);
const STEP = 5 * MINUTE;

type Rng = ReturnType<typeof xoroshiro128plus>;

/** A standard normal draw (Box-Muller). */
function normalFloat64(rng: Rng): number {
  const u = 1 - uniformFloat64(rng);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniformFloat64(rng));
}

/** Gaussian noise of a given spread around `level(i)`, seeded. */
function series(seed: number, count: number, level: (i: number) => number, noise: number): number[] {
  const rng = xoroshiro128plus(seed);
  return Array.from({ length: count }, (_, i) => level(i) + noise * normalFloat64(rng));
}

function detector(config: Partial<StreamDetectorConfig> = {}): StreamDetector {
  return createStreamDetector({ features: ['value'], ...config });
}

function scoreAll(d: StreamDetector, values: number[], step = STEP, key = 'press-07'): ValuesScore[] {
  return values.map((value, i) => d.scoreValues(key, T0 + i * step, [value]));
}

const flaggedAt = (results: ValuesScore[]) => results.flatMap((r, i) => (r.isAnomaly ? [i] : []));

describe('the adaptive detector (no model, no training)', () => {
  test('it reports a warm-up, scores 0 during it, and then scores', () => {
    const results = scoreAll(
      detector(),
      series(1, 400, () => 50, 1),
    );
    const warmup = DEFAULT_ADAPTIVE_SETTINGS.warmupReadings;
    expect(results.slice(0, warmup).every((r) => r.warmingUp && r.score === 0)).toBe(true);
    expect(results.slice(warmup).every((r) => !r.warmingUp)).toBe(true);
  });

  test('stable noise is not flagged', () => {
    const results = scoreAll(
      detector(),
      series(2, 10_000, () => 50, 1),
    );
    expect(flaggedAt(results)).toEqual([]);
  });

  test('a lasting level shift is flagged at its onset, once, and is normal after the horizon', () => {
    const shift = 1_000;
    const values = series(3, 3_000, (i) => (i < shift ? 50 : 58), 1);
    const results = scoreAll(detector(), values);

    const flags = flaggedAt(results);
    expect(flags.length).toBeGreaterThanOrEqual(1);
    expect(flags[0]).toBeGreaterThanOrEqual(shift);
    expect(flags[0] - shift).toBeLessThan(3);
    expect(flags.length).toBeLessThanOrEqual(2);
    expect(results[flags[0]].reasons[0]).toMatch(
      /^value (\+1\d% over its usual level|5\d(\.\d+)?, beyond its range so far \(4\d(\.\d+)? to 5\d(\.\d+)?\))$/,
    );
    // After the horizon (3 hours of 5-minute readings), the new level is the normal.
    const afterHorizon = shift + DEFAULT_ADAPTIVE_SETTINGS.horizonMs / STEP;
    expect(Math.max(...results.slice(afterHorizon).map((r) => r.score))).toBeLessThan(0.2);
  });

  test('the same shift beyond an absolute limit stays flagged, with the limit as its reason', () => {
    const shift = 1_000;
    const values = series(3, 3_000, (i) => (i < shift ? 50 : 58), 0.5);
    const results = scoreAll(detector({ limits: { value: { high: 55 } } }), values);

    const after = results.slice(shift + 5);
    expect(after.filter((r) => r.isAnomaly).length / after.length).toBeGreaterThan(0.99);
    expect(after[after.length - 1].reasons).toEqual([
      expect.stringMatching(/^value 5\d(\.\d+)? over its limit 55$/),
    ]);
    // Before the shift, nothing broke the limit.
    expect(flaggedAt(results.slice(0, shift))).toEqual([]);
  });

  test('a spike is flagged once, and the readings after it are not', () => {
    const values = series(4, 2_000, () => 50, 1);
    values[1_500] = 65;
    const results = scoreAll(detector(), values);

    expect(flaggedAt(results)).toEqual([1_500]);
    expect(results[1_500].reasons[0]).toMatch(/^value 65, beyond its range so far/);
  });

  test('a spike inside the range seen so far is flagged too when it is far off its forecast', () => {
    // A signal that wanders between 30 and 70 over a week; the spike stays inside that range.
    const values = series(5, 3_000, (i) => 50 + 20 * Math.sin((2 * Math.PI * i) / 2_000), 0.5);
    values[2_000] = values[2_000] + 10;
    const results = scoreAll(detector(), values);

    expect(flaggedAt(results)).toEqual([2_000]);
    expect(results[2_000].reasons[0]).toMatch(/^value \+\d+% over its usual level/);
  });

  test('a daily pattern is learnt: a value normal at noon is anomalous at midnight', () => {
    // Five days of a plant running from 06:00 to 18:00 (level 100) and idle at night (level 50).
    const perDay = DAY / STEP;
    const hourOf = (i: number) => ((i * STEP) % DAY) / HOUR;
    const days = 8;
    const values = series(6, days * perDay, (i) => (hourOf(i) >= 6 && hourOf(i) < 18 ? 100 : 50), 1);
    // Day 6: the plant runs at night for half an hour from 00:00; day 7: the same level at noon (normal).
    const midnight = 6 * perDay;
    for (let k = 0; k < 6; k++) values[midnight + k] = 100 + (values[midnight + k] - 50);
    const results = scoreAll(detector(), values);

    const flags = flaggedAt(results);
    expect(flags.filter((i) => i >= midnight && i < midnight + 6).length).toBeGreaterThanOrEqual(1);
    expect(results[flags.find((i) => i >= midnight) as number].reasons[0]).toMatch(
      /^value \+\d+% over its usual level for this time of (day|the week)$/,
    );
    // Every day's 06:00 and 18:00 changes and the noon readings of day 7 are normal once a day is learnt.
    const quiet = flags.filter((i) => i >= 2 * perDay && (i < midnight || i >= midnight + 12));
    expect(quiet).toEqual([]);
  });

  test('scores mean the same on sensors of different scales and noise', () => {
    // A temperature around 60 with noise 0.2 and a vibration around 1,000 with noise 40: the same
    // shape of event (a shift of 6 noise deviations) scores alike, and normal noise scores low on both.
    const shift = 1_500;
    const temperature = series(7, 3_000, (i) => (i < shift ? 60 : 61.2), 0.2);
    const vibration = series(8, 3_000, (i) => (i < shift ? 1_000 : 1_240), 40);
    const d = createStreamDetector({ features: ['temperature', 'vibration'] });
    const results = temperature.map((t, i) => d.scoreValues('press-07', T0 + i * STEP, [t, vibration[i]]));
    const alone = (values: number[]) => scoreAll(detector(), values).map((r) => r.score);
    const t = alone(temperature);
    const v = alone(vibration);
    const onset = (scores: number[]) => Math.max(...scores.slice(shift, shift + 10));
    const calm = (scores: number[]) => Math.max(...scores.slice(300, shift));

    expect(onset(t)).toBeGreaterThan(0.5);
    expect(onset(v)).toBeGreaterThan(0.5);
    expect(Math.abs(onset(t) - onset(v))).toBeLessThan(0.25);
    expect(calm(t)).toBeLessThan(0.35);
    expect(calm(v)).toBeLessThan(0.35);
    // Together, the reading is flagged at the onset and names both features.
    const both = results.slice(shift, shift + 10).find((r) => r.isAnomaly);
    expect(both?.anomalous.length).toBeGreaterThanOrEqual(1);
  });
});

describe('saving and restoring the state', () => {
  const values = series(9, 4_000, (i) => (i < 2_500 ? 50 + 10 * Math.sin(i / 40) : 70), 1);

  test('a detector restored at every reading scores exactly as one that never stopped', () => {
    const never = scoreAll(detector(), values);
    let current = detector();
    const restarted = values.map((value, i) => {
      const saved = current.saveState('press-07');
      current = detector();
      if (saved) current.restoreState('press-07', saved);
      return current.scoreValues('press-07', T0 + i * STEP, [value]);
    });
    expect(restarted).toEqual(never);
  });

  test('with a trained model, a restore every 500 readings gives exactly the same scores', () => {
    const model = defaultModel();
    const features = model.features;
    const rng = xoroshiro128plus(10);
    const readings = Array.from({ length: 3_000 }, (_, i) =>
      [250, 1000, i > 2_000 ? 75 : 60, 30].map((base) => base * (1 + 0.05 * normalFloat64(rng))),
    );
    const run = (restartEvery: number) => {
      let d = createStreamDetector({ features, model });
      return readings.map((r, i) => {
        if (i > 0 && i % restartEvery === 0) {
          const saved = d.saveState(101) as Uint8Array;
          d = createStreamDetector({ features, model });
          d.restoreState(101, saved);
        }
        return d.scoreValues(101, T0 + i * 1_000, r);
      });
    };
    const never = run(Number.POSITIVE_INFINITY);
    const restarted = run(500);
    expect(restarted).toEqual(never);
  });

  test('a state is a few kilobytes per equipment', () => {
    const d = createStreamDetector({ features: ['a', 'b', 'c', 'd'] });
    for (let i = 0; i < 1_000; i++) d.scoreValues(101, T0 + i * STEP, [1, 2, 3, 4]);
    const size = d.saveState(101)?.length ?? 0;
    expect(size).toBeGreaterThan(1_000);
    expect(size).toBeLessThan(6_000);
  });

  test('a state of another model or settings, or a damaged one, is refused and changes nothing', () => {
    const d = detector();
    scoreAll(d, values.slice(0, 500));
    const saved = d.saveState('press-07') as Uint8Array;

    const other = detector({ adaptive: { horizonMs: HOUR } });
    expect(() => other.restoreState('press-07', saved)).toThrow(/another model or settings/);
    expect(other.has('press-07')).toBe(false);
    expect(() => detector().restoreState('press-07', saved.subarray(0, saved.length - 3))).toThrow(
      /truncated/,
    );
    expect(() => detector().restoreState('press-07', new Uint8Array([1, 2, 3]))).toThrow(/format|truncated/);
    const padded = new Uint8Array(saved.length + 1);
    padded.set(saved);
    expect(() => detector().restoreState('press-07', padded)).toThrow(/trailing/);
  });
});

describe("what the detector holds normal (the dashboard's band)", () => {
  test('none while warming up; then the forecast of the newest reading and a band of no surprise around it', () => {
    const d = detector({ featureThresholds: { value: 0.6 } });
    expect(d.normal('press-07')).toBeUndefined();
    const values = series(11, 600, () => 50, 1);
    scoreAll(d, values.slice(0, DEFAULT_ADAPTIVE_SETTINGS.warmupReadings - 1));
    expect(d.normal('press-07')).toEqual([{ threshold: 0.6 }]);

    scoreAll(d, values);
    const [normal] = d.normal('press-07') ?? [];
    // Noise of spread 1 around 50: the forecast near 50, the band about 3 typical errors (3.75 of its
    // mean absolute error, about 3 noise spreads) each side.
    expect(normal.expected).toBeCloseTo(50, 0);
    const half = ((normal.high ?? 0) - (normal.low ?? 0)) / 2;
    expect(half).toBeGreaterThan(2);
    expect(half).toBeLessThan(4.5);
    expect((normal.low ?? 0) + half).toBeCloseTo(normal.expected ?? 0, 9);
    // The band says what the score does: a reading inside it is no surprise, one far outside is.
    const inside = d.scoreValues('press-07', T0 + 600 * STEP, [(normal.high ?? 0) - 0.2 * half]);
    expect(inside.isAnomaly).toBe(false);
    const outside = d.scoreValues('press-07', T0 + 601 * STEP, [(normal.high ?? 0) + 6 * half]);
    expect(outside.isAnomaly).toBe(true);
    expect(normal.limitLow).toBeUndefined();
  });

  test('the absolute limits and a trained band of levels, where the detector has them', () => {
    const model = defaultModel();
    const d = createStreamDetector({
      features: model.features,
      model,
      limits: { temperature: { high: 80 } },
    });
    d.scoreValues(101, T0, [250, 1000, 60, 30]);
    const normals = d.normal(101) ?? [];
    const temperature = normals[model.features.indexOf('temperature')];
    expect(temperature).toMatchObject({ limitHigh: 80, threshold: 0.5 });
    expect(temperature.limitLow).toBeUndefined();
    const trained = model.parameters[model.features.indexOf('temperature')];
    expect(temperature).toMatchObject({ levelLow: trained.levelLow, levelHigh: trained.levelHigh });
    expect(normals[model.features.indexOf('humidity')].limitHigh).toBeUndefined();
  });

  test('a restored detector has no band until its next reading, then the same as one that never stopped', () => {
    const values = series(12, 400, () => 20, 0.5);
    const never = detector();
    scoreAll(never, values);
    const first = detector();
    scoreAll(first, values.slice(0, 399));
    const restored = detector();
    restored.restoreState('press-07', first.saveState('press-07') as Uint8Array);
    expect(restored.normal('press-07')).toEqual([{ threshold: 0.5 }]);
    restored.scoreValues('press-07', T0 + 399 * STEP, [values[399]]);
    expect(restored.normal('press-07')).toEqual(never.normal('press-07'));
  });
});
