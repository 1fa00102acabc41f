import { gzipSync } from 'node:zlib';
import { FEATURES } from '../../lambdas/shared/features';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { createLabGenerator } from '../../simulator/generator';
import { parseCsv } from '../fixtures/csv';
import { kinesisEvent, labReading, sequenceNumber, type TestRecord } from '../fixtures/kinesis-event';
import { transformHarness } from '../fixtures/transform-harness';
import { athenaInDuckDb, sqlText, toDuckDb } from './athena-in-duckdb';

/**
 * The views and reference queries of sql/, run in DuckDB (athena-in-duckdb.ts says what is translated)
 * over the CSV objects the transform writes for hand-made batches, and over GZIP objects written the
 * way Firehose writes the raw archive.
 */

const at = (day: number, hour: number, minute: number, second = 0, ms = 0) =>
  Date.UTC(2026, 10, day, hour, minute, second, ms);

/** A reading of the lab's shape at this time; temperature 95 makes it anomalous. */
interface Sent {
  equipment: number;
  timeMs: number;
  hot?: boolean;
}

let sequence = 0;
/** One Kinesis record: one reading, or an array of them (in the order given, out of time order on purpose). */
function record(arrivalMs: number, readings: Sent[]): TestRecord & { readings: Sent[] } {
  const data = readings.map(({ equipment, timeMs, hot }) =>
    labReading(equipment, timeMs, {
      temperature: hot ? 95 : 60 + (timeMs % 7) / 10,
      humidity: 29 + (timeMs % 11) / 10,
    }),
  );
  return {
    sequenceNumber: sequenceNumber(++sequence),
    partitionKey: String(readings[0].equipment),
    arrivalMs,
    data: data.length === 1 ? data[0] : data,
    readings,
  };
}

type CsvRow = Record<string, string>;

/** Runs the batches through the transform, in order, and returns the CSV objects it wrote. */
async function transformOutput(batches: TestRecord[][]): Promise<Map<string, string>> {
  const harness = transformHarness();
  try {
    for (const batch of batches) await processTransformBatch(kinesisEvent(batch), harness.deps);
  } finally {
    harness.restore();
  }
  return harness.objects;
}

/** Every CSV row, one per reading (the copies a retry left are dropped, as the readings view does), with its partition. */
function csvReadings(objects: Map<string, string>): CsvRow[] {
  const rows = new Map<string, CsvRow>();
  for (const [key, body] of [...objects].sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith('readings/')) continue;
    const [, dt, hour] = /dt=([^/]+)\/hour=(\d\d)\//.exec(key) ?? [];
    for (const row of parseCsv(body)) {
      const id = `${row.shard_id}|${row.sequence_number}|${row.reading_index}`;
      if (!rows.has(id)) rows.set(id, { ...row, dt, hour });
    }
  }
  return [...rows.values()];
}

const num = (value: unknown) => Number(value);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

// The lake of these tests. "Now" is 2026-11-23 20:01:00 UTC: the current arrival hour is 20, the
// previous one 19. Each batch is one CSV object, filed under its first record's arrival hour.
const NOW = at(23, 20, 1);
const r1 = record(at(23, 19, 58), [
  { equipment: 101, timeMs: at(23, 19, 57, 50) },
  { equipment: 101, timeMs: at(23, 19, 55, 10) },
  { equipment: 101, timeMs: at(23, 19, 56, 30) },
]);
const r2 = record(at(23, 19, 58), [{ equipment: 102, timeMs: at(23, 19, 57, 55), hot: true }]);
/** 18 minutes late: in its own minute for batch SQL. */
const r3 = record(at(23, 19, 58), [{ equipment: 101, timeMs: at(23, 19, 40) }]);
const r4 = record(at(23, 19, 58), [{ equipment: 102, timeMs: at(23, 19, 57) }]);
const r5 = record(at(23, 20, 0, 40), [
  { equipment: 101, timeMs: at(23, 20, 0, 35) },
  { equipment: 101, timeMs: at(23, 20, 0, 5) },
  { equipment: 101, timeMs: at(23, 19, 59, 59, 500) },
]);
const r6 = record(at(23, 20, 0, 40), [
  { equipment: 103, timeMs: at(23, 20, 0, 30) },
  { equipment: 103, timeMs: at(23, 20, 0, 31) },
]);
const r7 = record(at(23, 18, 30), [{ equipment: 101, timeMs: at(23, 18, 29) }]);
// A batch whose first record waited: the second one arrived at 20:00:20, but the object is filed under 18.
const r8 = record(at(23, 18, 59), [{ equipment: 103, timeMs: at(23, 18, 58, 50) }]);
const r9 = record(at(23, 20, 0, 20), [{ equipment: 103, timeMs: at(23, 20, 0, 10) }]);
const r10 = record(at(22, 19, 30), [{ equipment: 101, timeMs: at(22, 19, 29) }]);
const r11 = record(at(22, 20, 30), [{ equipment: 102, timeMs: at(22, 20, 29), hot: true }]);
const BATCHES = [[r10], [r11], [r7], [r8, r9], [r1, r2, r3, r4], [r5, r6], /* bisected retry: */ [r6]];
const ALL = BATCHES.slice(0, -1).flat();

describe('the views and reference queries of sql/ over the CSV lake', () => {
  let lake: Awaited<ReturnType<typeof athenaInDuckDb>>;
  let objects: Map<string, string>;
  let rows: CsvRow[];

  beforeAll(async () => {
    objects = await transformOutput(BATCHES);
    rows = csvReadings(objects);
    lake = await athenaInDuckDb({ processed: objects, nowMs: NOW });
    for (const view of ['readings', 'streamdata_view', 'streamdata_last3_view', 'readings_per_minute'])
      await lake.runFile(`${view}.sql`);
  });
  afterAll(() => lake?.close());

  test('the transform wrote every reading, one object per batch, one of them twice (the retry)', () => {
    expect(rows).toHaveLength(ALL.reduce((n, r) => n + r.readings.length, 0));
    expect([...objects.keys()].filter((k) => k.startsWith('readings/'))).toHaveLength(BATCHES.length);
    // Not vacuous: the anomaly columns below count something.
    expect(rows.filter((row) => row.is_anomaly === 'true').length).toBeGreaterThan(0);
  });

  test("streamdata_view: one row per reading under the lab's twelve columns, each mapped from its CSV column", async () => {
    const view = await lake.rows(
      `SELECT *, epoch_ms("BATCH_TIMESTAMP") AS batch_ms, epoch_ms("TIMESTAMP") AS time_ms FROM streamdata_view`,
    );
    const columns = (
      await lake.connection.runAndReadAll('SELECT * FROM streamdata_view LIMIT 0')
    ).columnNames();
    expect(columns).toEqual([
      'STREAM',
      'KEY',
      'PARTITION',
      'OFFSET',
      'BATCH_TIMESTAMP',
      'TIMESTAMP',
      'EQUIPMENT_ID',
      'VIBRATION_AMPLITUDE',
      'VIBRATION_FREQUENCY',
      'TEMPERATURE',
      'HUMIDITY',
      'INFERENCE',
    ]);
    const byOffset = new Map(view.map((row) => [row.OFFSET, row]));
    expect(byOffset.size).toBe(rows.length);
    for (const row of rows) {
      expect(byOffset.get(`${row.sequence_number}:${row.reading_index}`)).toMatchObject({
        STREAM: row.stream,
        KEY: row.partition_key,
        PARTITION: row.shard_id,
        batch_ms: String(Date.parse(row.arrival_time)),
        time_ms: String(Date.parse(row.timestamp)),
        EQUIPMENT_ID: num(row.equipment_id),
        VIBRATION_AMPLITUDE: num(row.vibration_amplitude),
        VIBRATION_FREQUENCY: num(row.vibration_frequency),
        TEMPERATURE: num(row.temperature),
        HUMIDITY: num(row.humidity),
        INFERENCE: row.is_anomaly === 'true' ? 1 : 0,
      });
    }
  });

  test('streamdata_last3_view: the 3 minutes up to the newest reading of the current and previous arrival hours, each reading once', async () => {
    const last3 = await lake.rows(
      'SELECT "OFFSET", "EQUIPMENT_ID", epoch_ms("TIMESTAMP") AS time_ms FROM streamdata_last3_view ORDER BY 3, 1',
    );
    // Newest in hours 19 and 20: 20:00:35 (r5), so the window is [19:57:35, 20:00:35]. r9 (20:00:10) is in
    // it by time but filed under hour 18, which the view does not read: the price of not scanning the lake.
    const expected = [
      [r1, 0],
      [r2, 0],
      [r5, 2],
      [r5, 1],
      [r6, 0],
      [r6, 1],
      [r5, 0],
    ] as const;
    expect(last3).toEqual(
      expected.map(([r, index]) => ({
        OFFSET: `${r.sequenceNumber}:${index}`,
        EQUIPMENT_ID: r.readings[index].equipment,
        time_ms: String(r.readings[index].timeMs),
      })),
    );
    const columns = async (view: string) =>
      (await lake.connection.runAndReadAll(`SELECT * FROM ${view} LIMIT 0`)).columnNames();
    expect(await columns('streamdata_last3_view')).toEqual(await columns('streamdata_view'));
    // The same rows as streamdata_view gives for them.
    const same = await lake.rows(
      'SELECT count(*) AS n FROM streamdata_last3_view l JOIN streamdata_view v USING ("OFFSET", "STREAM", "KEY", "PARTITION", "BATCH_TIMESTAMP", "TIMESTAMP", "EQUIPMENT_ID", "VIBRATION_AMPLITUDE", "VIBRATION_FREQUENCY", "TEMPERATURE", "HUMIDITY", "INFERENCE")',
    );
    expect(same).toEqual([{ n: String(expected.length) }]);
  });

  test('streamdata_last3_view across midnight reads 23 of the day before and 00 of the day, not 00 of the day before', async () => {
    // A batch filed under 2026-11-23 hour 00 whose second record arrived just now (2026-11-24 00:00:25):
    // only a read of that hour's partition would show it.
    const old = record(at(23, 0, 30), [{ equipment: 101, timeMs: at(23, 0, 29) }]);
    const late = record(at(24, 0, 0, 25), [{ equipment: 101, timeMs: at(24, 0, 0, 22) }]);
    const before = record(at(23, 23, 59), [{ equipment: 102, timeMs: at(23, 23, 58, 50) }]);
    const after = record(at(24, 0, 0, 30), [{ equipment: 103, timeMs: at(24, 0, 0, 20) }]);
    const midnight = await athenaInDuckDb({
      processed: await transformOutput([[old, late], [before], [after]]),
      nowMs: at(24, 0, 1),
    });
    try {
      await midnight.runFile('streamdata_last3_view.sql');
      expect(await midnight.rows('SELECT "OFFSET" FROM streamdata_last3_view ORDER BY "TIMESTAMP"')).toEqual([
        { OFFSET: `${before.sequenceNumber}:0` },
        { OFFSET: `${after.sequenceNumber}:0` },
      ]);
    } finally {
      midnight.close();
    }
  });

  test('readings_per_minute: per equipment and minute of event time, out-of-order and late readings in their own minute, a retried reading once', async () => {
    const view = await lake.rows(
      'SELECT *, epoch_ms(window_start) AS start_ms, epoch_ms(window_end) AS end_ms FROM readings_per_minute',
    );
    // Expected from what was sent, not from what the transform wrote (the anomalies excepted: the model's).
    const windows = new Map<string, Sent[]>();
    for (const sent of ALL.flatMap((r) => r.readings)) {
      const key = `${sent.equipment}|${Math.floor(sent.timeMs / 60_000) * 60_000}`;
      windows.set(key, [...(windows.get(key) ?? []), sent]);
    }
    expect(view).toHaveLength(windows.size);
    const sentValues = new Map(
      ALL.flatMap(
        (r) => (Array.isArray(r.data) ? r.data : [r.data]) as Record<string, number | string>[],
      ).map((reading) => [`${reading.equipment_id}|${Date.parse(`${reading.timestamp}Z`)}`, reading]),
    );
    for (const [key, readings] of windows) {
      const [equipment, startMs] = key.split('|').map(Number);
      const row = view.find((r) => r.equipment_id === equipment && num(r.start_ms) === startMs);
      expect(row).toBeDefined();
      expect(num(row?.end_ms)).toBe(startMs + 60_000);
      expect(num(row?.readings)).toBe(readings.length);
      const anomalies = rows.filter(
        (r) =>
          num(r.equipment_id) === equipment &&
          Math.floor(Date.parse(r.timestamp) / 60_000) * 60_000 === startMs &&
          r.is_anomaly === 'true',
      ).length;
      expect(num(row?.anomalies)).toBe(anomalies);
      for (const feature of FEATURES) {
        const values = readings.map((s) => Number(sentValues.get(`${s.equipment}|${s.timeMs}`)?.[feature]));
        expect(row?.[`avg_${feature}`]).toBeCloseTo(mean(values), 9);
        expect(row?.[`min_${feature}`]).toBe(Math.min(...values));
        expect(row?.[`max_${feature}`]).toBe(Math.max(...values));
      }
    }
    // The hand-made disorder is there: 101's 19:57 minute holds a reading sent before two older ones,
    // the late reading (19:40, arrived 19:58) has its own minute, and r6's retried readings count once.
    expect(view.find((r) => r.equipment_id === 101 && num(r.start_ms) === at(23, 19, 40))?.readings).toBe(
      '1',
    );
    expect(view.find((r) => r.equipment_id === 103 && num(r.start_ms) === at(23, 20, 0))?.readings).toBe('3');
  });

  describe('reference queries: the readings that arrived in the last 24 hours (hourly partitions from 2026-11-22 20)', () => {
    const recent = () =>
      rows
        .filter((row) => `${row.dt}-${row.hour}` >= '2026-11-22-20')
        .sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    const byEquipment = () => {
      const groups = new Map<number, CsvRow[]>();
      for (const row of recent())
        groups.set(num(row.equipment_id), [...(groups.get(num(row.equipment_id)) ?? []), row]);
      return [...groups].sort(([a], [b]) => a - b);
    };

    test('the 24-hour filter keeps 2026-11-22 hour 20 and drops hour 19', () => {
      expect(recent().some((row) => row.sequence_number === r11.sequenceNumber)).toBe(true);
      expect(recent().some((row) => row.sequence_number === r10.sequenceNumber)).toBe(false);
    });

    test('query_counts: readings, anomalies, first and last reading per equipment', async () => {
      const result = await lake.rows(
        `SELECT equipment_id, readings, anomalies, epoch_ms(first_reading) AS first_ms, epoch_ms(last_reading) AS last_ms FROM (${toDuckDb(sqlText('query_counts.sql'), NOW)})`,
      );
      expect(result).toEqual(
        byEquipment().map(([equipment, group]) => ({
          equipment_id: equipment,
          readings: String(group.length),
          anomalies: String(group.filter((row) => row.is_anomaly === 'true').length),
          first_ms: String(Date.parse(group[0].timestamp)),
          last_ms: String(Date.parse(group[group.length - 1].timestamp)),
        })),
      );
    });

    test('query_averages_per_equipment: the mean of each feature and of the score, over all and over the normal readings', async () => {
      const result = await lake.runFile('query_averages_per_equipment.sql');
      const expected = byEquipment();
      expect(result.map((row) => row.equipment_id)).toEqual(expected.map(([equipment]) => equipment));
      for (const [i, [, group]] of expected.entries()) {
        const normal = group.filter((row) => row.is_anomaly === 'false');
        expect(result[i].readings).toBe(String(group.length));
        expect(result[i].avg_anomaly_score).toBeCloseTo(mean(group.map((row) => num(row.anomaly_score))), 9);
        for (const feature of FEATURES) {
          expect(result[i][`avg_${feature}`]).toBeCloseTo(mean(group.map((row) => num(row[feature]))), 9);
          if (normal.length === 0) expect(result[i][`normal_avg_${feature}`]).toBeNull();
          else
            expect(result[i][`normal_avg_${feature}`]).toBeCloseTo(
              mean(normal.map((row) => num(row[feature]))),
              9,
            );
        }
      }
    });

    test('query_anomaly_rate_per_hour: readings, anomalies and their ratio per hour of reading time and equipment', async () => {
      const result = await lake.rows(
        `SELECT epoch_ms(reading_hour) AS hour_ms, equipment_id, readings, anomalies, anomaly_rate FROM (${toDuckDb(sqlText('query_anomaly_rate_per_hour.sql'), NOW)})`,
      );
      const groups = new Map<string, CsvRow[]>();
      for (const row of recent()) {
        const key = `${Math.floor(Date.parse(row.timestamp) / 3_600_000) * 3_600_000}|${row.equipment_id}`;
        groups.set(key, [...(groups.get(key) ?? []), row]);
      }
      const expected = [...groups]
        .map(([key, group]) => {
          const [hourMs, equipment] = key.split('|').map(Number);
          const anomalies = group.filter((row) => row.is_anomaly === 'true').length;
          return {
            hour_ms: String(hourMs),
            equipment_id: equipment,
            readings: String(group.length),
            anomalies: String(anomalies),
            anomaly_rate: anomalies / group.length,
          };
        })
        .sort((a, b) => num(a.hour_ms) - num(b.hour_ms) || a.equipment_id - b.equipment_id);
      expect(result).toEqual(expected);
      expect(expected.some((row) => row.anomaly_rate > 0)).toBe(true);
    });
  });
});

describe('the raw archive: raw_archive and raw_readings over GZIP objects written as Firehose writes them', () => {
  test('a line holding an array gives one row per reading, a line holding one reading one row, a line that is not JSON none', async () => {
    const generator = createLabGenerator({ seed: 7, burstSize: 20 });
    const bursts = generator.nextStep(at(23, 19, 47), 1000).bursts;
    const single = labReading(101, at(23, 19, 47, 5));
    const numericString = { ...labReading(104, at(23, 19, 47, 6)), vibration_amplitude: '251.3' };
    const lines = [
      ...bursts.map((burst) => burst.json),
      JSON.stringify(single),
      'not json at all',
      JSON.stringify([labReading(103, at(23, 20, 0, 1)), numericString]),
    ];
    // Firehose appends a newline to each record and GZIPs the buffer into one object per flush.
    const gz = (records: string[]) => gzipSync(Buffer.from(records.map((data) => `${data}\n`).join('')));
    const raw = new Map([
      ['raw/dt=2026-11-23/hour=19/sensor-readings-archive-1-2026-11-23-19-47-10-a.gz', gz(lines.slice(0, 5))],
      ['raw/dt=2026-11-23/hour=20/sensor-readings-archive-1-2026-11-23-20-00-10-b.gz', gz(lines.slice(5))],
    ]);
    const db = await athenaInDuckDb({ raw });
    try {
      await db.runFile('raw_readings.sql');
      expect(await db.rows('SELECT count(*) AS n FROM raw_archive')).toEqual([{ n: String(lines.length) }]);
      const view = await db.rows('SELECT * FROM raw_readings ORDER BY dt, hour, "timestamp", reading_index');
      const sent = lines.flatMap((line) => {
        try {
          const parsed = JSON.parse(line);
          return Array.isArray(parsed)
            ? parsed.map((reading, index) => ({ reading, index }))
            : [{ reading: parsed, index: 0 }];
        } catch {
          return [];
        }
      });
      expect(view).toHaveLength(60 + 1 + 2);
      // Each reading's JSON text is the reading sent, at its position in its record.
      const key = ({ reading, index }: { reading: unknown; index: number }) =>
        `${index}|${JSON.stringify(reading)}`;
      expect(
        view
          .map((row) => key({ reading: JSON.parse(String(row.reading)), index: num(row.reading_index) }))
          .sort(),
      ).toEqual(sent.map(key).sort());
      // The columns are the reading's fields, numbers as numbers (a number sent as a string converted).
      for (const row of view) {
        const reading = JSON.parse(String(row.reading));
        expect(row).toMatchObject({
          timestamp: reading.timestamp,
          equipment_id: reading.equipment_id,
          vibration_amplitude: Number(reading.vibration_amplitude),
          vibration_frequency: reading.vibration_frequency,
          temperature: reading.temperature,
          humidity: reading.humidity,
        });
      }
      expect(view.filter((row) => row.dt === '2026-11-23' && row.hour === '20')).toHaveLength(2);
      expect(
        view.find((row) => row.equipment_id === 101 && row.timestamp === single.timestamp),
      ).toMatchObject({
        reading_index: 0,
      });
      expect(view.find((row) => row.equipment_id === 104)).toMatchObject({
        reading_index: 1,
        vibration_amplitude: 251.3,
      });

      // The same readings as the transform put in the CSV lake for these records (the quarantined one aside).
      const records: TestRecord[] = lines.map((line, i) => ({
        sequenceNumber: sequenceNumber(1000 + i),
        data: Buffer.from(line),
        arrivalMs: at(23, 20, 0, 2),
      }));
      const csv = csvReadings(await transformOutput([records]));
      const tuple = (r: Record<string, unknown>) =>
        [r.equipment_id, ...FEATURES.map((f) => r[f]), r.reading_index].map(Number).join('|');
      expect(csv).toHaveLength(view.length - 1);
      expect(csv.map(tuple).sort()).toEqual(
        view
          .filter((row) => row.equipment_id !== 104)
          .map(tuple)
          .sort(),
      );
    } finally {
      db.close();
    }
  });
});
