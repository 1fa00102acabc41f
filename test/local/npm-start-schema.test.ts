import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { csvObjectText } from '../../lambdas/shared/csv-object';
import { READINGS_PREFIX } from '../../lambdas/shared/object-keys';
import { localClients } from '../../local/clients';
import { LOCAL_NAMES } from '../../local/names';
import { type LocalRunOptions, runLocal } from '../../local/run';
import { startLocalServices } from '../../local/services';
import { startCommand } from '../../local/start';

/** `npm start -- --schema FILE`: another reading schema end to end, counted back from the services. */

const SCHEMAS = join(__dirname, '..', '..', 'schemas');
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

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'npm-start-schema-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function options(overrides: Partial<LocalRunOptions>): LocalRunOptions {
  return {
    rate: 10_000,
    seed: 1,
    badRatio: 0,
    dashboard: false,
    port: 0,
    quiet: true,
    // No .local/endpoints.json in the project folder: test files run side by side.
    endpointsDir: false,
    out: () => {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** A recording in SKAB's layout (valve1/1.csv): a row a second in 2020, its header names, pressures below 0. */
function skabRecording(rows: number): string {
  const file = join(dir, 'skab.csv');
  const first = Date.UTC(2020, 2, 9, 10, 34, 33);
  const lines = Array.from({ length: rows }, (_, i) => {
    const time = new Date(first + i * 1000).toISOString().slice(0, 19).replace('T', ' ');
    const pressure = (Math.sin(i / 7) * 0.9).toFixed(6);
    const temperature = (75.5 + Math.sin(i / 50) + (i >= 400 && i < 420 ? 8 : 0)).toFixed(4);
    return `${time};0.0270797;0.039615;${(0.9 + (i % 5) / 10).toFixed(2)};${pressure};${temperature};25.8338;244.091;32.0;0;0`;
  });
  writeFileSync(
    file,
    `${[
      'datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;Voltage;Volume Flow RateRMS;anomaly;changepoint',
      ...lines,
    ].join('\n')}\n`,
  );
  return file;
}

/** Every CSV row of the processed bucket (the services of a --data-dir), as column -> cell. */
async function csvLake(dataDir: string): Promise<Record<string, string>[]> {
  const services = await startLocalServices({ dataDir });
  try {
    const { s3 } = localClients(services);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: LOCAL_NAMES.processedBucket, Prefix: READINGS_PREFIX }),
    );
    const rows: Record<string, string>[] = [];
    for (const object of listed.Contents ?? []) {
      const body = await s3.send(
        new GetObjectCommand({ Bucket: LOCAL_NAMES.processedBucket, Key: object.Key }),
      );
      const bytes = await (
        body.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      const text = csvObjectText(object.Key as string, bytes);
      rows.push(...(parse(text, { columns: true }) as Record<string, string>[]));
    }
    return rows;
  } finally {
    await services.close();
  }
}

describe('npm start --schema', () => {
  test('SKAB, replayed from a CSV file by its header names: every reading once, each sensor under its own name, negative pressures kept', async () => {
    const file = skabRecording(700);
    const dataDir = join(dir, 'data');
    const lines: string[] = [];

    const report = await runLocal(
      options({
        count: 600,
        dataDir,
        schemaFile: join(SCHEMAS, 'skab.json'),
        replay: { file, delimiter: ';', timestampColumn: 'datetime', rate: 2_000 },
        out: (line) => lines.push(line),
      }),
    );

    expect(report).toMatchObject({
      schema: 'skab-pump@1',
      sent: 600,
      malformedSent: 0,
      valid: 600,
      csvRows: 600,
      dynamoReadings: 600,
      archivedReadings: 600,
      quarantined: 0,
      deadLettered: 0,
      problems: [],
    });
    expect(report?.replay?.file).toBe(file);
    expect(lines.join('\n')).toContain('volume_flow_rate_rms (L/min) = "Volume Flow RateRMS"');
    const rows = await csvLake(dataDir);
    expect(rows).toHaveLength(600);
    for (const feature of SKAB_FEATURES) expect(Object.keys(rows[0])).toContain(feature);
    expect(Object.keys(rows[0])).not.toContain('vibration_amplitude');
    expect(new Set(rows.map((row) => row.equipment_id))).toEqual(new Set(['pump-1']));
    expect(rows.filter((row) => Number(row.pressure) < 0).length).toBeGreaterThan(100);
    expect(rows.every((row) => row.volume_flow_rate_rms === '32')).toBe(true);
  });

  test('a power meter, generated: string ids, an optional feature, malformed readings quarantined exactly', async () => {
    const report = await runLocal(
      options({ count: 12_000, seed: 5, badRatio: 0.05, schemaFile: join(SCHEMAS, 'power-meter.yaml') }),
    );

    expect(report).toMatchObject({
      schema: 'power-meter@1',
      sent: 12_000,
      malformedSent: 600,
      quarantined: 600,
      valid: 11_400,
      csvRows: 11_400,
      dynamoReadings: 11_400,
      archivedReadings: 12_000,
      deadLettered: 0,
      problems: [],
    });
  });

  test('a power meter, generated, without a bad ratio: what it sends is what the services hold', async () => {
    const dataDir = join(dir, 'data');
    const report = await runLocal(
      options({ count: 3_000, seed: 2, dataDir, schemaFile: join(SCHEMAS, 'power-meter.yaml') }),
    );

    expect(report).toMatchObject({
      sent: 3_000,
      valid: 3_000,
      csvRows: 3_000,
      dynamoReadings: 3_000,
      archivedReadings: 3_000,
      quarantined: 0,
      problems: [],
    });
    const rows = await csvLake(dataDir);
    expect(new Set(rows.map((row) => row.equipment_id))).toEqual(
      new Set(['feeder-01', 'feeder-02', 'feeder-03']),
    );
    // The optional grid frequency is now and then left out: an empty cell.
    expect(rows.some((row) => row.frequency_hz === '')).toBe(true);
    expect(rows.every((row) => row.power_factor !== '')).toBe(true);
  });
});

describe('npm start --schema, the command', () => {
  async function start(args: string[]): Promise<string[]> {
    const lines: string[] = [];
    await startCommand((line) => lines.push(line), new AbortController().signal)
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} })
      .parseAsync(args, { from: 'user' });
    return lines;
  }

  test("options that break the schema's rules, or that do not apply, are refused before anything starts", async () => {
    const power = join(SCHEMAS, 'power-meter.yaml');
    const csv = join(dir, 'x.csv');
    writeFileSync(csv, 'when,power_kw\n2026-01-01T00:00:00Z,1\n');

    await expect(start(['--schema', power, '--equipment', '101', '--count', '1'])).rejects.toThrow(
      '--equipment must be a comma-separated list of ids that match ^feeder-[0-9]{2}$.',
    );
    await expect(start(['--schema', power, '--map', 'humidity=x', '--replay', csv])).rejects.toThrow(
      '--map: "humidity" is not a reading field (power_kw, voltage_v, power_factor, frequency_hz).',
    );
    await expect(start(['--schema', power, '--replay', csv, '--seed', '3'])).rejects.toThrow(
      /^--seed does not apply to --replay/,
    );
    await expect(start(['--delimiter', ';', '--count', '1'])).rejects.toThrow(
      '--delimiter only applies to --replay',
    );
    await expect(start(['--schema', power, '--replay', csv, '--count', '1'])).rejects.toThrow(
      `${csv}: no column "voltage_v" for the feature voltage_v of ${power} (columns: when, power_kw)`,
    );
    await expect(start(['--schema', join(SCHEMAS, 'missing.yaml'), '--count', '1'])).rejects.toThrow(
      /cannot read the reading schema at .*missing\.yaml/,
    );
  });
});
