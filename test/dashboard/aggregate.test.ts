import { performance } from 'node:perf_hooks';
import { binSizeFor, MAX_BINS, type SnapshotInput, toSnapshot } from '../../dashboard/aggregate';
import type { AlertSummary } from '../../dashboard/snapshot';
import { LIST_SEPARATOR } from '../../lambdas/shared/processed-reading';
import { LAB_SCHEMA } from '../../lambdas/shared/reading-schema';
import { hotReading, POWER_METER_SCHEMA, readingRow, SKAB_SCHEMA, schemaRow, typicalValues } from './rows';

const T0 = Date.UTC(2026, 10, 23, 19, 47, 0);
const WINDOW = { fromMs: T0, toMs: T0 + 180_000 };

function snapshotOf(rows: SnapshotInput['rows'], extra: Partial<SnapshotInput> = {}) {
  return toSnapshot({ target: 'local', rows, window: WINDOW, alerts: [], counters: [], ...extra });
}

describe('toSnapshot', () => {
  test('bins readings by second, with the mean of each feature and the count per bin', () => {
    const snapshot = snapshotOf([
      readingRow(101, T0 + 100, { temperature: 60 }),
      readingRow(101, T0 + 900, { temperature: 62, humidity: 31 }),
      readingRow(101, T0 + 1_500, { temperature: 70 }),
    ]);

    expect(snapshot.binMs).toBe(1_000);
    expect(snapshot.equipment).toHaveLength(1);
    expect(snapshot.equipment[0].bins).toEqual([
      {
        t: T0,
        count: 2,
        anomalies: 0,
        maxScore: 0.1,
        means: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 61, humidity: 30.5 },
      },
      {
        t: T0 + 1_000,
        count: 1,
        anomalies: 0,
        maxScore: 0.1,
        means: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 70, humidity: 30 },
      },
    ]);
  });

  test('reads reading times to the millisecond, in any ISO form', () => {
    const snapshot = snapshotOf([
      readingRow(101, 0, { timestamp: '2026-11-23T19:47:59.999Z', anomaly_score: 0.9, is_anomaly: true }),
      readingRow(101, 0, { timestamp: '2026-11-23T19:48:00.007Z', anomaly_score: 0.9, is_anomaly: true }),
      readingRow(101, 0, { timestamp: '2026-11-23T20:48:01+01:00', anomaly_score: 0.9, is_anomaly: true }),
    ]);

    expect(snapshot.equipment[0].bins.map((bin) => bin.top?.t)).toEqual([
      Date.UTC(2026, 10, 23, 19, 47, 59, 999),
      Date.UTC(2026, 10, 23, 19, 48, 0, 7),
      Date.UTC(2026, 10, 23, 19, 48, 1),
    ]);
    expect(snapshot.equipment[0].bins.map((bin) => bin.t)).toEqual([
      Date.UTC(2026, 10, 23, 19, 47, 59),
      Date.UTC(2026, 10, 23, 19, 48, 0),
      Date.UTC(2026, 10, 23, 19, 48, 1),
    ]);
  });

  test('a 3-minute window gets 1 s bins; longer windows wider bins, never more than MAX_BINS', () => {
    expect(binSizeFor(180_000)).toBe(1_000);
    expect(binSizeFor(360_000)).toBe(1_000);
    expect(binSizeFor(600_000)).toBe(2_000);
    expect(binSizeFor(3_600_000)).toBe(10_000);
    for (const windowMs of [60_000, 180_000, 600_000, 3_600_000, 86_400_000])
      expect(windowMs / binSizeFor(windowMs)).toBeLessThanOrEqual(MAX_BINS);

    const everySecond = Array.from({ length: 181 }, (_, i) => readingRow(101, T0 + i * 1_000 + 3));
    expect(snapshotOf(everySecond).equipment[0].bins).toHaveLength(181);
    expect(snapshotOf(everySecond, { binMs: 10_000 }).equipment[0].bins).toHaveLength(19);
  });

  test('every bin with anomalous readings says how many concern each feature and its top reasons, however many', () => {
    const rows = Array.from({ length: 400 }, (_, i) => hotReading(101, T0 + i * 250, 78));
    rows.push(
      readingRow(101, T0 + 150_100, { anomaly_score: 0.8, is_anomaly: true, reasons: 'odd' }),
      readingRow(101, T0 + 150_200, {
        anomaly_score: 0.9,
        is_anomaly: true,
        anomalous_features: ['humidity', 'temperature'].join(LIST_SEPARATOR),
        reasons: 'humid and hot',
      }),
    );
    const [series] = snapshotOf(rows).equipment;
    const marked = series.bins.filter((bin) => (bin.anomalousFeatures?.temperature ?? 0) > 0);
    // 100 s of the plateau, and the bin at 150 s whose readings concern the temperature too.
    expect(marked).toHaveLength(101);
    expect(marked[0]).toMatchObject({
      anomalousFeatures: { temperature: 4 },
      top: { t: T0, score: 0.97, reasons: 'temperature +30% over baseline' },
    });
    // One naming no feature counts for every feature; the top is the highest score.
    expect(series.bins.at(-1)).toMatchObject({
      anomalousFeatures: { vibration_amplitude: 1, vibration_frequency: 1, temperature: 2, humidity: 2 },
      top: { score: 0.9, reasons: 'humid and hot' },
    });
  });

  test('counts anomalies and keeps the highest score per bin, and its most anomalous reading', () => {
    const snapshot = snapshotOf([
      readingRow(101, T0 + 10, { anomaly_score: 0.2 }),
      hotReading(101, T0 + 20, 90),
      readingRow(101, T0 + 30, { anomaly_score: 0.3 }),
    ]);

    const [series] = snapshot.equipment;
    expect(series).toMatchObject({ readings: 3, anomalies: 1 });
    expect(series.bins[0]).toMatchObject({ count: 3, anomalies: 1, maxScore: 0.97 });
    expect(series.bins[0]).toMatchObject({
      anomalousFeatures: { temperature: 1 },
      top: { t: T0 + 20, score: 0.97, reasons: 'temperature +50% over baseline' },
    });
  });

  test('holds no reading: a storm of anomalous readings is counted in its bins', () => {
    const count = 907;
    const rows = Array.from({ length: count }, (_, i) => hotReading(101, T0 + i * 10));

    const snapshot = snapshotOf(rows);
    const [series] = snapshot.equipment;

    expect(series.anomalies).toBe(count);
    expect(series.bins.reduce((sum, bin) => sum + (bin.anomalousFeatures?.temperature ?? 0), 0)).toBe(count);
    expect(Object.keys(series)).toEqual(['equipmentId', 'readings', 'anomalies', 'bins']);
  });

  test('keeps equipment apart, sorted by id, whatever the order of the rows', () => {
    const snapshot = snapshotOf([
      readingRow(103, T0 + 2_000, { humidity: 40 }),
      readingRow(101, T0 + 1_000, { humidity: 20 }),
      hotReading(102, T0 + 1_500),
      readingRow(101, T0, { humidity: 22 }),
    ]);

    expect(snapshot.equipment.map((s) => [s.equipmentId, s.readings, s.anomalies])).toEqual([
      [101, 2, 0],
      [102, 1, 1],
      [103, 1, 0],
    ]);
    expect(snapshot.equipment[0].bins.map((bin) => [bin.t, bin.means.humidity])).toEqual([
      [T0, 22],
      [T0 + 1_000, 20],
    ]);
    expect(snapshot.equipment[0].bins.some((bin) => bin.top)).toBe(false);
    expect(snapshot.equipment[1].bins.filter((bin) => bin.top)).toHaveLength(1);
  });

  test('an empty window gives no equipment, and passes alerts and counters through', () => {
    const alert: AlertSummary = {
      startedMs: T0,
      equipmentId: 101,
      subject: 'Anomaly on equipment 101: temperature +52% over baseline',
      severity: 'high',
      features: ['temperature'],
      episodeId: `101-${T0}`,
    };
    const counters = [{ name: 'readings in window', value: 0 }];

    const snapshot = toSnapshot({
      target: 'aws',
      rows: [],
      window: null,
      alerts: [alert],
      counters,
      generatedAtMs: T0,
    });

    expect(snapshot).toEqual({
      target: 'aws',
      generatedAt: new Date(T0).toISOString(),
      schema: 'lab@1',
      features: [
        { name: 'vibration_amplitude', label: 'vibration amplitude', unit: '' },
        { name: 'vibration_frequency', label: 'vibration frequency', unit: 'Hz' },
        { name: 'temperature', label: 'temperature', unit: '°C' },
        { name: 'humidity', label: 'humidity', unit: '%' },
      ],
      window: null,
      binMs: 1_000,
      equipment: [],
      alerts: [alert],
      counters,
    });
  });

  test('aggregates 500,000 readings in well under a second', () => {
    const equipmentIds = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110];
    const rows = Array.from({ length: 500_000 }, (_, i) => {
      const equipmentId = equipmentIds[i % equipmentIds.length];
      const timeMs = T0 + Math.floor((i * 180_000) / 500_000);
      return i % 97 === 0 ? hotReading(equipmentId, timeMs) : readingRow(equipmentId, timeMs);
    });

    const started = performance.now();
    const snapshot = snapshotOf(rows);
    const elapsedMs = performance.now() - started;
    console.log(`toSnapshot: 500,000 readings of 10 equipment in ${elapsedMs.toFixed(0)} ms`);

    expect(elapsedMs).toBeLessThan(1_000);
    expect(snapshot.equipment).toHaveLength(10);
    for (const series of snapshot.equipment) {
      expect(series.readings).toBe(50_000);
      expect(series.bins.length).toBeLessThanOrEqual(181);
      expect(series.bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(50_000);
      expect(series.bins.reduce((sum, bin) => sum + bin.anomalies, 0)).toBe(series.anomalies);
    }
  });

  test('another schema: its features with labels and units, string equipment ids in order, its anomalous features', () => {
    const normal = typicalValues(SKAB_SCHEMA);
    const snapshot = snapshotOf(
      [
        schemaRow('pump-2', T0 + 100, normal),
        schemaRow('pump-10', T0 + 200, normal),
        schemaRow('pump-1', T0 + 300, { ...normal, current: 2 }),
        schemaRow('pump-1', T0 + 400, { ...normal, current: 3 }),
        schemaRow(
          'pump-1',
          T0 + 500,
          { ...normal, temperature: 120, thermocouple: 60 },
          {
            anomaly_score: 0.99,
            is_anomaly: true,
            anomalous_features: `temperature${LIST_SEPARATOR}thermocouple`,
            reasons: 'motor temperature over its limit 110 °C',
          },
        ),
      ],
      { schema: SKAB_SCHEMA },
    );

    expect(snapshot.schema).toBe('skab-pump@1');
    expect(snapshot.features).toHaveLength(8);
    expect(snapshot.features.slice(0, 3)).toEqual([
      { name: 'accelerometer_1_rms', label: 'accelerometer 1 RMS', unit: 'g' },
      { name: 'accelerometer_2_rms', label: 'accelerometer 2 RMS', unit: 'g' },
      { name: 'current', label: 'motor current', unit: 'A' },
    ]);
    expect(snapshot.undeclaredFeatures).toBeUndefined();
    expect(snapshot.equipment.map((s) => s.equipmentId)).toEqual(['pump-1', 'pump-10', 'pump-2']);
    const [pump1] = snapshot.equipment;
    expect(Object.keys(pump1.bins[0].means)).toEqual(SKAB_SCHEMA.featureNames);
    expect(pump1.bins[0]).toMatchObject({ count: 3, anomalies: 1 });
    expect(pump1.bins[0].means.current).toBe(2.467); // (2 + 3 + 2.4) / 3
    expect(pump1.bins[0]).toMatchObject({
      anomalousFeatures: { temperature: 1, thermocouple: 1 },
      top: { t: T0 + 500, score: 0.99, reasons: 'motor temperature over its limit 110 °C' },
    });
  });

  test('an optional feature left out: its mean is over the readings that had it, null in a bin without it', () => {
    const normal = typicalValues(POWER_METER_SCHEMA);
    const snapshot = snapshotOf(
      [
        schemaRow('feeder-01', T0 + 100, { ...normal, frequency_hz: 50.02 }),
        schemaRow('feeder-01', T0 + 600, { ...normal, frequency_hz: Number.NaN }),
        schemaRow('feeder-01', T0 + 1_100, { ...normal, frequency_hz: Number.NaN, power_kw: 330 }),
        schemaRow('feeder-01', T0 + 1_600, { ...normal, frequency_hz: Number.NaN, power_kw: 310 }),
        schemaRow(
          'feeder-01',
          T0 + 1_700,
          { ...normal, frequency_hz: Number.NaN, voltage_v: 470 },
          { anomaly_score: 0.9, is_anomaly: true, anomalous_features: 'voltage_v' },
        ),
      ],
      { schema: POWER_METER_SCHEMA },
    );

    const [feeder] = snapshot.equipment;
    expect(feeder.bins.map((bin) => [bin.count, bin.means.frequency_hz, bin.means.power_kw])).toEqual([
      [2, 50.02, 320],
      [3, null, 320],
    ]);
    expect(feeder.bins[1].anomalousFeatures).toEqual({ voltage_v: 1 });
    // NaN never reaches the JSON the page reads.
    expect(JSON.stringify(snapshot)).not.toContain('NaN');
  });

  test("readings of another schema than the dashboard's: their features are named, the schema's charted empty", () => {
    const snapshot = snapshotOf([schemaRow('pump-1', T0 + 100, typicalValues(SKAB_SCHEMA))], {
      schema: LAB_SCHEMA,
    });

    // Both have a temperature; the pump's other seven features are not the lab's.
    expect(snapshot.undeclaredFeatures).toEqual(
      SKAB_SCHEMA.featureNames.filter((name) => name !== 'temperature').sort(),
    );
    expect(snapshot.equipment[0].bins[0].means).toEqual({
      vibration_amplitude: null,
      vibration_frequency: null,
      temperature: 89.5,
      humidity: null,
    });
  });
});
