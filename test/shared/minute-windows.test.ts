import {
  mergeContributions,
  type WindowContribution,
  windowContributions,
} from '../../lambdas/shared/minute-windows';
import type { ProcessedReading, RecordSource } from '../../lambdas/shared/processed-reading';

const MINUTE = Date.UTC(2026, 10, 23, 19, 47, 0);
const ARRIVAL = MINUTE + 90_000;
const LATENESS = 60_000;

function source(sequenceNumber: string, arrivalMs = ARRIVAL): RecordSource {
  return { stream: 's', shardId: 'shardId-000000000000', partitionKey: '101', sequenceNumber, arrivalMs };
}

/** A scored reading at `offsetMs` from MINUTE with temperature `t` (other features fixed). */
function reading(
  src: RecordSource,
  index: number,
  offsetMs: number,
  t: number,
  equipmentId = 101,
  anomalous = false,
): ProcessedReading {
  return {
    source: src,
    index,
    reading: {
      equipmentId,
      timestampMs: MINUTE + offsetMs,
      values: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: t, humidity: 30 },
    },
    score: anomalous ? 0.9 : 0.1,
    isAnomaly: anomalous,
    anomalousFeatures: anomalous ? ['temperature'] : [],
    reasons: [],
    modelVersion: 'test',
  };
}

/** What a table holds after these writes: later writes of the same key replace earlier ones. */
function store(...writes: WindowContribution[][]): WindowContribution[] {
  const table = new Map<string, WindowContribution>();
  for (const write of writes) for (const item of write) table.set(`${item.pk}|${item.sk}`, item);
  return [...table.values()];
}

describe('per-minute windows of event time', () => {
  test('out-of-order readings land in their own minute, with count, mean, min, max and anomalies', () => {
    const a = source('1');
    // Event times out of order: minute 19:48, then 19:47, then 19:48 again, then 19:47.
    const contributions = windowContributions(
      a,
      [
        reading(a, 0, 65_000, 64),
        reading(a, 1, 10_000, 60, 101, true),
        reading(a, 2, 61_000, 66),
        reading(a, 3, 20_000, 62),
      ],
      2 * LATENESS,
      3_600,
    );
    const windows = mergeContributions(contributions);

    expect(
      windows.map((w) => [new Date(w.minuteMs).toISOString().slice(11, 16), w.count, w.anomalies]),
    ).toEqual([
      ['19:47', 2, 1],
      ['19:48', 2, 0],
    ]);
    expect(windows[0].means[2]).toBe(61);
    expect(windows[0].mins[2]).toBe(60);
    expect(windows[0].maxs[2]).toBe(62);
    expect(windows[1].means[2]).toBe(65);
  });

  test('anomalous readings are counted per feature they concern (all for one naming none), summed across records; the highest score kept', () => {
    const a = source('1');
    const b = source('2');
    const none = { ...reading(b, 1, 30_000, 61, 101, true), anomalousFeatures: [] };
    const merged = mergeContributions(
      store(
        windowContributions(
          a,
          [reading(a, 0, 10_000, 60, 101, true), reading(a, 1, 20_000, 60)],
          2 * LATENESS,
          3_600,
        ),
        windowContributions(b, [reading(b, 0, 25_000, 90, 101, true), none], 2 * LATENESS, 3_600),
        // A window without anomalies counts none, and writes no per-feature counts.
        windowContributions(source('3'), [reading(source('3'), 0, 40_000, 60, 102)], 2 * LATENESS, 3_600),
      ),
    );
    const byEquipment = Object.fromEntries(merged.map((w) => [w.equipmentId, w]));
    expect(byEquipment[101]).toMatchObject({ anomalies: 3, flagged: [1, 1, 3, 1], maxScore: 0.9 });
    expect(byEquipment[102].maxScore).toBe(0.1);
    expect(byEquipment[102].anomalies).toBe(0);
    expect(byEquipment[102].flagged).toBeUndefined();
    // A late anomalous reading is counted late only.
    const late = windowContributions(a, [reading(a, 0, -200_000, 60, 101, true)], LATENESS, 3_600);
    expect(late[0]).toMatchObject({ late: 1, anomalies: 0 });
    expect(late[0].flagged).toBeUndefined();
    expect(late[0].max_score).toBeUndefined();
  });

  test('readings later than the lateness are counted as late, not in the statistics, never dropped', () => {
    const a = source('1');
    // Arrival is 19:48:30; with 60 s of lateness, readings before 19:47:30 are late.
    const windows = mergeContributions(
      windowContributions(
        a,
        [reading(a, 0, 5_000, 90), reading(a, 1, 40_000, 60), reading(a, 2, 25_000, 95)],
        LATENESS,
        3_600,
      ),
    );

    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ count: 1, late: 2 });
    expect(windows[0].maxs[2]).toBe(60);
  });

  test('a window of late readings only is kept, with its late count', () => {
    const a = source('1');
    const windows = mergeContributions(windowContributions(a, [reading(a, 0, 1_000, 60)], LATENESS, 3_600));

    expect(windows).toEqual([expect.objectContaining({ count: 0, late: 1, anomalies: 0 })]);
    expect(Number.isNaN(windows[0].means[0])).toBe(true);
  });

  test('records of one window add up, and each equipment has its own window', () => {
    const a = source('1');
    const b = source('2');
    const windows = mergeContributions(
      store(
        windowContributions(a, [reading(a, 0, 40_000, 60), reading(a, 1, 41_000, 61, 102)], LATENESS, 3_600),
        windowContributions(b, [reading(b, 0, 50_000, 70)], LATENESS, 3_600),
      ),
    );

    expect(windows.map((w) => [w.equipmentId, w.count, w.means[2]])).toEqual([
      [101, 2, 65],
      [102, 1, 61],
    ]);
  });

  test('a retried record, in the same batch or a bisected one, replaces its contribution: nothing counts twice', () => {
    const a = source('1');
    const b = source('2');
    const first = windowContributions(
      a,
      [reading(a, 0, 40_000, 60), reading(a, 1, 45_000, 62)],
      LATENESS,
      3_600,
    );
    const second = windowContributions(b, [reading(b, 0, 50_000, 64)], LATENESS, 3_600);
    const once = mergeContributions(store(first, second));
    // The batch [a, b] failed after its writes; Lambda retried a alone, then b alone.
    const retried = mergeContributions(
      store(
        first,
        second,
        windowContributions(a, [reading(a, 0, 40_000, 60), reading(a, 1, 45_000, 62)], LATENESS, 3_600),
        windowContributions(b, [reading(b, 0, 50_000, 64)], LATENESS, 3_600),
      ),
    );

    expect(retried).toEqual(once);
    expect(once[0].count).toBe(3);
  });
});
