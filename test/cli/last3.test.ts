import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { last3Command } from '../../cli/last3';
import { queryLastMinutes } from '../../lambdas/shared/aws/last-minutes';
import { DEFAULT_DECODE_LIMITS } from '../../lambdas/shared/decode';
import { createDetector, parseDetectorModel } from '../../lambdas/shared/detector';
import { buildDocuments, LATEST_PK } from '../../lambdas/shared/documents';
import type { RecordSource } from '../../lambdas/shared/processed-reading';
import { DEFAULT_VALIDATION_LIMITS } from '../../lambdas/shared/reading';
import { scoreRecord } from '../../lambdas/shared/score-record';
import defaultModel from '../../model/default-model.json';
import { labReading } from '../fixtures/kinesis-event';

const NOW = Date.UTC(2026, 10, 23, 19, 50, 30);
const detector = createDetector(parseDetectorModel(defaultModel));

/** An in-memory table answering Query the way DynamoDB does for the key conditions last3 uses. */
function fakeTable() {
  const items: Record<string, unknown>[] = [];
  const stub: AwsClientStub<DynamoDBDocumentClient> = mockClient(DynamoDBDocumentClient);
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
