import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { last3Command } from '../../cli/last3';
import { queryLastMinutes } from '../../lambdas/shared/aws/last-minutes';
import { DEFAULT_DECODE_LIMITS } from '../../lambdas/shared/decode';
import { createDetector, parseDetectorModel } from '../../lambdas/shared/detector';
import { buildDocuments, LATEST_PK } from '../../lambdas/shared/documents';
import { windowContributions } from '../../lambdas/shared/minute-windows';
import type { ProcessedReading, RecordSource } from '../../lambdas/shared/processed-reading';
import { DEFAULT_VALIDATION_LIMITS, type EquipmentId } from '../../lambdas/shared/reading';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { scoreRecord } from '../../lambdas/shared/score-record';
import defaultModel from '../../model/default-model.json';
import { labReading } from '../fixtures/kinesis-event';

const NOW = Date.UTC(2026, 10, 23, 19, 50, 30);
const detector = createDetector(parseDetectorModel(defaultModel));

/** An in-memory table answering Query the way DynamoDB does for the key conditions last3 uses. */
function fakeTable() {
  const items: Record<string, unknown>[] = [];
  const stub: AwsClientStub<DynamoDBDocumentClient> = mockClient(DynamoDBDocumentClient);
  stub.on(GetCommand).callsFake((input) => ({
    Item: items.find((item) => item.pk === input.Key.pk && item.sk === input.Key.sk),
  }));
  stub.on(QueryCommand).callsFake((input) => {
    const values = input.ExpressionAttributeValues;
    const prefix = values[':equipment'] as string | undefined;
    const exactSk = values[':sk'] as string | undefined;
    return {
      Items: items.filter(
        (item) =>
          item.pk === values[':pk'] &&
          (prefix === undefined || String(item.sk).startsWith(prefix)) &&
          (exactSk === undefined || item.sk === exactSk),
      ),
    };
  });
  return { items, stub };
}

/** Stores a record of readings the way the transform does: documents plus newest-reading markers. */
function store(items: Record<string, unknown>[], sequence: number, readings: Record<string, unknown>[]) {
  const source: RecordSource = {
    stream: 'sensor-readings',
    shardId: 'shardId-000000000000',
    partitionKey: String(readings[0].equipment_id),
    sequenceNumber: String(sequence),
    arrivalMs: NOW,
  };
  const { processed } = scoreRecord(source, Buffer.from(JSON.stringify(readings)), detector, {
    ...DEFAULT_DECODE_LIMITS,
    ...DEFAULT_VALIDATION_LIMITS,
  });
  items.push(...(buildDocuments(source, processed) as unknown as Record<string, unknown>[]));
  for (const p of processed) {
    const marker = items.find((i) => i.pk === LATEST_PK && i.sk === String(p.reading.equipmentId));
    if (!marker)
      items.push({ pk: LATEST_PK, sk: String(p.reading.equipmentId), latest_ms: p.reading.timestampMs });
    else marker.latest_ms = Math.max(Number(marker.latest_ms), p.reading.timestampMs);
  }
}

let table: ReturnType<typeof fakeTable>;
const client = () => DynamoDBDocumentClient.from(new DynamoDBClient({}));

beforeEach(() => {
  table = fakeTable();
  // Equipment 101: one reading every 30 s from 10 minutes ago until now; equipment 102: 5 minutes ago only.
  store(
    table.items,
    1,
    Array.from({ length: 21 }, (_, i) => labReading(101, NOW - 600_000 + i * 30_000)),
  );
  store(table.items, 2, [labReading(102, NOW - 300_000, { temperature: 95 })]);
});
afterEach(() => table.stub.restore());

describe('last 3 minutes', () => {
  test('relative to now: only readings within the window, oldest first, by Query on the minute partitions, never Scan', async () => {
    const result = await queryLastMinutes(client(), { tableName: 't', relativeTo: 'now', nowMs: NOW });

    expect(result.rows.map((r) => r.timestamp)).toEqual(
      [6, 5, 4, 3, 2, 1, 0].map((k) => new Date(NOW - k * 30_000).toISOString()),
    );
    expect(table.stub.commandCalls(ScanCommand)).toHaveLength(0);
    const partitions = table.stub
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':pk']);
    expect(partitions.sort()).toEqual([
      'readings#2026-11-23T19:47',
      'readings#2026-11-23T19:48',
      'readings#2026-11-23T19:49',
      'readings#2026-11-23T19:50',
    ]);
  });

  test('with K = 3 recorded in the table, each minute is read under its 3 keys; old documents included', async () => {
    table.items.push({ pk: 'settings', sk: 'key-suffixes', suffixes: 3 });
    const result = await queryLastMinutes(client(), { tableName: 't', relativeTo: 'now', nowMs: NOW });

    // The documents stored above are unsuffixed (suffix 0), as every document written before suffixes.
    expect(result.rows).toHaveLength(7);
    const partitions = table.stub
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':pk']);
    expect(partitions.sort()).toEqual(
      ['19:47', '19:48', '19:49', '19:50'].flatMap((minute) =>
        ['', '#1', '#2'].map((suffix) => `readings#2026-11-23T${minute}${suffix}`),
      ),
    );
  });

  test("relative to latest for one equipment ends the window at that equipment's newest reading", async () => {
    const result = await queryLastMinutes(client(), {
      tableName: 't',
      relativeTo: 'latest',
      equipmentId: 102,
    });

    expect(result.toMs).toBe(NOW - 300_000);
    expect(result.rows).toHaveLength(1);
    expect(result.rows[0]).toMatchObject({
      equipment_id: 102,
      is_anomaly: true,
      anomalous_features: 'temperature',
    });
    const conditions = table.stub
      .commandCalls(QueryCommand)
      .map((c) => c.args[0].input.KeyConditionExpression);
    expect(conditions).toContain('pk = :pk AND begins_with(sk, :equipment)');
  });

  test('relative to latest with no readings stored returns no window and no rows', async () => {
    table.items.length = 0;

    const result = await queryLastMinutes(client(), { tableName: 't', relativeTo: 'latest' });

    expect(result).toEqual({ rows: [] });
  });

  test('npm run last3 prints a table with a summary, or every row as JSON', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {}, client };

    await last3Command(io).parseAsync(['--relative-to', 'latest', '--equipment', '101', '--limit', '2'], {
      from: 'user',
    });
    await last3Command(io).parseAsync(['--relative-to', 'latest', '--json'], { from: 'user' });

    const [tableText, jsonText] = out;
    expect(tableText.split('\n')[0]).toMatch(
      /^TIMESTAMP\s+EQUIPMENT\s+AMPLITUDE\s+FREQUENCY\s+TEMPERATURE\s+HUMIDITY\s+SCORE/,
    );
    expect(tableText).toContain('7 readings of equipment 101');
    expect(tableText).toContain('the newest 2 shown');
    const json = JSON.parse(jsonText);
    expect(json).toMatchObject({ relativeTo: 'latest', count: 7, to: new Date(NOW).toISOString() });
    expect(json.rows).toHaveLength(7);
  });
});

const POWER_METER_FILE = join(__dirname, '..', '..', 'schemas', 'power-meter.yaml');
const POWER_METER = loadReadingSchema(POWER_METER_FILE);

/** Stores readings of any schema as the transform does: documents, window contributions, newest-reading markers. */
function storeSchemaReadings(
  items: Record<string, unknown>[],
  sequence: number,
  readings: {
    equipmentId: EquipmentId;
    timestampMs: number;
    values: Record<string, number>;
    hot?: boolean;
  }[],
) {
  const source: RecordSource = {
    stream: 'sensor-readings',
    shardId: 'shardId-000000000000',
    partitionKey: String(readings[0].equipmentId),
    sequenceNumber: String(sequence),
    arrivalMs: NOW,
  };
  const processed: ProcessedReading[] = readings.map(({ hot, ...reading }, index) => ({
    source,
    index,
    reading,
    score: hot ? 0.97 : 0.12,
    isAnomaly: hot === true,
    anomalousFeatures: hot ? ['voltage_v'] : [],
    reasons: hot ? ['voltage 470 V over its limit 440 V'] : [],
    modelVersion: 'test',
  }));
  items.push(
    ...(buildDocuments(source, processed, undefined, POWER_METER) as unknown as Record<string, unknown>[]),
    ...(windowContributions(source, processed, 60_000, 3_600, POWER_METER) as unknown as Record<
      string,
      unknown
    >[]),
  );
  for (const { equipmentId, timestampMs } of readings) {
    const marker = items.find((i) => i.pk === LATEST_PK && i.sk === String(equipmentId));
    if (!marker) items.push({ pk: LATEST_PK, sk: String(equipmentId), latest_ms: timestampMs });
    else marker.latest_ms = Math.max(Number(marker.latest_ms), timestampMs);
  }
}

describe('npm run last3 -- --schema FILE (string equipment ids, an optional feature)', () => {
  const normal = { power_kw: 320.5, voltage_v: 400.25, power_factor: 0.934, frequency_hz: 50.012 };

  beforeEach(() => {
    table.items.length = 0;
    storeSchemaReadings(table.items, 11, [
      { equipmentId: 'feeder-10', timestampMs: NOW - 30_000, values: normal },
      {
        equipmentId: 'feeder-10',
        timestampMs: NOW - 20_000,
        values: { ...normal, frequency_hz: Number.NaN },
      },
    ]);
    storeSchemaReadings(table.items, 12, [
      { equipmentId: 'feeder-02', timestampMs: NOW - 25_000, values: normal },
      {
        equipmentId: 'feeder-02',
        timestampMs: NOW - 10_000,
        values: { ...normal, voltage_v: 470 },
        hot: true,
      },
    ]);
  });

  async function run(args: string[]): Promise<string> {
    const out: string[] = [];
    await last3Command({ out: (t: string) => out.push(t), err: () => {}, client })
      .exitOverride()
      .configureOutput({ writeErr: (text) => out.push(text) })
      .parseAsync(['--schema', POWER_METER_FILE, '--relative-to', 'latest', ...args], { from: 'user' });
    return out.join('');
  }

  test('a column per feature, headed by its label and unit, values to their precision, a left-out value blank', async () => {
    const lines = (await run([])).split('\n');

    expect(lines[0].split(/\s{2,}/)).toEqual([
      'TIMESTAMP',
      'EQUIPMENT',
      'ACTIVE POWER (kW)',
      'VOLTAGE (V)',
      'POWER FACTOR',
      'GRID FREQUENCY (Hz)',
      'SCORE',
      'ANOMALY',
      'REASONS',
    ]);
    const cells = (line: string) => line.split(/\s{2,}/);
    expect(lines.slice(1, 5).map(cells)).toEqual([
      [new Date(NOW - 30_000).toISOString(), 'feeder-10', '320.50', '400.25', '0.934', '50.012', '0.120'],
      [new Date(NOW - 25_000).toISOString(), 'feeder-02', '320.50', '400.25', '0.934', '50.012', '0.120'],
      [new Date(NOW - 20_000).toISOString(), 'feeder-10', '320.50', '400.25', '0.934', '0.120'],
      [
        new Date(NOW - 10_000).toISOString(),
        'feeder-02',
        '320.50',
        '470.00',
        '0.934',
        '50.012',
        '0.970',
        'yes',
        'voltage 470 V over its limit 440 V',
      ],
    ]);
    // The left-out frequency is a blank cell under its header, not a shifted column.
    const frequencyAt = lines[0].indexOf('GRID FREQUENCY');
    expect(lines[3].slice(frequencyAt, frequencyAt + 5).trim()).toBe('');
    expect(lines.at(-1)).toContain('4 readings of equipment feeder-02, feeder-10');
  });

  test('--equipment takes a string id of the schema, and refuses one that does not match it', async () => {
    const text = await run(['--equipment', 'feeder-02']);
    expect(text).toContain('2 readings of equipment feeder-02 ');
    expect(text).not.toContain('feeder-10');

    await expect(run(['--equipment', '101'])).rejects.toThrow(
      '--equipment must be an equipment id of the schema power-meter@1 (matching ^feeder-[0-9]{2}$).',
    );
  });

  test('--json: rows with the schema features by name, null for a left-out one', async () => {
    const json = JSON.parse(await run(['--json']));

    expect(json).toMatchObject({ schema: 'power-meter@1', count: 4, anomalies: 1 });
    expect(json.features).toEqual(['power_kw', 'voltage_v', 'power_factor', 'frequency_hz']);
    expect(json.rows[2]).toMatchObject({
      equipment_id: 'feeder-10',
      power_kw: 320.5,
      voltage_v: 400.25,
      power_factor: 0.934,
      frequency_hz: null,
      is_anomaly: false,
    });
    expect(Object.keys(json.rows[0]).slice(7, 13)).toEqual([
      'equipment_id',
      'power_kw',
      'voltage_v',
      'power_factor',
      'frequency_hz',
      'anomaly_score',
    ]);
  });

  test('--per-minute: the windows with the schema features, as a table and as JSON', async () => {
    const lines = (await run(['--per-minute'])).split('\n');
    const json = JSON.parse(await run(['--per-minute', '--json']));

    expect(lines[0].split(/\s{2,}/)).toEqual([
      'MINUTE',
      'EQUIPMENT',
      'READINGS',
      'LATE',
      'ANOMALIES',
      'ACTIVE POWER (kW)',
      'VOLTAGE (V)',
      'POWER FACTOR',
      'GRID FREQUENCY (Hz)',
    ]);
    expect(lines.slice(1, 3).map((line) => line.split(/\s{2,}/).slice(1))).toEqual([
      ['feeder-02', '2', '0', '1', '320.50', '435.13', '0.934', '50.012'],
      ['feeder-10', '2', '0', '0', '320.50', '400.25', '0.934', '50.012'],
    ]);
    expect(json.map((w: { equipment_id: string }) => w.equipment_id)).toEqual(['feeder-02', 'feeder-10']);
    expect(json[1].avg).toEqual({
      power_kw: 320.5,
      voltage_v: 400.25,
      power_factor: 0.934,
      frequency_hz: 50.012,
    });
    expect(json[0].max.voltage_v).toBe(470);
  });

  test('--features keeps the columns named, in the schema order, and refuses a name not in it', async () => {
    const header = (await run(['--features', 'frequency_hz,power_kw'])).split('\n')[0];
    expect(header.split(/\s{2,}/).slice(2, 5)).toEqual(['ACTIVE POWER (kW)', 'GRID FREQUENCY (Hz)', 'SCORE']);

    await expect(run(['--features', 'power_kw,temperature'])).rejects.toThrow(
      '--features: temperature not in the schema power-meter@1',
    );
  });

  test('--schema with a file that is not a schema is an option error naming the file', async () => {
    const out: string[] = [];
    await expect(
      last3Command({ out: (t: string) => out.push(t), err: () => {}, client })
        .exitOverride()
        .configureOutput({ writeErr: (text) => out.push(text) })
        .parseAsync(['--schema', join(__dirname, 'missing.json')], { from: 'user' }),
    ).rejects.toThrow("option '--schema <file>' argument");
    expect(out.join('')).toContain(`cannot read the reading schema at ${join(__dirname, 'missing.json')}`);
  });
});
