import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DetectorStateStore } from '../../lambdas/shared/aws/detector-state';
import { createDetector } from '../../lambdas/shared/detector';
import { readingsPrefix } from '../../lambdas/shared/object-keys';
import { readingColumns } from '../../lambdas/shared/processed-reading';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { parseCsv } from '../fixtures/csv';
import { kinesisEvent, labReading, sequenceNumber, type TestRecord } from '../fixtures/kinesis-event';
import { TEST_CONFIG, transformHarness } from '../fixtures/transform-harness';
import { type AthenaInDuckDb, athenaInDuckDb } from './athena-in-duckdb';

/**
 * The SQL of sql/ expanded for other reading schemas than the lab's, run in DuckDB (athena-in-duckdb.ts)
 * over what the transform writes for them: SKAB's pump (eight features, string equipment ids, one of
 * them named like an SQL keyword), the power meter (an optional feature), and a lake holding the objects
 * of several schemas and versions, each table reading its own.
 */

const ROOT = join(__dirname, '..', '..');
const SKAB = loadReadingSchema(join(ROOT, 'schemas', 'skab.json'));
const METER = loadReadingSchema(join(ROOT, 'schemas', 'power-meter.yaml'));

const at = (hour: number, minute: number, second = 0) => Date.UTC(2026, 10, 23, hour, minute, second);
const NOW = at(20, 1);
const num = (value: unknown) => Number(value);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** A reading of the schema, as a producer sends it: each feature near its simulation base. */
function schemaReading(
  schema: ReadingSchema,
  equipment: string | number,
  timeMs: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const values = schema.features.map((f, i) => {
    const base = f.simulation?.base ?? (f.min + f.max) / 2;
    const noise = f.simulation?.noise ?? (f.max - f.min) / 100;
    return [f.name, Math.round((base + (((timeMs / 1000 + i) % 7) - 3) * (noise / 3)) * 1000) / 1000];
  });
  return {
    [schema.equipment.field]: equipment,
    [schema.timestamp.field]: new Date(timeMs).toISOString(),
    ...Object.fromEntries(values),
    ...overrides,
  };
}

let sequence = 0;
function record(arrivalMs: number, readings: Record<string, unknown>[]): TestRecord {
  return {
    sequenceNumber: sequenceNumber(++sequence),
    partitionKey: String(readings[0].equipment ?? readings[0].meter ?? readings[0].equipment_id),
    arrivalMs,
    data: readings.length === 1 ? readings[0] : readings,
  };
}

/** The transform of a deployment of this schema (no model: the detector learns online), run over the batches. */
async function transformOutput(schema: ReadingSchema, batches: TestRecord[][]): Promise<Map<string, string>> {
  const harness = transformHarness();
  const detector = createDetector(undefined, {}, schema);
  const deps = {
    ...harness.deps,
    config: { ...TEST_CONFIG, schema, modelPath: undefined },
    detector,
    detectorState: new DetectorStateStore(harness.deps.documents, detector.streams, {
      tableName: TEST_CONFIG.readingsTable,
      ...TEST_CONFIG.detectorState,
    }),
  };
  try {
    for (const batch of batches) await processTransformBatch(kinesisEvent(batch), deps);
  } finally {
    harness.restore();
  }
  return harness.objects;
}

type CsvRow = Record<string, string>;

/** The CSV rows of the objects under a prefix, one per reading (a retry's copies dropped). */
function csvRows(objects: Map<string, string>, prefix: string): CsvRow[] {
  const rows = new Map<string, CsvRow>();
  for (const [key, body] of [...objects].sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith(prefix) || !/^dt=/.test(key.slice(prefix.length))) continue;
    for (const row of parseCsv(body)) {
      const id = `${row.shard_id}|${row.sequence_number}|${row.reading_index}`;
      if (!rows.has(id)) rows.set(id, row);
    }
  }
  return [...rows.values()];
}

const columnNames = async (lake: AthenaInDuckDb, table: string) =>
  (await lake.connection.runAndReadAll(`SELECT * FROM ${table} LIMIT 0`)).columnNames();

describe("SKAB's schema: the views over the transform's CSV objects", () => {
  const pump = (equipment: string, timeMs: number, overrides?: Record<string, unknown>) =>
    schemaReading(SKAB, equipment, timeMs, overrides);
  const r1 = record(at(19, 58), [pump('pump-1', at(19, 57, 50)), pump('pump-1', at(19, 57, 51))]);
  const r2 = record(at(19, 58), [pump('pump-2', at(19, 57, 52), { temperature: 150 })]);
  const r3 = record(at(20, 0, 40), [pump('pump-1', at(20, 0, 30)), pump('pump-2', at(20, 0, 31))]);
  const r4 = record(at(20, 0, 40), [pump('pump-2', at(20, 0, 32))]);
  const BATCHES = [[r1, r2], [r3, r4], /* a bisected retry: */ [r4]];
  let objects: Map<string, string>;
  let rows: CsvRow[];
  let lake: AthenaInDuckDb;

  beforeAll(async () => {
    objects = await transformOutput(SKAB, BATCHES);
    rows = csvRows(objects, readingsPrefix(SKAB));
    lake = await athenaInDuckDb({ processed: objects, nowMs: NOW, schema: SKAB });
    for (const view of ['readings', 'streamdata_view', 'streamdata_last3_view', 'readings_per_minute'])
      await lake.runFile(`${view}.sql`);
  });
  afterAll(() => lake?.close());

  test('the transform wrote every object under readings/skab-pump-v1/, the table reads them all', async () => {
    const keys = [...objects.keys()].filter((key) => key.startsWith('readings/'));
    expect(keys).toHaveLength(BATCHES.length);
    for (const key of keys)
      expect(key).toMatch(/^readings\/skab-pump-v1\/dt=2026-11-23\/hour=(19|20)\/shardId-/);
    expect(rows).toHaveLength(6);
    expect(rows.some((row) => row.is_anomaly === 'true')).toBe(true);
    expect(await lake.rows('SELECT count(*) AS n FROM processed_readings')).toEqual([{ n: '7' }]);
  });

  test("readings: one row per reading, the schema's columns, string equipment ids, the features as written", async () => {
    expect(await columnNames(lake, 'readings')).toEqual([...readingColumns(SKAB), 'dt', 'hour']);
    const view = await lake.rows('SELECT * FROM readings ORDER BY sequence_number, reading_index');
    expect(view).toHaveLength(rows.length);
    for (const [i, row] of rows.entries()) {
      expect(view[i]).toMatchObject({
        equipment_id: row.equipment_id,
        timestamp: row.timestamp,
        is_anomaly: row.is_anomaly === 'true',
        ...Object.fromEntries(SKAB.featureNames.map((f) => [f, num(row[f])])),
      });
    }
    expect(view.map((row) => row.equipment_id)).toEqual([
      'pump-1',
      'pump-1',
      'pump-2',
      'pump-1',
      'pump-2',
      'pump-2',
    ]);
  });

  test("streamdata_view and streamdata_last3_view: the lab's columns with the schema's features in capitals", async () => {
    const expected = [
      'STREAM',
      'KEY',
      'PARTITION',
      'OFFSET',
      'BATCH_TIMESTAMP',
      'TIMESTAMP',
      'EQUIPMENT_ID',
      ...SKAB.featureNames.map((f) => f.toUpperCase()),
      'INFERENCE',
    ];
    expect(await columnNames(lake, 'streamdata_view')).toEqual(expected);
    expect(await columnNames(lake, 'streamdata_last3_view')).toEqual(expected);
    const view = await lake.rows('SELECT * FROM streamdata_view ORDER BY "OFFSET"');
    expect(view).toHaveLength(rows.length);
    // The newest is 20:00:32: the window from 19:57:32 holds every reading.
    const last3 = await lake.rows('SELECT * FROM streamdata_last3_view ORDER BY "OFFSET"');
    expect(last3).toEqual(view);
    for (const row of view) {
      const csv = rows.find((r) => `${r.sequence_number}:${r.reading_index}` === row.OFFSET) as CsvRow;
      expect(row).toMatchObject({
        EQUIPMENT_ID: csv.equipment_id,
        CURRENT: num(csv.current),
        VOLUME_FLOW_RATE_RMS: num(csv.volume_flow_rate_rms),
        INFERENCE: csv.is_anomaly === 'true' ? 1 : 0,
      });
    }
  });

  test('readings_per_minute: per string equipment id and minute, the mean, minimum and maximum of each of the eight features', async () => {
    const view = await lake.rows(
      'SELECT *, epoch_ms(window_start) AS start_ms FROM readings_per_minute ORDER BY equipment_id, start_ms',
    );
    const groups = new Map<string, CsvRow[]>();
    for (const row of rows) {
      const key = `${row.equipment_id}|${Math.floor(Date.parse(row.timestamp) / 60_000) * 60_000}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    expect(view).toHaveLength(groups.size);
    for (const [key, group] of groups) {
      const [equipment, start] = key.split('|');
      const row = view.find((r) => r.equipment_id === equipment && r.start_ms === start);
      expect(row?.readings).toBe(String(group.length));
      for (const feature of SKAB.featureNames) {
        const values = group.map((r) => num(r[feature]));
        expect(row?.[`avg_${feature}`]).toBeCloseTo(mean(values), 9);
        expect(row?.[`min_${feature}`]).toBe(Math.min(...values));
        expect(row?.[`max_${feature}`]).toBe(Math.max(...values));
      }
    }
  });

  test('query_averages_per_equipment and query_counts: per string equipment id', async () => {
    const averages = await lake.runFile('query_averages_per_equipment.sql');
    expect(averages.map((row) => row.equipment_id)).toEqual(['pump-1', 'pump-2']);
    for (const result of averages) {
      const group = rows.filter((row) => row.equipment_id === result.equipment_id);
      expect(result.readings).toBe(String(group.length));
      for (const feature of SKAB.featureNames)
        expect(result[`avg_${feature}`]).toBeCloseTo(mean(group.map((row) => num(row[feature]))), 9);
    }
    const counts = await lake.runFile('query_counts.sql');
    expect(counts.map((row) => [row.equipment_id, row.readings])).toEqual([
      ['pump-1', '3'],
      ['pump-2', '3'],
    ]);
  });

  // Last: it curates the lake's hours, which the tests above read uncurated.
  test('curated: string ids and a reserved word as a column in Parquet, and the views give the same rows', async () => {
    const order = 'ORDER BY sequence_number, reading_index';
    const before = await lake.rows(`SELECT * FROM readings ${order}`);
    const perMinute = await lake.rows(
      'SELECT * FROM readings_per_minute ORDER BY equipment_id, window_start',
    );
    for (const hour of ['19', '20']) {
      const { counts, file } = await lake.curate({ dt: '2026-11-23', hour });
      expect(file).toContain('/curated/skab-pump-v1/dt=2026-11-23/hour=');
      expect(counts.curatedReadings).toBe(counts.lakeReadings);
    }
    expect(await lake.rows('SELECT count(DISTINCT hour) AS n FROM curated_readings')).toEqual([{ n: '2' }]);
    expect(await lake.rows(`SELECT * FROM readings ${order}`)).toEqual(before);
    expect(await lake.rows('SELECT * FROM readings_per_minute ORDER BY equipment_id, window_start')).toEqual(
      perMinute,
    );
  });
});

describe("the power meter's schema: an optional feature, empty in the lake, NULL in the views", () => {
  const meter = (id: string, timeMs: number, frequency?: number) => {
    const reading = schemaReading(METER, id, timeMs);
    if (frequency === undefined) delete reading.frequency_hz;
    else reading.frequency_hz = frequency;
    return reading;
  };
  const sent = [
    meter('feeder-01', at(19, 59, 1), 50.01),
    meter('feeder-01', at(19, 59, 2)),
    meter('feeder-01', at(19, 59, 3), 49.99),
    meter('feeder-02', at(19, 59, 4)),
    meter('feeder-02', at(19, 59, 5), 50.02),
  ];
  let lake: AthenaInDuckDb;
  let objects: Map<string, string>;

  beforeAll(async () => {
    objects = await transformOutput(METER, [[record(at(20, 0), sent)]]);
    const raw = new Map([
      ['raw/dt=2026-11-23/hour=20/sensor-readings-archive-1.gz', gzipSync(`${JSON.stringify(sent)}\n`)],
    ]);
    lake = await athenaInDuckDb({ processed: objects, raw, nowMs: NOW, schema: METER });
    for (const view of ['readings', 'streamdata_last3_view', 'readings_per_minute', 'raw_readings'])
      await lake.runFile(`${view}.sql`);
  });
  afterAll(() => lake?.close());

  test('the table holds it as text (empty when left out), the views as a number or NULL', async () => {
    expect([...objects.keys()].filter((k) => k.startsWith('readings/'))).toEqual([
      expect.stringMatching(/^readings\/power-meter-v1\/dt=2026-11-23\/hour=20\//),
    ]);
    const column = async (sql: string) => (await lake.rows(sql)).map((row) => Object.values(row)[0]);
    const sentFrequencies = sent.map((r) => (r.frequency_hz as number | undefined) ?? null);
    expect(await column('SELECT frequency_hz FROM processed_readings ORDER BY reading_index')).toEqual(
      sentFrequencies.map((f) => (f === null ? null : String(f))),
    );
    expect(await column('SELECT frequency_hz FROM readings ORDER BY reading_index')).toEqual(sentFrequencies);
    expect(await column('SELECT "FREQUENCY_HZ" FROM streamdata_last3_view ORDER BY "OFFSET"')).toEqual(
      sentFrequencies,
    );
    expect(sentFrequencies.filter((f) => f === null)).toHaveLength(2);
  });

  test('its per-minute and per-equipment means are over the readings that have it', async () => {
    const minute = await lake.rows(
      "SELECT avg_frequency_hz, min_frequency_hz, max_frequency_hz, avg_power_kw, readings FROM readings_per_minute WHERE equipment_id = 'feeder-01'",
    );
    expect(minute).toEqual([
      {
        avg_frequency_hz: expect.closeTo(50, 9),
        min_frequency_hz: 49.99,
        max_frequency_hz: 50.01,
        avg_power_kw: expect.closeTo(mean(sent.slice(0, 3).map((r) => num(r.power_kw))), 9),
        readings: '3',
      },
    ]);
    const averages = await lake.runFile('query_averages_per_equipment.sql');
    expect(averages.map((row) => [row.equipment_id, row.avg_frequency_hz])).toEqual([
      ['feeder-01', expect.closeTo(50, 9)],
      ['feeder-02', 50.02],
    ]);
  });

  // KNOWN BUG, outside sql/: windowContributions (lambdas/shared/minute-windows.ts) leaves the minimum
  // and maximum of an optional feature that no reading of an equipment's minute had at +/-Infinity,
  // which DynamoDB cannot store: the record fails, and its batch is retried until it expires. When it
  // is fixed, this test fails: make it a plain test.
  test('a minute of an equipment in which no reading had the optional feature is written too', async () => {
    const output = await transformOutput(METER, [[record(at(20, 0), [meter('feeder-03', at(19, 59, 6))])]]);
    expect([...output.keys()].filter((k) => k.startsWith('readings/'))).toHaveLength(1);
  });

  test("raw_readings reads the meter's own fields (meter, time) from the raw archive", async () => {
    const view = await lake.rows(
      'SELECT equipment_id, "timestamp", power_kw, frequency_hz FROM raw_readings ORDER BY reading_index',
    );
    expect(view).toEqual(
      sent.map((r) => ({
        equipment_id: r.meter,
        timestamp: r.time,
        power_kw: r.power_kw,
        frequency_hz: r.frequency_hz ?? null,
      })),
    );
  });

  test('curated: the optional feature a DOUBLE in Parquet, NULL where it was left out', async () => {
    const { counts } = await lake.curate({ dt: '2026-11-23', hour: '20' });
    expect(counts).toMatchObject({ lakeReadings: 5, curatedReadings: 5 });
    const column = async (sql: string) => (await lake.rows(sql)).map((row) => Object.values(row)[0]);
    expect(await column('SELECT frequency_hz FROM curated_readings ORDER BY reading_index')).toEqual(
      sent.map((r) => (r.frequency_hz as number | undefined) ?? null),
    );
    expect(await column('SELECT frequency_hz FROM readings ORDER BY reading_index')).toEqual(
      sent.map((r) => (r.frequency_hz as number | undefined) ?? null),
    );
  });
});

describe('one bucket, several schemas and versions: each table reads the objects of its own schema version only', () => {
  /** SKAB's schema, version 2: a feature dropped, another added. */
  const SKAB_V2: ReadingSchema = (() => {
    const features = [
      ...SKAB.features.filter((f) => f.name !== 'thermocouple'),
      { ...SKAB.features[0], name: 'vibration_rms', label: 'vibration RMS', source: 'vibration_rms' },
    ];
    return {
      ...SKAB,
      version: '2',
      id: `${SKAB.name}@2`,
      features,
      featureNames: features.map((f) => f.name),
    };
  })();
  let objects: Map<string, string>;

  beforeAll(async () => {
    const v1 = await transformOutput(SKAB, [
      [
        record(at(19, 10), [
          schemaReading(SKAB, 'pump-1', at(19, 9)),
          schemaReading(SKAB, 'pump-1', at(19, 9, 1)),
        ]),
      ],
    ]);
    // The schema changed at 19:30: the same hour's partition holds objects of both versions.
    const v2 = await transformOutput(SKAB_V2, [
      [record(at(19, 30), [schemaReading(SKAB_V2, 'pump-1', at(19, 29))])],
      [
        record(at(20, 0), [
          schemaReading(SKAB_V2, 'pump-2', at(19, 59)),
          schemaReading(SKAB_V2, 'pump-2', at(19, 59, 1)),
        ]),
      ],
    ]);
    const lab = await transformOutput(LAB_SCHEMA, [[record(at(19, 40), [labReading(101, at(19, 39))])]]);
    objects = new Map([...v1, ...v2, ...lab].filter(([key]) => key.startsWith('readings/')));
    expect(objects.size).toBe(4);
  });

  test.each([
    ['SKAB v1', () => SKAB, 2, 'thermocouple'],
    ['SKAB v2', () => SKAB_V2, 3, 'vibration_rms'],
    ['lab', () => LAB_SCHEMA, 1, 'humidity'],
  ])(
    "the %s table and views: that version's rows and columns, none of the others'",
    async (_name, schemaOf, count, feature) => {
      const schema = schemaOf();
      const lake = await athenaInDuckDb({ processed: objects, nowMs: NOW, schema });
      try {
        await lake.runFile('readings.sql');
        await lake.runFile('readings_per_minute.sql');
        expect(await columnNames(lake, 'readings')).toEqual([...readingColumns(schema), 'dt', 'hour']);
        expect(await lake.rows('SELECT count(*) AS n FROM processed_readings')).toEqual([
          { n: String(count) },
        ]);
        const view = await lake.rows('SELECT * FROM readings ORDER BY "timestamp"');
        expect(view).toHaveLength(count);
        const expected = csvRows(objects, readingsPrefix(schema));
        expect(view.map((row) => [row.equipment_id, row[feature]])).toEqual(
          expected.map((row) => [schema.isLab ? num(row.equipment_id) : row.equipment_id, num(row[feature])]),
        );
        expect(await lake.rows('SELECT sum(readings) AS n FROM readings_per_minute')).toEqual([
          { n: String(count) },
        ]);
      } finally {
        lake.close();
      }
    },
  );
});
