import { gunzipSync } from 'node:zlib';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { parseAnomalyRecord } from '../../lambdas/shared/anomaly-events';
import { CSV_HEADER } from '../../lambdas/shared/csv';
import { flattenDocument, type ReadingDocument } from '../../lambdas/shared/documents';
import {
  EQUIPMENT_DIMENSION,
  EQUIPMENT_METRICS,
  TRANSFORM_METRICS,
} from '../../lambdas/shared/metrics-catalog';
import {
  MINUTES_PK_PREFIX,
  mergeContributions,
  type WindowContribution,
} from '../../lambdas/shared/minute-windows';
import { withObservability } from '../../lambdas/shared/observability';
import { processTransformBatch } from '../../lambdas/transform/process-batch';
import { parseCsv } from '../fixtures/csv';
import {
  ARRIVAL_MS,
  kinesisEvent,
  labBurst,
  labReading,
  sequenceNumber,
  type TestRecord,
} from '../fixtures/kinesis-event';
import { objectText, putItemsOf, TEST_RETRY, transformHarness } from '../fixtures/transform-harness';

let harness: ReturnType<typeof transformHarness>;
beforeEach(() => {
  harness = transformHarness();
});
afterEach(() => harness.restore());

const csvKey = (seq: string) => `readings/dt=2026-11-23/hour=19/shardId-000000000000-${seq}.csv.gz`;
const quarantineKey = (seq: string) => `quarantine/dt=2026-11-23/hour=19/shardId-000000000000-${seq}.jsonl`;

function csvRows() {
  return [...harness.objects.entries()]
    .filter(([key]) => key.startsWith('readings/'))
    .flatMap(([, body]) => parseCsv(body));
}

/** The reading documents written (the table also holds per-minute window contributions). */
function readingDocuments(): ReadingDocument[] {
  return [...harness.items.values()].filter((item) =>
    String(item.pk).startsWith('readings#'),
  ) as unknown as ReadingDocument[];
}

function readingIds(rows: Record<string, string | number>[]) {
  return rows.map((row) => `${row.shard_id}/${row.sequence_number}/${row.reading_index}`);
}

/** Three single-reading records and one record holding a burst of five readings. */
function fourRecords(): TestRecord[] {
  return [
    { sequenceNumber: sequenceNumber(1), data: labReading(101, ARRIVAL_MS - 3_000) },
    { sequenceNumber: sequenceNumber(2), data: labReading(102, ARRIVAL_MS - 2_000), partitionKey: '102' },
    { sequenceNumber: sequenceNumber(3), data: labBurst(103, 5), partitionKey: '103' },
    { sequenceNumber: sequenceNumber(4), data: labReading(101, ARRIVAL_MS - 500) },
  ];
}

describe('transform batch', () => {
  test('a valid batch becomes one CSV object, one document per record and no failures', async () => {
    const response = await processTransformBatch(kinesisEvent(fourRecords()), harness.deps);

    expect(response.batchItemFailures).toEqual([]);
    expect([...harness.objects.keys()]).toEqual([csvKey(sequenceNumber(1))]);
    const body = harness.objects.get(csvKey(sequenceNumber(1))) as string;
    expect(body.split('\n')[0]).toBe(CSV_HEADER);
    const rows = parseCsv(body);
    expect(rows).toHaveLength(8);
    expect(rows[0]).toMatchObject({
      stream: 'sensor-readings',
      shard_id: 'shardId-000000000000',
      partition_key: '101',
      sequence_number: sequenceNumber(1),
      reading_index: '0',
      equipment_id: '101',
      vibration_amplitude: '251.3',
      is_anomaly: 'false',
      arrival_time: new Date(ARRIVAL_MS).toISOString(),
    });
    const documents = readingDocuments();
    expect(documents).toHaveLength(4);
    expect(documents.map((d) => d.count).sort()).toEqual([1, 1, 1, 5]);
    expect(harness.anomalyRecords).toEqual([]);
  });

  test('an array record becomes one document and one CSV row per reading, indexed by position', async () => {
    const response = await processTransformBatch(
      kinesisEvent([{ sequenceNumber: sequenceNumber(7), data: labBurst(101, 1000) }]),
      harness.deps,
    );

    expect(response.batchItemFailures).toEqual([]);
    const rows = csvRows();
    expect(rows.map((r) => Number(r.reading_index))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const [document] = readingDocuments();
    expect(readingDocuments()).toHaveLength(1);
    expect(document.count).toBe(1000);
    expect(flattenDocument(document).map((row) => row.timestamp)).toEqual(rows.map((r) => r.timestamp));
  });

  test('with K = 4 the documents and windows spread over 4 keys a minute, K raised in the table once', async () => {
    const deps = { ...harness.deps, config: { ...harness.deps.config, keySuffixes: 4 } };
    const records = Array.from({ length: 24 }, (_, i) => ({
      sequenceNumber: sequenceNumber(100 + i),
      data: labReading(101, ARRIVAL_MS - 3_000),
    }));
    const response = await processTransformBatch(kinesisEvent(records), deps);

    expect(response.batchItemFailures).toEqual([]);
    const suffixes = (prefix: string) =>
      new Set(
        [...harness.items.values()]
          .map((item) => String(item.pk))
          .filter((pk) => pk.startsWith(prefix))
          .map((pk) => pk.slice(`${prefix}2026-11-23T19:47`.length)),
      );
    expect(suffixes('readings#')).toEqual(new Set(['', '#1', '#2', '#3']));
    expect(suffixes('minutes#')).toEqual(new Set(['', '#1', '#2', '#3']));
    const raises = harness.documents
      .commandCalls(UpdateCommand)
      .filter((call) => call.args[0].input.Key?.pk === 'settings');
    expect(raises.map((call) => call.args[0].input.ExpressionAttributeValues)).toEqual([{ ':suffixes': 4 }]);
    // The same environment raises it once, whatever the later batches.
    await processTransformBatch(kinesisEvent(records.slice(0, 2)), deps);
    expect(
      harness.documents
        .commandCalls(UpdateCommand)
        .filter((call) => call.args[0].input.Key?.pk === 'settings'),
    ).toHaveLength(1);
  });

  test('with K = 1 (the default) every key is unsuffixed and nothing is raised', async () => {
    await processTransformBatch(kinesisEvent(fourRecords()), harness.deps);
    const keys = [...harness.items.values()]
      .map((item) => String(item.pk))
      .filter((pk) => pk.startsWith('readings#') || pk.startsWith('minutes#'));
    expect(keys.length).toBeGreaterThan(4);
    expect(keys.every((pk) => /T\d\d:\d\d$/.test(pk))).toBe(true);
    expect(
      harness.documents
        .commandCalls(UpdateCommand)
        .filter((call) => call.args[0].input.Key?.pk === 'settings'),
    ).toEqual([]);
  });

  test('invalid readings are quarantined with their reason while valid ones of the same record go through', async () => {
    const mixed = [
      labReading(101, ARRIVAL_MS - 100),
      labReading(101, ARRIVAL_MS - 90, { humidity: 140 }),
      labReading(101, ARRIVAL_MS - 80),
    ];
    const response = await processTransformBatch(
      kinesisEvent([
        { sequenceNumber: sequenceNumber(1), data: mixed },
        { sequenceNumber: sequenceNumber(2), data: Buffer.from('{"timestamp": oops') },
      ]),
      harness.deps,
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(csvRows().map((r) => r.reading_index)).toEqual(['0', '2']);
    const quarantined = (harness.objects.get(quarantineKey(sequenceNumber(1))) as string)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(quarantined).toHaveLength(2);
    expect(quarantined[0]).toMatchObject({
      sequence_number: sequenceNumber(1),
      reading_index: 1,
      reason: expect.stringMatching(/humidity 140 is above the physical maximum 100/),
      data: expect.objectContaining({ humidity: 140 }),
    });
    expect(quarantined[1]).toMatchObject({
      sequence_number: sequenceNumber(2),
      reading_index: null,
      reason: expect.stringMatching(/^record is not JSON/),
      data: '{"timestamp": oops',
      data_encoding: 'text',
    });
  });

  test('four 1 MiB records of half a million bad values each: the batch succeeds, the quarantine holds each record once', async () => {
    const zeros = Buffer.from(`[${new Array(520_000).fill('0').join(',')}]`);
    const records = [1, 2, 3, 4].map((n) => ({
      sequenceNumber: sequenceNumber(n),
      data: Uint8Array.from(zeros),
    }));
    records.push({ sequenceNumber: sequenceNumber(5), data: Buffer.from(JSON.stringify(labBurst(101, 3))) });
    const response = await processTransformBatch(kinesisEvent(records), harness.deps);

    expect(response.batchItemFailures).toEqual([]);
    expect(csvRows()).toHaveLength(3);
    const body = harness.objects.get(quarantineKey(sequenceNumber(1))) as string;
    expect(Buffer.byteLength(body)).toBeLessThan(4 * zeros.byteLength + 100_000);
    const entries = body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const summaries = entries.filter((e) => e.readings > 1);
    expect(summaries.map((e) => [e.sequence_number, e.readings])).toEqual(
      [1, 2, 3, 4].map((n) => [sequenceNumber(n), 520_000 - 10]),
    );
    expect(entries.reduce((n, e) => n + e.readings, 0)).toBe(4 * 520_000);
  });

  test('anomalous readings are put on the anomalies stream, grouped per equipment, keyed by equipment id', async () => {
    // Some context first: the detector judges a reading against its equipment's recent level.
    const calm = Array.from({ length: 30 }, (_, i) => labReading(101, ARRIVAL_MS - 100 + i));
    await processTransformBatch(
      kinesisEvent([
        {
          sequenceNumber: sequenceNumber(1),
          data: [
            ...calm,
            labReading(101, ARRIVAL_MS - 10, { temperature: 95 }),
            labReading(101, ARRIVAL_MS - 9),
          ],
        },
      ]),
      harness.deps,
    );

    expect(harness.anomalyRecords).toHaveLength(1);
    expect(harness.anomalyRecords[0].PartitionKey).toBe('101');
    const events = parseAnomalyRecord(harness.anomalyRecords[0].Data as Uint8Array);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event_id: `shardId-000000000000:${sequenceNumber(1)}:30`,
      equipment_id: 101,
      anomalous_features: ['temperature'],
      reasons: [expect.stringMatching(/^temperature spike \+5\d% off its level$/)],
    });
    expect(csvRows().map((r) => r.is_anomaly)).toEqual([...calm.map(() => 'false'), 'true', 'false']);
  });

  test('DynamoDB unprocessed items are retried until written', async () => {
    let calls = 0;
    harness.documents.on(BatchWriteItemCommand).callsFake((input) => {
      calls++;
      const items = putItemsOf(input);
      if (calls === 1) return { UnprocessedItems: input.RequestItems };
      for (const item of items) harness.items.set(`${item.pk}|${item.sk}`, item);
      return { UnprocessedItems: {} };
    });

    const response = await processTransformBatch(kinesisEvent(fourRecords().slice(0, 1)), harness.deps);

    expect(response.batchItemFailures).toEqual([]);
    expect(calls).toBe(2);
    expect(readingDocuments()).toHaveLength(1);
  });

  test('a record whose documents stay unprocessed is reported failed with every record after it, and the CSV holds only the records before it', async () => {
    harness.documents.on(BatchWriteItemCommand).callsFake((input) => {
      const items = putItemsOf(input);
      if (items.some((item) => item.equipment_id === 102)) return { UnprocessedItems: input.RequestItems };
      for (const item of items) harness.items.set(`${item.pk}|${item.sk}`, item);
      return { UnprocessedItems: {} };
    });

    const response = await processTransformBatch(kinesisEvent(fourRecords()), harness.deps);

    expect(response.batchItemFailures).toEqual([2, 3, 4].map((n) => ({ itemIdentifier: sequenceNumber(n) })));
    expect(csvRows().map((r) => r.sequence_number)).toEqual([sequenceNumber(1)]);
    expect(harness.documents.commandCalls(BatchWriteItemCommand)).toHaveLength(1 + TEST_RETRY.maxAttempts);
  });

  test('Kinesis records that fail in PutRecords are sent again, alone', async () => {
    const attempts: number[] = [];
    harness.kinesis.on(PutRecordsCommand).callsFake((input) => {
      attempts.push(input.Records.length);
      if (attempts.length === 1) {
        return {
          FailedRecordCount: 1,
          Records: input.Records.map((_: unknown, i: number) =>
            i === 1 ? { ErrorCode: 'ProvisionedThroughputExceededException' } : { SequenceNumber: '1' },
          ),
        };
      }
      harness.anomalyRecords.push(...input.Records);
      return { FailedRecordCount: 0, Records: input.Records.map(() => ({ SequenceNumber: '2' })) };
    });
    const hot = (id: number) => labReading(id, ARRIVAL_MS - 10, { vibration_frequency: 2_000 });

    const response = await processTransformBatch(
      kinesisEvent([{ sequenceNumber: sequenceNumber(1), data: [hot(101), hot(102), hot(103)] }]),
      harness.deps,
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(attempts).toEqual([3, 1]);
    expect(harness.anomalyRecords.map((r) => r.PartitionKey)).toEqual(['102']);
  });

  test('an S3 failure reports exactly the records whose rows the lost object held: all of them', async () => {
    harness.s3.on(PutObjectCommand).rejects(new Error('SlowDown'));

    const response = await processTransformBatch(kinesisEvent(fourRecords()), harness.deps);

    expect(response.batchItemFailures).toEqual(
      [1, 2, 3, 4].map((n) => ({ itemIdentifier: sequenceNumber(n) })),
    );
  });

  test('when every record fails the batch fails as a whole, so Lambda bisects it', async () => {
    harness.documents.on(BatchWriteItemCommand).rejects(new Error('AccessDeniedException'));

    await expect(processTransformBatch(kinesisEvent(fourRecords()), harness.deps)).rejects.toThrow(
      /All records failed processing/,
    );
  });

  test('the CSV object is GZIP (.csv.gz, no Content-Encoding: Athena unzips it by its name), and a replay rewrites that key', async () => {
    const event = kinesisEvent(fourRecords());
    await processTransformBatch(event, harness.deps);
    const key = csvKey(sequenceNumber(1));
    const put = harness.s3.commandCalls(PutObjectCommand).find((call) => call.args[0].input.Key === key);
    const input = put?.args[0].input;
    expect(input?.ContentType).toBe('application/gzip');
    expect(input?.ContentEncoding).toBeUndefined();
    const body = harness.bodies.get(key) as Uint8Array;
    expect([body[0], body[1]]).toEqual([0x1f, 0x8b]); // the GZIP magic number
    const text = gunzipSync(body).toString('utf8');
    expect(text.split('\n')[0]).toBe(CSV_HEADER);
    expect(parseCsv(text)).toHaveLength(8);
    expect(body.byteLength).toBeLessThan(Buffer.byteLength(text));

    await processTransformBatch(event, harness.deps);
    expect([...harness.bodies.keys()].filter((k) => k.startsWith('readings/'))).toEqual([key]);
    const again = parseCsv(gunzipSync(harness.bodies.get(key) as Uint8Array).toString('utf8'));
    expect(readingIds(again)).toEqual(readingIds(parseCsv(text)));
  });

  test('a replayed batch rewrites the same S3 keys and DynamoDB keys, with the same readings', async () => {
    const event = kinesisEvent(fourRecords());
    await processTransformBatch(event, harness.deps);
    const objectsBefore = new Map(harness.objects);
    const keysBefore = [...harness.items.keys()].sort();
    const idsBefore = readingIds(csvRows());

    await processTransformBatch(event, harness.deps);

    expect([...harness.objects.keys()]).toEqual([...objectsBefore.keys()]);
    expect([...harness.items.keys()].sort()).toEqual(keysBefore);
    expect(readingIds(csvRows())).toEqual(idsBefore);
    expect(harness.s3.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  test('a retry from a failed record writes each reading into the CSV lake exactly once', async () => {
    let failRecordTwo = true;
    harness.documents.on(BatchWriteItemCommand).callsFake((input) => {
      const items = putItemsOf(input);
      if (failRecordTwo && items.some((item) => item.sequence_number === sequenceNumber(2))) {
        throw new Error('InternalServerError');
      }
      for (const item of items) harness.items.set(`${item.pk}|${item.sk}`, item);
      return { UnprocessedItems: {} };
    });
    const records = fourRecords();
    const first = await processTransformBatch(kinesisEvent(records), harness.deps);
    expect(first.batchItemFailures[0].itemIdentifier).toBe(sequenceNumber(2));

    failRecordTwo = false;
    // Lambda resumes from the first reported record.
    await processTransformBatch(kinesisEvent(records.slice(1)), harness.deps);

    const ids = readingIds(csvRows());
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(8);
  });

  test('a bisected retry after the objects were written once still counts each reading once', async () => {
    // First attempt: the CSV lands but the quarantine object does not, so the batch is retried;
    // Lambda may split it in two, and the first half rewrites the first attempt's CSV key.
    const records: TestRecord[] = [
      ...fourRecords(),
      { sequenceNumber: sequenceNumber(5), data: Buffer.from('not json') },
    ];
    let quarantineFails = true;
    harness.s3.on(PutObjectCommand).callsFake((input) => {
      if (quarantineFails && input.Key.startsWith('quarantine/')) throw new Error('InternalError');
      harness.objects.set(input.Key, objectText(input.Key, input.Body));
      return {};
    });
    const first = await processTransformBatch(kinesisEvent(records), harness.deps);
    expect(first.batchItemFailures).toHaveLength(5);
    // The failed attempt returned only once its CSV object was written (compressed off the event loop,
    // it finishes after the quarantine's failure): a write landing after the retry's would undo it.
    expect(csvRows()).toHaveLength(8);

    quarantineFails = false;
    await processTransformBatch(kinesisEvent(records.slice(0, 2)), harness.deps);
    await processTransformBatch(kinesisEvent(records.slice(2)), harness.deps);

    const ids = readingIds(csvRows());
    expect(ids.sort()).toEqual(
      [
        `shardId-000000000000/${sequenceNumber(1)}/0`,
        `shardId-000000000000/${sequenceNumber(2)}/0`,
        ...[0, 1, 2, 3, 4].map((i) => `shardId-000000000000/${sequenceNumber(3)}/${i}`),
        `shardId-000000000000/${sequenceNumber(4)}/0`,
      ].sort(),
    );
    const documentReadings = readingDocuments().reduce((n, document) => n + document.count, 0);
    expect(documentReadings).toBe(8);
  });

  test('the Lambda handler, with logging and metrics middleware, returns the partial batch response', async () => {
    harness.s3.on(PutObjectCommand).rejects(new Error('SlowDown'));
    const handler = withObservability(
      (event: Parameters<typeof processTransformBatch>[0], context) =>
        processTransformBatch(event, harness.deps, context),
      harness.deps,
    );
    const context = { functionName: 'transform', awsRequestId: 'req-1' } as Context;

    const response = await handler(kinesisEvent(fourRecords().slice(0, 2)), context);

    expect(response.batchItemFailures).toHaveLength(2);
  });

  test('emits the per-batch and per-equipment metrics the dashboard reads, named as in the catalog', async () => {
    const batchMetrics = jest.spyOn(harness.deps.metrics, 'addMetric');
    const equipmentMetrics = jest.spyOn(harness.deps.equipmentMetrics, 'addMetric');
    const dimensions = jest.spyOn(harness.deps.equipmentMetrics, 'addDimension');

    await processTransformBatch(kinesisEvent(fourRecords()), harness.deps);

    expect(batchMetrics.mock.calls.map(([name]) => name).sort()).toEqual(
      Object.values(TRANSFORM_METRICS).sort(),
    );
    expect(dimensions.mock.calls).toEqual([
      [EQUIPMENT_DIMENSION, '101'],
      [EQUIPMENT_DIMENSION, '102'],
      [EQUIPMENT_DIMENSION, '103'],
    ]);
    const of101 = Object.fromEntries(
      equipmentMetrics.mock.calls.slice(0, 6).map(([name, , value]) => [name, value]),
    );
    expect(of101).toEqual({
      [EQUIPMENT_METRICS.readings]: 2,
      [EQUIPMENT_METRICS.anomalies]: 0,
      [EQUIPMENT_METRICS.featureSums.vibration_amplitude]: 2 * 251.3,
      [EQUIPMENT_METRICS.featureSums.vibration_frequency]: 2 * 1003.2,
      [EQUIPMENT_METRICS.featureSums.temperature]: 2 * 60.4,
      [EQUIPMENT_METRICS.featureSums.humidity]: 2 * 29.8,
    });
  });

  test('per-minute windows: out-of-order readings counted in their minute, late ones as late, and a replay counts nothing twice', async () => {
    const minute = Math.floor(ARRIVAL_MS / 60_000) * 60_000;
    const event = kinesisEvent([
      {
        sequenceNumber: sequenceNumber(1),
        data: [
          labReading(101, minute + 5_000),
          labReading(101, minute - 30_000),
          labReading(101, minute + 2_000),
          // Ten minutes before arrival: later than the 120 s lateness.
          labReading(101, ARRIVAL_MS - 600_000),
        ],
      },
      {
        sequenceNumber: sequenceNumber(2),
        data: [labReading(101, minute + 8_000), labReading(102, minute + 9_000)],
      },
    ]);
    const windows = () =>
      mergeContributions(
        [...harness.items.values()].filter((item) =>
          String(item.pk).startsWith(MINUTES_PK_PREFIX),
        ) as unknown as WindowContribution[],
      ).map((w) => [w.equipmentId, new Date(w.minuteMs).toISOString().slice(11, 16), w.count, w.late]);

    await processTransformBatch(event, harness.deps);
    const once = windows();
    await processTransformBatch(event, harness.deps);

    expect(once).toEqual([
      [101, new Date(ARRIVAL_MS - 600_000).toISOString().slice(11, 16), 0, 1],
      [101, new Date(minute - 30_000).toISOString().slice(11, 16), 1, 0],
      [101, new Date(minute).toISOString().slice(11, 16), 3, 0],
      [102, new Date(minute).toISOString().slice(11, 16), 1, 0],
    ]);
    expect(windows()).toEqual(once);
  });
});
