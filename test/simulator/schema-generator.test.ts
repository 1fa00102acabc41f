import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decodeRecordData } from '../../lambdas/shared/decode';
import { readingValidator } from '../../lambdas/shared/reading';
import { LAB_SCHEMA, parseReadingSchema, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { parseTimestamp } from '../../lambdas/shared/timestamp';
import { type RunSettings, runSimulator } from '../../simulator/run';
import {
  createSchemaGenerator,
  EPISODE_BURSTS,
  EPISODE_SHIFT,
  maxBurstSize,
  OPTIONAL_LEFT_OUT_ODDS,
  SCHEMA_MALFORMED_KINDS,
  type SchemaBurst,
  type SchemaGeneratorOptions,
  type SchemaMalformedKind,
  simulatedFeatures,
} from '../../simulator/schema-generator';
import { simulate } from './simulate-cli';

/** The generator of any reading schema but the lab's: the schemas of schemas/, and hand-made ones. */

const SCHEMAS = join(__dirname, '..', '..', 'schemas');
const POWER = loadReadingSchema(join(SCHEMAS, 'power-meter.yaml'));
const SKAB = loadReadingSchema(join(SCHEMAS, 'skab.json'));
/** Integer ids from 1000, epoch-millis timestamps only, no simulation hints, an optional feature in the middle. */
const PLAIN = parseReadingSchema({
  formatVersion: 1,
  name: 'plain',
  version: '2',
  equipment: { field: 'machine', type: 'integer', min: 1000, max: 9999 },
  timestamp: { field: 'at', forms: ['epoch-millis'] },
  features: [
    { name: 'speed', unit: 'rpm', min: 0, max: 3000 },
    { name: 'load', unit: '%', min: 0, max: 100, optional: true },
    { name: 'oil_temp', unit: '°C', min: -40, max: 160 },
  ],
  simulation: { equipment: [1001, 1002] },
});
/** The lab's timestamp form only, string ids of a pattern that takes nearly anything. */
const LABFORM = parseReadingSchema({
  formatVersion: 1,
  name: 'lab-form',
  version: '1',
  equipment: { field: 'unit', type: 'string', pattern: '^.+$' },
  timestamp: { field: 'ts', forms: ['lab'] },
  features: [{ name: 'level', unit: 'm', min: -5, max: 5, simulation: { base: 4.99, noise: 0.5 } }],
});

const START_MS = Date.UTC(2026, 10, 23, 19, 47, 9, 123);

function generate(options: SchemaGeneratorOptions, readings: number, rate = 3000): SchemaBurst[] {
  const generator = createSchemaGenerator(options);
  const bursts: SchemaBurst[] = [];
  let startMs = START_MS;
  for (let made = 0; made < readings; ) {
    const step = generator.nextStep(startMs, rate, readings - made);
    bursts.push(...step.bursts);
    made += step.bursts.reduce((n, burst) => n + burst.readings, 0);
    startMs = step.endMs;
  }
  return bursts;
}

function readingsOf(burst: SchemaBurst): Record<string, unknown>[] {
  const decoded = decodeRecordData(Buffer.from(burst.json));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.readings as Record<string, unknown>[];
}

const isAnomalous = (burst: SchemaBurst, f: number) => Math.floor(burst.anomalyMask / 2 ** f) % 2 === 1;

describe('schema generator: readings of the schema', () => {
  test.each([
    ['power-meter', POWER],
    ['skab', SKAB],
    ['plain', PLAIN],
    ['lab-form', LABFORM],
  ])(
    '%s: exactly its fields, values within the physical ranges, every reading valid for its validator',
    (_, schema) => {
      const bursts = generate({ schema, seed: 1, burstSize: 200 }, 10_000);
      const validate = readingValidator(schema);
      const fields = [schema.timestamp.field, schema.equipment.field, ...schema.featureNames];
      const required = [
        schema.timestamp.field,
        schema.equipment.field,
        ...schema.features.filter((f) => !f.optional).map((f) => f.name),
      ];
      // Whatever is wrong, collected (an expect per value would take longer than generating them).
      const problems: string[] = [];
      for (const burst of bursts) {
        const readings = readingsOf(burst);
        if (readings.length !== burst.readings)
          problems.push(`${readings.length} readings in a burst of ${burst.readings}`);
        for (const reading of readings) {
          const keys = Object.keys(reading);
          if (!keys.every((key) => fields.includes(key)))
            problems.push(`unknown fields in ${JSON.stringify(reading)}`);
          if (!required.every((key) => keys.includes(key)))
            problems.push(`missing fields in ${JSON.stringify(reading)}`);
          if (reading[schema.equipment.field] !== burst.equipmentId)
            problems.push(`id of ${JSON.stringify(reading)}`);
          for (const feature of schema.features) {
            const value = reading[feature.name] as number | undefined;
            if (value !== undefined && !(value >= feature.min && value <= feature.max))
              problems.push(`${feature.name} ${value} out of range`);
          }
          const result = validate(reading, burst.endMs + 50);
          if (!result.ok) problems.push(result.reason);
        }
      }

      expect(bursts.reduce((n, burst) => n + burst.readings, 0)).toBe(10_000);
      expect([...new Set(bursts.map((burst) => burst.equipmentId))]).toEqual(schema.simulationEquipment);
      expect(problems.slice(0, 5)).toEqual([]);
    },
  );

  test('timestamps: ISO 8601 when the schema takes it, else the lab form, else epoch ms; evenly spaced at the rate', () => {
    const [power] = generate({ schema: POWER, seed: 2, burstSize: 3 }, 3, 1000);
    const [lab] = generate({ schema: LABFORM, seed: 2, burstSize: 3 }, 3, 1000);
    const [plain] = generate({ schema: PLAIN, seed: 2, burstSize: 3 }, 3, 1000);

    expect(readingsOf(power).map((r) => r.time)).toEqual([
      '2026-11-23T19:47:09.123000Z',
      '2026-11-23T19:47:09.124000Z',
      '2026-11-23T19:47:09.125000Z',
    ]);
    expect(readingsOf(lab).map((r) => r.ts)).toEqual([
      '2026-11-23 19:47:09.123000',
      '2026-11-23 19:47:09.124000',
      '2026-11-23 19:47:09.125000',
    ]);
    expect(readingsOf(plain).map((r) => r.at)).toEqual([START_MS, START_MS + 1, START_MS + 2]);
    for (const text of readingsOf(power).map((r) => r.time)) {
      expect(parseTimestamp(text)).toMatchObject({ ok: true });
    }
  });

  test('the same seed gives the same records; another seed, other values', () => {
    const a = generate({ schema: POWER, seed: 11 }, 9_000).map((burst) => burst.json);
    const b = generate({ schema: POWER, seed: 11 }, 9_000).map((burst) => burst.json);
    const c = generate({ schema: POWER, seed: 12 }, 9_000).map((burst) => burst.json);

    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test('values centre on simulation.base with simulation.noise as their spread; without hints, mid-range and 1% of it', () => {
    const check = (schema: ReadingSchema) => {
      const bursts = generate({ schema, seed: 3, burstSize: 500 }, 60_000).filter((b) => b.anomalyMask === 0);
      for (const { feature, base, noise } of simulatedFeatures(schema)) {
        const f = schema.features.indexOf(feature);
        const values = bursts.flatMap((burst) =>
          Array.from({ length: burst.readings }, (_, i) => burst.values[i * schema.features.length + f]),
        );
        const present = values.filter((v) => !Number.isNaN(v));
        const mean = present.reduce((s, v) => s + v, 0) / present.length;
        const std = Math.sqrt(present.reduce((s, v) => s + (v - mean) ** 2, 0) / present.length);
        expect([feature.name, Math.abs(mean - base) / noise]).toEqual([feature.name, expect.any(Number)]);
        expect(Math.abs(mean - base)).toBeLessThan(0.05 * noise);
        expect(std / noise).toBeGreaterThan(0.9);
        expect(std / noise).toBeLessThan(1.1);
      }
    };
    check(POWER);
    check(PLAIN);
    expect(simulatedFeatures(PLAIN).map((f) => [f.base, f.noise])).toEqual([
      [1500, 30],
      [50, 1],
      [60, 2],
    ]);
  });

  test('values stay within the physical range even when base and noise reach its edge', () => {
    const bursts = generate({ schema: LABFORM, seed: 4, burstSize: 500 }, 20_000);
    const values = bursts.flatMap((burst) => Array.from(burst.values));

    expect(Math.max(...values)).toBe(5);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-5);
  });

  test('optional features are left out of a reading now and then, required ones never', () => {
    const bursts = generate({ schema: POWER, seed: 5, burstSize: 1000 }, 60_000);
    const readings = bursts.flatMap(readingsOf);
    const without = (name: string) => readings.filter((r) => r[name] === undefined).length / readings.length;

    expect(without('frequency_hz')).toBeGreaterThan(OPTIONAL_LEFT_OUT_ODDS / 2);
    expect(without('frequency_hz')).toBeLessThan(OPTIONAL_LEFT_OUT_ODDS * 2);
    for (const name of ['power_kw', 'voltage_v', 'power_factor']) expect(without(name)).toBe(0);
  });
});

describe('schema generator: anomalous episodes', () => {
  const bursts = generate(
    { schema: SKAB, seed: 6, burstSize: 100, equipment: ['pump-1', 'pump-2'] },
    400_000,
  );
  const byEquipment = (id: string) => bursts.filter((burst) => burst.equipmentId === id);

  test("an equipment's first burst is normal; some later ones are anomalous, in episodes of exactly 10 bursts", () => {
    for (const id of ['pump-1', 'pump-2']) {
      const own = byEquipment(id);
      expect(own[0].anomalyMask).toBe(0);
      for (let f = 0; f < SKAB.features.length; f++) {
        let run = 0;
        const runs: number[] = [];
        for (const burst of own) {
          if (isAnomalous(burst, f)) run++;
          else if (run > 0) {
            runs.push(run);
            run = 0;
          }
        }
        for (const length of runs) expect(length).toBe(EPISODE_BURSTS);
      }
    }
    const anomalous = bursts.filter((burst) => burst.anomalyMask !== 0).length / bursts.length;
    expect(anomalous).toBeGreaterThan(0.1);
    expect(anomalous).toBeLessThan(0.5);
  });

  test('an anomalous feature is shifted by several noise units, within the physical range', () => {
    const features = simulatedFeatures(SKAB);
    const count = SKAB.features.length;
    let episodes = 0;
    for (const burst of bursts) {
      for (let f = 0; f < count; f++) {
        if (!isAnomalous(burst, f)) continue;
        const { base, spread, feature } = features[f];
        let sum = 0;
        for (let i = 0; i < burst.readings; i++) sum += burst.values[i * count + f];
        const shift = Math.abs(sum / burst.readings - base) / spread;
        expect([feature.name, shift]).toEqual([feature.name, expect.any(Number)]);
        expect(shift).toBeGreaterThan(EPISODE_SHIFT.low - 0.5);
        expect(shift).toBeLessThan(EPISODE_SHIFT.high + 0.5);
        episodes++;
      }
    }
    expect(episodes).toBeGreaterThan(100);
  });
});

describe('schema generator: malformed readings (--bad-ratio)', () => {
  const KINDS: Record<SchemaMalformedKind, RegExp> = {
    'numeric-string': /must be a finite number, got the string/,
    'missing-field': / is missing/,
    nan: /must be a finite number, got number NaN/,
    'below-minimum': /is below the physical minimum/,
    'above-maximum': /is above the physical maximum/,
    'unknown-field': /unknown field "(pressure|unexpected_field)"/,
    'bad-timestamp': /is not a real date and time|is before 2000-01-01/,
    'wrong-type': /must be a finite number, got an array/,
    'bad-equipment': /must be a string|must be an integer|must be a positive integer|does not match/,
  };

  test.each([
    ['power-meter', POWER],
    ['skab', SKAB],
    ['plain', PLAIN],
    ['lab-form', LABFORM],
  ])(
    '%s: exactly round(ratio * readings) malformed, each rejected by the validator for its kind, the others kept',
    (_, schema) => {
      const validate = readingValidator(schema);
      const bursts = generate({ schema, seed: 7, burstSize: 500, badRatio: 0.1 }, 12_345);
      const clean = generate({ schema, seed: 7, burstSize: 500, badRatio: 0 }, 12_345);
      const seen = new Set<SchemaMalformedKind>();

      expect(bursts.reduce((n, burst) => n + burst.malformed.length, 0)).toBe(Math.round(0.1 * 12_345));
      bursts.forEach((burst, b) => {
        const readings = readingsOf(burst);
        const bad = new Map(burst.malformed.map((m) => [m.index, m.kind]));
        const cleanReadings = readingsOf(clean[b]);
        readings.forEach((reading, i) => {
          const result = validate(reading, burst.endMs + 50);
          const kind = bad.get(i);
          if (kind === undefined) {
            expect(result).toMatchObject({ ok: true });
            expect(reading).toEqual(cleanReadings[i]);
            return;
          }
          seen.add(kind);
          expect(result.ok).toBe(false);
          if (!result.ok) expect([kind, result.reason]).toEqual([kind, expect.stringMatching(KINDS[kind])]);
        });
      });
      expect([...seen].sort()).toEqual([...SCHEMA_MALFORMED_KINDS].sort());
    },
  );
});

describe('schema generator: records', () => {
  test('bursts stay under the 1 MiB Kinesis record limit, all malformed, even for 50 features of long names', () => {
    const wide = parseReadingSchema({
      formatVersion: 1,
      name: 'wide',
      version: '1',
      equipment: { type: 'string' },
      features: Array.from({ length: 50 }, (_, i) => ({
        name: `feature_with_a_rather_long_name_number_${String(i).padStart(2, '0')}`,
        min: -1e9,
        max: 1e9,
      })),
    });
    const largest = maxBurstSize(wide, wide.simulationEquipment);
    const [burst] = generate({ schema: wide, seed: 8, burstSize: largest, badRatio: 1 }, largest);

    expect(largest).toBeLessThan(1000);
    expect(Buffer.byteLength(burst.json)).toBeLessThan(1024 * 1024);
    expect(() => createSchemaGenerator({ schema: wide, seed: 1, burstSize: largest + 1 })).toThrow(
      `burstSize must be an integer from 1 to ${largest} for wide@1 (a record stays under 1 MiB)`,
    );
    expect(createSchemaGenerator({ schema: wide, seed: 1 }).nextStep(START_MS, 1000).bursts[0].readings).toBe(
      largest,
    );
    expect(maxBurstSize(POWER, POWER.simulationEquipment)).toBeGreaterThan(1000);
  });

  test("equipment ids are checked against the schema's", () => {
    expect(() => createSchemaGenerator({ schema: POWER, seed: 1, equipment: ['pump-1'] })).toThrow(
      'equipment "pump-1": power-meter@1 takes equipment ids that match ^feeder-[0-9]{2}$',
    );
    expect(() => createSchemaGenerator({ schema: PLAIN, seed: 1, equipment: [5] })).toThrow(
      'equipment 5: plain@2 takes equipment ids that are whole numbers from 1000 to 9999',
    );
  });
});

describe('the simulator with a schema', () => {
  /** What the simulator writes to stdout, on a virtual clock that starts at START_MS. */
  async function stdoutOf(settings: RunSettings) {
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    let now = START_MS;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        if (ms > 0) now += ms;
        await new Promise((resolve) => setImmediate(resolve));
      },
    };
    await runSimulator({ ...settings, output, clock });
    return Buffer.concat(chunks).toString();
  }

  test("the lab's schema keeps the lab's generator: the same records as without a schema", async () => {
    const settings = { seed: 9, rate: 3000, count: 5_000 };
    expect(await stdoutOf({ ...settings, schema: LAB_SCHEMA })).toBe(await stdoutOf(settings));
    expect(await stdoutOf({ ...settings, schema: loadReadingSchema(join(SCHEMAS, 'lab.json')) })).toBe(
      await stdoutOf(settings),
    );
  });

  test('npm run simulate -- --schema: records of the schema, its units in the SCHEMA line, ids of its kind', async () => {
    const { stdout, stderr } = await simulate([
      '--schema',
      join(SCHEMAS, 'power-meter.yaml'),
      '--count',
      '300',
      '--burst-size',
      '100',
      '--rate',
      '100000',
      '--seed',
      '4',
    ]);
    const records = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>[]);

    expect(records.map((record) => record[0].meter)).toEqual(['feeder-01', 'feeder-02', 'feeder-03']);
    expect(stderr).toMatch(
      /^SCHEMA: power-meter@1 \(.*power-meter\.yaml\): meter feeder-01, feeder-02, feeder-03; time as ISO 8601; active power 320 ± 15 kW, voltage 400 ± 2 V, power factor 0\.93 ± 0\.01, grid frequency 50 ± 0\.02 Hz \(optional\)$/m,
    );
    expect(stderr).toMatch(/^DONE: 300 readings in 3 records /m);

    const listed = await simulate([
      '--schema',
      join(SCHEMAS, 'power-meter.yaml'),
      '--equipment',
      'feeder-07,feeder-09',
      '--count',
      '20',
      '--burst-size',
      '10',
      '--quiet',
    ]);
    const counted = await simulate([
      '--schema',
      join(SCHEMAS, 'power-meter.yaml'),
      '--equipment-count',
      '4',
      '--count',
      '40',
      '--burst-size',
      '10',
      '--quiet',
    ]);
    const firstIds = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { meter: string }[])[0].meter);
    expect(firstIds(listed.stdout)).toEqual(['feeder-07', 'feeder-09']);
    expect(firstIds(counted.stdout)).toEqual(['feeder-01', 'feeder-02', 'feeder-03', 'feeder-04']);
    await expect(
      simulate(['--schema', join(SCHEMAS, 'power-meter.yaml'), '--equipment', 'pump-1', '--count', '1']),
    ).rejects.toThrow('--equipment must be a comma-separated list of ids that match ^feeder-[0-9]{2}$.');
    await expect(simulate(['--schema', join(SCHEMAS, 'nope.json'), '--count', '1'])).rejects.toThrow(
      /cannot read the reading schema at .*nope\.json/,
    );
  });
  test('--labels: a row per reading, with a flag per feature of the schema and the malformed kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schema-labels-'));
    try {
      const labels = join(dir, 'labels.csv');
      await simulate([
        '--schema',
        join(SCHEMAS, 'power-meter.yaml'),
        '--count',
        '3000',
        '--burst-size',
        '100',
        '--bad-ratio',
        '0.01',
        '--seed',
        '5',
        '--rate',
        '1000000',
        '--labels',
        labels,
        '--quiet',
      ]);
      const [header, ...rows] = readFileSync(labels, 'utf8').trimEnd().split('\n');

      expect(header).toBe(
        'equipment_id,timestamp,power_kw_anomalous,voltage_v_anomalous,power_factor_anomalous,frequency_hz_anomalous,malformed,shard_id,sequence_number,reading_index',
      );
      expect(rows).toHaveLength(3000);
      expect(rows[0]).toMatch(/^feeder-01,\d{4}-\d\d-\d\dT[\d:.]+Z,0,0,0,0,/);
      expect(rows.filter((row) => row.split(',')[6] !== '')).toHaveLength(30);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
