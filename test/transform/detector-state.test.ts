import { DetectorStateStore, detectorStateKey } from '../../lambdas/shared/aws/detector-state';
import { createDetector, parseDetectorModel } from '../../lambdas/shared/detector';
import { processTransformBatch, type TransformDeps } from '../../lambdas/transform/process-batch';
import defaultModel from '../../model/default-model.json';
import { parseCsv } from '../fixtures/csv';
import { kinesisEvent, sequenceNumber } from '../fixtures/kinesis-event';
import { TEST_CONFIG, transformHarness } from '../fixtures/transform-harness';

let harness: ReturnType<typeof transformHarness>;
beforeEach(() => {
  harness = transformHarness();
});
afterEach(() => harness.restore());

const START_MS = Date.UTC(2026, 10, 23, 18, 0, 0);
const PER_RECORD = 100;

/** Record n (from 0): 100 readings of equipment 101, one a second, temperature wandering, then jumping. */
function record(n: number) {
  const readings = Array.from({ length: PER_RECORD }, (_, k) => {
    const i = n * PER_RECORD + k;
    const t = START_MS + i * 1_000;
    const wobble = Math.sin(i / 30) + 0.3 * Math.sin(i * 12.9898);
    return {
      timestamp: new Date(t).toISOString(),
      equipment_id: 101,
      vibration_amplitude: 250 + 5 * wobble,
      vibration_frequency: 1000 + 10 * Math.cos(i / 20),
      temperature: 60 + wobble + (i >= 700 ? 9 : 0),
      humidity: 30 + 0.5 * Math.sin(i / 45),
    };
  });
  const lastMs = START_MS + ((n + 1) * PER_RECORD - 1) * 1_000;
  return { sequenceNumber: sequenceNumber(n + 1), data: readings, arrivalMs: lastMs + 100 };
}

/** A new execution environment on the same table: a fresh detector, and a store saving at every batch. */
function environment(): TransformDeps {
  const detector = createDetector(parseDetectorModel(structuredClone(defaultModel)));
  return {
    ...harness.deps,
    detector,
    detectorState: new DetectorStateStore(harness.deps.documents, detector.streams, {
      tableName: TEST_CONFIG.readingsTable,
      saveIntervalMs: 0,
      ttlSeconds: 86_400,
    }),
  };
}

/** The scores written to the CSV lake for record n. */
function scoresOf(n: number): string[] {
  const key = [...harness.objects.keys()].find((k) => k.endsWith(`-${sequenceNumber(n + 1)}.csv.gz`));
  return parseCsv(harness.objects.get(key as string) as string).map((row) => String(row.anomaly_score));
}

async function run(deps: TransformDeps, records: number[]): Promise<void> {
  for (const n of records) {
    const response = await processTransformBatch(kinesisEvent([record(n)]), deps);
    expect(response.batchItemFailures).toEqual([]);
  }
}

describe('the detector state across execution environments', () => {
  test('a new environment continues from the saved state: it scores as one that never stopped', async () => {
    const records = [...Array(10).keys()];
    await run(environment(), records);
    const uninterrupted = records.map(scoresOf);

    harness.items.clear();
    harness.objects.clear();
    await run(environment(), records.slice(0, 5));
    await run(environment(), records.slice(5, 8));
    await run(environment(), records.slice(8));
    expect(records.map(scoresOf)).toEqual(uninterrupted);

    // Without the saved state, the new environment would have started learning again.
    harness.items.clear();
    harness.objects.clear();
    const forgetful = { ...environment(), detectorState: undefined };
    await run(environment(), records.slice(0, 5));
    await run(forgetful, records.slice(5));
    expect(records.slice(5).map(scoresOf)).not.toEqual(uninterrupted.slice(5));
  });

  test('the saved state is a few kilobytes, keyed by equipment', async () => {
    await run(environment(), [0, 1, 2]);
    const item = harness.items.get(`${detectorStateKey(101).pk}|${detectorStateKey(101).sk}`);
    expect(item?.last_ms).toBe(START_MS + (3 * PER_RECORD - 1) * 1_000);
    const bytes = (item?.state as Uint8Array | undefined)?.length ?? 0;
    // The adaptive half (about 1 KB a feature) and the trained regimes (8 bytes per reading they hold).
    expect(bytes).toBeGreaterThan(4_000);
    expect(bytes).toBeLessThan(4 * 1_200 + 4 * 8 * 3 * PER_RECORD + 200);
  });

  test("beside the state, what the detector holds normal per feature, for the dashboard's band", async () => {
    await run(environment(), [0, 1, 2]);
    const item = harness.items.get(`${detectorStateKey(101).pk}|${detectorStateKey(101).sk}`);
    const normal = item?.normal as Record<string, Record<string, number>>;
    expect(Object.keys(normal)).toEqual([
      'vibration_amplitude',
      'vibration_frequency',
      'temperature',
      'humidity',
    ]);
    // Past the warm-up (300 readings): a band around the temperature near 60, the trained band of
    // levels, and the threshold; numbers kept to 6 significant digits.
    const temperature = normal.temperature;
    expect(temperature.low).toBeLessThan(temperature.expected);
    expect(temperature.high).toBeGreaterThan(temperature.expected);
    expect(temperature.expected).toBeGreaterThan(57);
    expect(temperature.expected).toBeLessThan(63);
    expect(temperature.threshold).toBe(0.5);
    expect(typeof temperature.levelLow).toBe('number');
    for (const value of Object.values(temperature)) expect(Number(value.toPrecision(6))).toBe(value);
  });

  test('a retried batch does not save again, and an older environment never overwrites a newer state', async () => {
    await run(environment(), [0, 1, 2, 3, 4]);
    const uninterrupted = scoresOf(4);
    harness.items.clear();
    harness.objects.clear();

    const stale = environment();
    const current = environment();
    await run(stale, [0, 1]);
    // The current environment takes over from the stale one's save (after record 1).
    await run(current, [0, 1, 2, 3]);
    const stored = () => harness.items.get(`${detectorStateKey(101).pk}|${detectorStateKey(101).sk}`);
    expect(stored()?.last_ms).toBe(START_MS + (4 * PER_RECORD - 1) * 1_000);

    // The retry of record 3 teaches nothing new: nothing to save.
    expect((await (current.detectorState as DetectorStateStore).saveDue([101])).saved).toBe(0);

    // The stale environment learns record 2 and tries to save: refused, and it drops its copy...
    await run(stale, [2]);
    expect(stored()?.last_ms).toBe(START_MS + (4 * PER_RECORD - 1) * 1_000);
    expect(stale.detector.streams.has(101)).toBe(false);
    // ... so that it reads the newer state before its next record, and scores it as if never stopped.
    harness.objects.clear();
    await run(stale, [4]);
    expect(scoresOf(4)).toEqual(uninterrupted);
  });

  test('a state saved by another model or settings is left aside: the detector learns afresh', async () => {
    await run(environment(), [0, 1]);
    const other = createDetector(undefined);
    const store = new DetectorStateStore(harness.deps.documents, other.streams, {
      tableName: TEST_CONFIG.readingsTable,
      saveIntervalMs: 0,
      ttlSeconds: 86_400,
    });
    const outcome = await store.restoreUnseen([101]);
    expect(outcome.restored).toBe(0);
    expect(outcome.refused).toEqual([
      { equipmentId: 101, reason: expect.stringMatching(/another model or settings/) },
    ]);
    expect(other.streams.has(101)).toBe(false);
  });
});
