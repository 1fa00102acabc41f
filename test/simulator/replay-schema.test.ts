import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readingValidator } from '../../lambdas/shared/reading';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { schemaColumns } from '../../simulator/replay';
import { simulate } from './simulate-cli';

/** `--replay FILE.csv --schema FILE`: the columns mapped to the schema's features by their source names. */

const SCHEMAS = join(__dirname, '..', '..', 'schemas');
const SKAB_FILE = join(SCHEMAS, 'skab.json');
const POWER_FILE = join(SCHEMAS, 'power-meter.yaml');
const SKAB = loadReadingSchema(SKAB_FILE);
const POWER = loadReadingSchema(POWER_FILE);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'replay-schema-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function csvFile(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** SKAB's layout (valve1/1.csv): `;`-separated, its header names, a label column; negative pressures. */
const SKAB_ROWS = [
  'datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;Voltage;Volume Flow RateRMS;anomaly;changepoint',
  '2020-03-09 10:34:33;0.0270797;0.039615;0.871339;0.054711;75.4955;25.8338;244.091;32.0;0.0;0.0',
  '2020-03-09 10:34:34;0.026995;0.0387587;1.30128;-0.273216;75.5445;25.8408;224.17;32.0;0.0;0.0',
  '2020-03-09 10:34:35;0.0268071;0.0395207;1.2845;0.382638;75.6607;25.8227;234.157;32.9986;0.0;0.0',
  '2020-03-09 10:34:36;0.0268229;0.0386426;0.973416;-0.92907;75.6256;25.8318;239.105;32.0;1.0;0.0',
];
const SKAB_FEATURES = [
  'accelerometer_1_rms',
  'accelerometer_2_rms',
  'current',
  'pressure',
  'temperature',
  'thermocouple',
  'voltage',
  'volume_flow_rate_rms',
];

const records = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>[]);

describe('replay with --schema', () => {
  test("each feature is read from its source column (SKAB's header names), under its own name, to the schema's first equipment", async () => {
    const file = csvFile('1.csv', SKAB_ROWS);

    const { stdout, stderr } = await simulate([
      '--schema',
      SKAB_FILE,
      '--replay',
      file,
      '--delimiter',
      ';',
      '--timestamp-column',
      'datetime',
      '--speed',
      '1000000',
    ]);

    const readings = records(stdout).flat();
    expect(readings).toHaveLength(4);
    expect(Object.keys(readings[0])).toEqual(['timestamp', 'equipment', ...SKAB_FEATURES]);
    expect(readings.map((r) => r.equipment)).toEqual(['pump-1', 'pump-1', 'pump-1', 'pump-1']);
    expect(readings.map((r) => r.pressure)).toEqual([0.054711, -0.273216, 0.382638, -0.92907]);
    expect(readings.map((r) => r.volume_flow_rate_rms)).toEqual([32, 32, 32.9986, 32]);
    expect(readings[3]).toMatchObject({
      accelerometer_1_rms: 0.0268229,
      voltage: 239.105,
      thermocouple: 25.8318,
    });
    // ISO 8601 (the schema takes it), the recorded second apart, and every reading valid for the schema.
    expect(
      readings.every((r) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(r.timestamp as string)),
    ).toBe(true);
    const stamps = readings.map((r) => Date.parse(r.timestamp as string));
    expect(stamps.map((stamp) => stamp - stamps[0])).toEqual([0, 1000, 2000, 3000]);
    const validate = readingValidator(SKAB);
    for (const reading of readings) expect(validate(reading, Date.now())).toMatchObject({ ok: true });
    // The mapping, with units, printed first.
    expect(stderr).toContain(
      `SCHEMA: skab-pump@1 (${SKAB_FILE}): accelerometer_1_rms (g) = "Accelerometer1RMS", accelerometer_2_rms (g) = "Accelerometer2RMS", current (A) = "Current", pressure (bar) = "Pressure"`,
    );
    expect(stderr).toContain('volume_flow_rate_rms (L/min) = "Volume Flow RateRMS"');
    expect(stderr).toMatch(/^DONE: 4 readings in 1 records \(0 outside the pipeline's physical ranges\) /m);
  });

  test("--map overrides a feature's column; --equipment-id takes an id of the schema's kind", async () => {
    const file = csvFile('1.csv', SKAB_ROWS);

    const { stdout } = await simulate([
      '--schema',
      SKAB_FILE,
      '--replay',
      file,
      '--delimiter',
      ';',
      '--rate',
      '1000000',
      '--map',
      'thermocouple=Temperature',
      '--equipment-id',
      'pump-7',
      '--quiet',
    ]);

    const readings = records(stdout).flat();
    expect(readings.map((r) => [r.equipment, r.thermocouple, r.temperature])).toEqual([
      ['pump-7', 75.4955, 75.4955],
      ['pump-7', 75.5445, 75.5445],
      ['pump-7', 75.6607, 75.6607],
      ['pump-7', 75.6256, 75.6256],
    ]);
    await expect(
      simulate([
        '--schema',
        SKAB_FILE,
        '--replay',
        file,
        '--delimiter',
        ';',
        '--rate',
        '5',
        '--equipment-id',
        'Pump 7',
      ]),
    ).rejects.toThrow('--equipment-id must be an id that matches ^[a-z0-9][a-z0-9-]{0,31}$.');
    await expect(
      simulate([
        '--schema',
        SKAB_FILE,
        '--replay',
        file,
        '--delimiter',
        ';',
        '--rate',
        '5',
        '--map',
        'humidity=Current',
      ]),
    ).rejects.toThrow(
      '--map: "humidity" is not a reading field (accelerometer_1_rms, accelerometer_2_rms, current, pressure, temperature, thermocouple, voltage, volume_flow_rate_rms).',
    );
  });

  test("a file of the schema's own names (the CSV lake's) needs no options: features, timestamp and equipment columns by name", async () => {
    const file = csvFile('lake.csv', [
      'time,meter,power_kw,voltage_v,power_factor,frequency_hz,is_anomaly',
      '2026-01-05T10:00:01Z,feeder-02,321.5,401.1,0.93,50.01,false',
      '2026-01-05T10:00:00Z,feeder-01,300,399.5,0.91,,false',
      '2026-01-05T10:00:02Z,feeder-01,310,400.5,0.92,49.99,true',
    ]);

    const { stdout } = await simulate([
      '--schema',
      POWER_FILE,
      '--replay',
      file,
      '--speed',
      '1000000',
      '--quiet',
    ]);

    expect(schemaColumns(file, POWER)).toEqual({
      power_kw: 'power_kw',
      voltage_v: 'voltage_v',
      power_factor: 'power_factor',
      frequency_hz: 'frequency_hz',
    });
    // In time order across equipment, a record per equipment; an empty cell of an optional feature is left out.
    const readings = records(stdout)
      .flat()
      .sort((a, b) => Date.parse(a.time as string) - Date.parse(b.time as string));
    expect(readings.map(({ time: _, ...rest }) => rest)).toEqual([
      { meter: 'feeder-01', power_kw: 300, voltage_v: 399.5, power_factor: 0.91 },
      { meter: 'feeder-02', power_kw: 321.5, voltage_v: 401.1, power_factor: 0.93, frequency_hz: 50.01 },
      { meter: 'feeder-01', power_kw: 310, voltage_v: 400.5, power_factor: 0.92, frequency_hz: 49.99 },
    ]);
    const stamps = readings.map((r) => Date.parse(r.time as string));
    expect(stamps.map((stamp) => stamp - stamps[0])).toEqual([0, 1000, 2000]);
  });

  test('an optional feature the file lacks, or leaves empty, is left out of the readings; a required one is an error naming it', async () => {
    const file = csvFile('meter.csv', [
      'when,power_kw,voltage_v,power_factor',
      '2026-01-05T10:00:00Z,300,399.5,0.91',
      '2026-01-05T10:00:01Z,301,399.6,0.92',
    ]);
    const noFactor = csvFile('no-factor.csv', ['when,power_kw,voltage_v', '2026-01-05T10:00:00Z,300,399.5']);
    const emptyFrequency = csvFile('empty.csv', [
      'when,power_kw,voltage_v,power_factor,Freq',
      '2026-01-05T10:00:00Z,300,399.5,0.91,50.02',
      '2026-01-05T10:00:01Z,301,399.6,0.92,',
    ]);
    const replay = (f: string, ...more: string[]) =>
      simulate([
        '--schema',
        POWER_FILE,
        '--replay',
        f,
        '--timestamp-column',
        'when',
        '--speed',
        '1000000',
        '--quiet',
        ...more,
      ]);

    const readings = records((await replay(file)).stdout).flat();
    const mapped = records((await replay(emptyFrequency, '--map', 'frequency_hz=Freq')).stdout).flat();

    expect(readings).toEqual([
      expect.objectContaining({ meter: 'feeder-01', power_kw: 300, voltage_v: 399.5, power_factor: 0.91 }),
      expect.objectContaining({ meter: 'feeder-01', power_kw: 301, voltage_v: 399.6, power_factor: 0.92 }),
    ]);
    expect(readings.every((r) => !('frequency_hz' in r))).toBe(true);
    expect(mapped.map((r) => r.frequency_hz)).toEqual([50.02, undefined]);
    const validate = readingValidator(POWER);
    for (const reading of [...readings, ...mapped])
      expect(validate(reading, Date.now())).toMatchObject({ ok: true });
    await expect(replay(noFactor)).rejects.toThrow(
      `${noFactor}: no column "power_factor" for the feature power_factor of ${POWER_FILE} (columns: when, power_kw, voltage_v)`,
    );
  });

  test("equipment ids of a column are checked against the schema's, with the row's file and column", async () => {
    const file = csvFile('ids.csv', [
      'when,meter,power_kw,voltage_v,power_factor',
      '2026-01-05T10:00:00Z,pump-1,300,399.5,0.91',
    ]);

    await expect(
      simulate([
        '--schema',
        POWER_FILE,
        '--replay',
        file,
        '--timestamp-column',
        'when',
        '--equipment-column',
        'meter',
      ]),
    ).rejects.toThrow(
      `${file}: column "meter" holds "pump-1", not an equipment id (one that matches ^feeder-[0-9]{2}$)`,
    );
  });

  test("values outside the schema's physical ranges are counted in the warning with the schema's units", async () => {
    const file = csvFile('1.csv', [
      ...SKAB_ROWS.slice(0, 3),
      '2020-03-09 10:34:35;0.0268071;0.0395207;1.2845;-12.5;75.6607;25.8227;234.157;32.9986;0.0;0.0',
      '2020-03-09 10:34:36;0.0268229;0.0386426;0.973416;0.1;275.6;25.8318;239.105;32.0;1.0;0.0',
    ]);

    const { stdout, stderr } = await simulate([
      '--schema',
      SKAB_FILE,
      '--replay',
      file,
      '--delimiter',
      ';',
      '--timestamp-column',
      'datetime',
      '--speed',
      '1000000',
      '--quiet',
    ]);

    expect(stderr).toMatch(/^WARNING: 2 of 4 rows have values outside the pipeline's physical ranges; /m);
    expect(stderr).toContain(
      'pressure=Pressure: 1 below -10 (the column goes from -12.5 to 0.1; pressure must be -10 to 100 bar)',
    );
    expect(stderr).toContain(
      'temperature=Temperature: 1 above 200 (the column goes from 75.4955 to 275.6; temperature must be -50 to 200 °C)',
    );
    const validate = readingValidator(SKAB);
    const rejected = records(stdout)
      .flat()
      .filter((reading) => !validate(reading, Date.now()).ok);
    expect(rejected).toHaveLength(2);
    expect(stderr).toMatch(/^DONE: 4 readings in 1 records \(2 outside the pipeline's physical ranges\) /m);
  });

  test("without --schema, the lab's --map stays required (the schema's names are not guessed)", async () => {
    const file = csvFile('1.csv', SKAB_ROWS);

    await expect(simulate(['--replay', file, '--delimiter', ';', '--rate', '5'])).rejects.toThrow(
      /^--replay needs --map with a column for each reading field: .* \(missing: vibration_amplitude, vibration_frequency, temperature, humidity\), or --schema FILE to map them by the schema's names$/,
    );
  });
});
