import { decodeRecordData } from '../../lambdas/shared/decode';
import { FEATURES } from '../../lambdas/shared/features';
import { validateReading } from '../../lambdas/shared/reading';
import { parseTimestamp } from '../../lambdas/shared/timestamp';
import {
  ANOMALY_LENGTH_BURSTS,
  ANOMALY_RANGE,
  type Burst,
  createLabGenerator,
  LAB_ANOMALY_ODDS,
  LAB_BASE_VALUES,
  type LabGeneratorOptions,
  MAX_BURST_SIZE,
  NORMAL_RANGE,
  type Step,
  TEMPERATURE_ODDS_FACTOR_WHILE_FREQUENCY_ANOMALOUS,
} from '../../simulator/generator';

const START_MS = Date.UTC(2026, 10, 23, 19, 47, 9, 123);
const [FREQUENCY, TEMPERATURE] = [1, 2];

function generate(options: LabGeneratorOptions, readings: number, rate = 3000): Step[] {
  const generator = createLabGenerator(options);
  const steps: Step[] = [];
  let startMs = START_MS;
  for (let made = 0; made < readings; ) {
    const step = generator.nextStep(startMs, rate, readings - made);
    steps.push(step);
    made += step.bursts.reduce((n, burst) => n + burst.readings, 0);
    startMs = step.endMs;
  }
  return steps;
}

const isAnomalous = (burst: Burst, f: number) => (burst.anomalyMask & (1 << f)) !== 0;

/** Each equipment's sequence of anomaly masks, one per burst. */
function masksByEquipment(steps: readonly Step[]): Map<number, number[]> {
  const masks = new Map<number, number[]>();
  for (const burst of steps.flatMap((step) => step.bursts)) {
    const list = masks.get(burst.equipmentId) ?? [];
    list.push(burst.anomalyMask);
    masks.set(burst.equipmentId, list);
  }
  return masks;
}

/**
 * The stationary anomalous fraction of each feature, from the lab's state machine itself: counters
 * 0..10 per feature, temperature's odds tripled while frequency is anomalous in the same burst.
 */
function expectedAnomalousFractions(): number[] {
  const single = (p: number) => ANOMALY_LENGTH_BURSTS / (ANOMALY_LENGTH_BURSTS + 1 / p);
  const states = ANOMALY_LENGTH_BURSTS + 1;
  const advance = (flag: number, p: number): [number, number][] =>
    flag === 0
      ? [
          [1, p],
          [0, 1 - p],
        ]
      : [[flag >= ANOMALY_LENGTH_BURSTS ? 0 : flag + 1, 1]];
  let joint = new Float64Array(states * states);
  joint[0] = 1;
  for (let iteration = 0; iteration < 5_000; iteration++) {
    const next = new Float64Array(states * states);
    joint.forEach((probability, index) => {
      if (probability === 0) return;
      const [frequency, temperature] = [Math.floor(index / states), index % states];
      for (const [f, pf] of advance(frequency, LAB_ANOMALY_ODDS[FREQUENCY])) {
        const odds =
          LAB_ANOMALY_ODDS[TEMPERATURE] * (f > 0 ? TEMPERATURE_ODDS_FACTOR_WHILE_FREQUENCY_ANOMALOUS : 1);
        for (const [t, pt] of advance(temperature, odds)) next[f * states + t] += probability * pf * pt;
      }
    });
    joint = next;
  }
  const temperatureAnomalous = joint.reduce((sum, p, index) => sum + (index % states > 0 ? p : 0), 0);
  return [
    single(LAB_ANOMALY_ODDS[0]),
    single(LAB_ANOMALY_ODDS[1]),
    temperatureAnomalous,
    single(LAB_ANOMALY_ODDS[3]),
  ];
}

describe('lab generator, a seeded run of 1,000,000 readings', () => {
  // Bursts of 10: the anomaly state moves once per burst, so this gives 100,000 samples of it.
  const steps = generate({ seed: 20261123, burstSize: 10 }, 1_000_000);
  const bursts = steps.flatMap((step) => step.bursts);

  test('it holds exactly the readings asked for', () => {
    expect(bursts.reduce((n, burst) => n + burst.readings, 0)).toBe(1_000_000);
  });

  test('every value lies in the band of its step offset: normal 0.90-1.10 of base, anomalous 1.11-1.30, plus the offset', () => {
    let outside = 0;
    for (const step of steps) {
      for (const burst of step.bursts) {
        for (let f = 0; f < FEATURES.length; f++) {
          const range = isAnomalous(burst, f) ? ANOMALY_RANGE : NORMAL_RANGE;
          const base = LAB_BASE_VALUES[f];
          // Values keep 2 decimals: they may round up to 0.005 past the band.
          const low = base * (range.low + step.offsets[f]) - 0.005 - 1e-9;
          const high = base * (range.high + step.offsets[f]) + 0.005 + 1e-9;
          for (let v = f; v < burst.values.length; v += FEATURES.length) {
            if (burst.values[v] < low || burst.values[v] > high) outside++;
          }
        }
      }
    }
    expect(outside).toBe(0);
  });

  test('normal values stay within base * [0.8, 1.2] and anomalous ones within base * [1.01, 1.4], spanning both', () => {
    // Per feature, [min, max] of value / base for normal (index 0) and anomalous (index 1) readings.
    const extremes = FEATURES.map(() => [
      [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ]);
    for (const burst of bursts) {
      for (let f = 0; f < FEATURES.length; f++) {
        const range = extremes[f][isAnomalous(burst, f) ? 1 : 0];
        for (let v = f; v < burst.values.length; v += FEATURES.length) {
          const ratio = burst.values[v] / LAB_BASE_VALUES[f];
          if (ratio < range[0]) range[0] = ratio;
          if (ratio > range[1]) range[1] = ratio;
        }
      }
    }
    for (const [normal, anomalous] of extremes) {
      expect(normal[0]).toBeGreaterThanOrEqual(0.8);
      expect(normal[1]).toBeLessThanOrEqual(1.2);
      expect(anomalous[0]).toBeGreaterThanOrEqual(1.01);
      expect(anomalous[1]).toBeLessThanOrEqual(1.4);
      // The offset and the noise together reach near both ends.
      expect(normal[0]).toBeLessThan(0.82);
      expect(normal[1]).toBeGreaterThan(1.18);
      expect(anomalous[0]).toBeLessThan(1.03);
      expect(anomalous[1]).toBeGreaterThan(1.38);
    }
  });

  test('the offset is drawn once per step and feature, uniformly within +-10% of base', () => {
    const offsets = steps.map((step) => step.offsets);
    for (let f = 0; f < FEATURES.length; f++) {
      const values = offsets.map((o) => o[f]);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.1);
      expect(Math.max(...values)).toBeLessThanOrEqual(0.1);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      expect(Math.abs(mean)).toBeLessThan(0.002);
      expect(values.filter((v) => v > 0.05).length / values.length).toBeCloseTo(0.25, 1);
    }
  });

  test('each feature is anomalous for the fraction of time its odds imply (stationary state of the lab machine)', () => {
    const expected = expectedAnomalousFractions();
    FEATURES.forEach((_, f) => {
      const fraction = bursts.filter((burst) => isAnomalous(burst, f)).length / bursts.length;
      // About four standard deviations at 100,000 bursts, measured across seeds.
      expect(Math.abs(fraction - expected[f]) / expected[f]).toBeLessThan(0.16);
    });
  });

  test('an anomaly starts with its odds after a normal burst; temperature with three times them while frequency is anomalous', () => {
    const trials = new Map<string, { draws: number; starts: number; odds: number }>();
    const count = (key: string, odds: number, started: boolean) => {
      const trial = trials.get(key) ?? { draws: 0, starts: 0, odds };
      trial.draws++;
      if (started) trial.starts++;
      trials.set(key, trial);
    };
    for (const masks of masksByEquipment(steps).values()) {
      for (let i = 1; i < masks.length; i++) {
        for (let f = 0; f < FEATURES.length; f++) {
          if (masks[i - 1] & (1 << f)) continue;
          const started = (masks[i] & (1 << f)) !== 0;
          const hot = f === TEMPERATURE && (masks[i] & (1 << FREQUENCY)) !== 0;
          const factor = hot ? TEMPERATURE_ODDS_FACTOR_WHILE_FREQUENCY_ANOMALOUS : 1;
          count(
            `${FEATURES[f]}${hot ? ' (frequency anomalous)' : ''}`,
            LAB_ANOMALY_ODDS[f] * factor,
            started,
          );
        }
      }
    }
    expect(trials.size).toBe(5);
    for (const [, { draws, starts, odds }] of trials) {
      const sigma = Math.sqrt(draws * odds * (1 - odds));
      expect(Math.abs(starts - draws * odds)).toBeLessThan(4 * sigma);
    }
  });

  test('an anomaly lasts exactly 10 bursts and is followed by at least one normal burst', () => {
    const lengths = new Set<number>();
    for (const masks of masksByEquipment(steps).values()) {
      FEATURES.forEach((_, f) => {
        let run = 0;
        masks.forEach((mask, i) => {
          if (mask & (1 << f)) run++;
          else if (run > 0) {
            lengths.add(run);
            run = 0;
          }
          if (i === masks.length - 1 && run > ANOMALY_LENGTH_BURSTS) lengths.add(run);
        });
      });
    }
    expect([...lengths]).toEqual([ANOMALY_LENGTH_BURSTS]);
  });

  test('the record data carries exactly the generated values', () => {
    let differing = 0;
    for (const burst of bursts.slice(0, 3000)) {
      const readings = JSON.parse(burst.json) as Record<string, number>[];
      const values = readings.flatMap((reading) => FEATURES.map((feature) => reading[feature]));
      if (values.some((value, v) => value !== burst.values[v]) || values.length !== burst.values.length)
        differing++;
    }
    expect(differing).toBe(0);
  });
});

describe('lab generator, records and timestamps', () => {
  test('the same seed gives the same records; another seed, other values', () => {
    const json = (seed: number) => generate({ seed }, 30_000).flatMap((s) => s.bursts.map((b) => b.json));

    expect(json(7)).toEqual(json(7));
    const [seven, eight] = [generate({ seed: 7 }, 3000), generate({ seed: 8 }, 3000)];
    expect(seven[0].bursts[0].values).not.toEqual(eight[0].bursts[0].values);
  });

  test('values depend on the seed alone, not on the start time or the rate', () => {
    const values = (rate: number) =>
      generate({ seed: 3 }, 9000, rate).flatMap((s) => s.bursts.map((b) => [...b.values]));

    expect(values(3000)).toEqual(values(250));
  });

  test('a step is one burst per equipment, each a lab-shaped reading array keyed by its equipment', () => {
    const [step] = generate({ seed: 1 }, 3000);

    expect(step.bursts.map((b) => [b.equipmentId, b.readings])).toEqual([
      [101, 1000],
      [102, 1000],
      [103, 1000],
    ]);
    const decoded = decodeRecordData(Buffer.from(step.bursts[1].json));
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.readings).toHaveLength(1000);
    expect(Object.keys(decoded.readings[0] as object)).toEqual(['timestamp', 'equipment_id', ...FEATURES]);
    for (const reading of decoded.readings) {
      expect(validateReading(reading, START_MS + 60_000)).toMatchObject({ ok: true });
      expect((reading as { equipment_id: number }).equipment_id).toBe(102);
    }
  });

  test("readings of a step are spaced evenly at the rate, in the lab's UTC timestamp format with microseconds", () => {
    const [step] = generate({ seed: 1 }, 3000);
    const [first, second, third] = step.bursts;

    expect(first.timestamps.slice(0, 4)).toEqual([
      '2026-11-23 19:47:09.123000',
      '2026-11-23 19:47:09.123333',
      '2026-11-23 19:47:09.123666',
      '2026-11-23 19:47:09.124000',
    ]);
    // The bursts follow one another: equipment 102 starts 1000 readings (333.3 ms) later.
    expect(second.timestamps[0]).toBe('2026-11-23 19:47:09.456333');
    expect(third.timestamps[999]).toBe('2026-11-23 19:47:10.122666');
    expect(first.endMs).toBeCloseTo(START_MS + 1000 / 3, 6);
    expect(step.endMs).toBeCloseTo(START_MS + 1000, 6);
    const times = step.bursts.flatMap((b) => b.timestamps).map((t) => parseTimestamp(t));
    expect(times.every((t, i) => t.ok && t.epochMs === Math.floor(START_MS + i / 3))).toBe(true);
  });

  test('a step stops at exactly the readings allowed, cutting its last burst', () => {
    const generator = createLabGenerator({ seed: 1 });
    const step = generator.nextStep(START_MS, 3000, 1500);

    expect(step.bursts.map((b) => [b.equipmentId, b.readings])).toEqual([
      [101, 1000],
      [102, 500],
    ]);
    expect(JSON.parse(step.bursts[1].json)).toHaveLength(500);
    expect(step.endMs).toBeCloseTo(START_MS + 1500 / 3, 6);
  });

  test('a record of the largest burst, all readings malformed, stays under the 1 MiB Kinesis record limit', () => {
    const [step] = generate(
      { seed: 1, burstSize: MAX_BURST_SIZE, badRatio: 1, equipment: [2_147_483_647] },
      MAX_BURST_SIZE,
    );

    expect(Buffer.byteLength(step.bursts[0].json)).toBeLessThan(1024 * 1024);
  });

  test('bad options are refused with the reason', () => {
    expect(() => createLabGenerator({ seed: -1 })).toThrow(/seed/);
    expect(() => createLabGenerator({ seed: 1, burstSize: MAX_BURST_SIZE + 1 })).toThrow(/burstSize/);
    expect(() => createLabGenerator({ seed: 1, badRatio: 1.5 })).toThrow(/badRatio/);
    expect(() => createLabGenerator({ seed: 1, equipment: [] })).toThrow(/equipment/);
  });

  test('with the default bursts of 1000, the three equipment of a step centre on the same offset', () => {
    const steps = generate({ seed: 11 }, 150_000);
    for (const step of steps) {
      // The mean of 1000 readings is within 0.2% of base of the offset (5 standard deviations).
      for (let f = 0; f < FEATURES.length; f++) {
        const means = step.bursts
          .filter((b) => !isAnomalous(b, f))
          .map((b) => {
            let sum = 0;
            for (let v = f; v < b.values.length; v += FEATURES.length) sum += b.values[v];
            return sum / b.readings / LAB_BASE_VALUES[f] - 1;
          });
        for (const mean of means) expect(Math.abs(mean - step.offsets[f])).toBeLessThan(0.01);
      }
    }
  });
});
