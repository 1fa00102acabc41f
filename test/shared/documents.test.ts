import {
  buildDocuments,
  DEFAULT_DOCUMENT_OPTIONS,
  DOCUMENT_COLUMNS,
  flattenDocument,
  type ReadingDocument,
} from '../../lambdas/shared/documents';
import { dynamoItemSize, dynamoValueSize } from './dynamodb-item-size';
import { ARRIVAL_MS, processRecord, rawReading, SOURCE, simulatorReadings, toReadingRow } from './fixtures';

const ONE_MINUTE_OF_1000 = processRecord(simulatorReadings(1000));

function flattenAll(documents: readonly ReadingDocument[]) {
  return documents.flatMap(flattenDocument).sort((a, b) => a.reading_index - b.reading_index);
}

const keysOf = (documents: readonly ReadingDocument[]) => documents.map(({ pk, sk }) => ({ pk, sk }));

describe('buildDocuments and flattenDocument', () => {
  it('round-trip a 1000-reading record to exactly the rows toReadingRow gives', () => {
    const anomalies = ONE_MINUTE_OF_1000.filter((p) => p.isAnomaly);
    expect(anomalies.length).toBeGreaterThan(200); // the round trip covers reasons and masks too
    expect(anomalies.some((p) => p.anomalousFeatures.length > 0 && p.reasons.length > 0)).toBe(true);
    const documents = buildDocuments(SOURCE, ONE_MINUTE_OF_1000);
    expect(flattenAll(documents)).toEqual(ONE_MINUTE_OF_1000.map(toReadingRow));
  });

  it('round-trip a record spanning equipment, minutes and parts', () => {
    const processed = processRecord([
      ...simulatorReadings(40, { equipmentId: 101, startMs: Date.UTC(2026, 10, 23, 19, 46, 59), seed: 1 }),
      ...simulatorReadings(40, { equipmentId: 102, startMs: Date.UTC(2026, 10, 23, 19, 47, 59), seed: 2 }),
    ]);
    const documents = buildDocuments(SOURCE, processed, {
      ...DEFAULT_DOCUMENT_OPTIONS,
      maxDocumentBytes: 2_000,
    });
    expect(documents.length).toBeGreaterThan(4);
    expect(flattenAll(documents)).toEqual(processed.map(toReadingRow));
  });

  it('puts one equipment’s 1000 readings within one minute into exactly 1 document', () => {
    const documents = buildDocuments(SOURCE, ONE_MINUTE_OF_1000);
    expect(documents).toHaveLength(1);
    const [document] = documents;
    expect(document).toMatchObject({
      pk: 'readings#2026-11-23T19:47',
      sk: `101#${SOURCE.shardId}#${SOURCE.sequenceNumber}#0`,
      equipment_id: 101,
      part: 0,
      count: 1000,
      anomalies: ONE_MINUTE_OF_1000.filter((p) => p.isAnomaly).length,
      first_ms: Date.UTC(2026, 10, 23, 19, 47, 0),
      last_ms: Date.UTC(2026, 10, 23, 19, 47, 0) + 999 * 50,
      arrival_ms: ARRIVAL_MS,
      expires_at: ARRIVAL_MS / 1000 + 7 * 24 * 3600,
      columns: [...DOCUMENT_COLUMNS],
    });
    expect(document.readings).toHaveLength(1000);
  });

  it('gives one document per UTC minute when the readings span two minutes', () => {
    const processed = processRecord([
      rawReading({ timestamp: '2026-11-23T19:47:59.990Z' }),
      rawReading({ timestamp: '2026-11-23T19:48:00.000Z' }),
      rawReading({ timestamp: '2026-11-23T19:47:30.000Z' }),
    ]);
    const documents = buildDocuments(SOURCE, processed);
    expect(documents.map((d) => [d.pk, d.count])).toEqual([
      ['readings#2026-11-23T19:47', 2],
      ['readings#2026-11-23T19:48', 1],
    ]);
    expect(new Set(documents.map((d) => d.sk)).size).toBe(2);
    expect(documents[0].first_ms).toBe(Date.UTC(2026, 10, 23, 19, 47, 30));
  });

  it('gives one document per equipment within a minute, with distinct sort keys', () => {
    const processed = processRecord([
      rawReading({ equipment_id: 101 }),
      rawReading({ equipment_id: 102 }),
      rawReading({ equipment_id: 101, timestamp: '2026-11-23T19:47:01Z' }),
    ]);
    const documents = buildDocuments(SOURCE, processed);
    expect(documents.map((d) => [d.pk, d.equipment_id, d.count])).toEqual([
      ['readings#2026-11-23T19:47', 101, 2],
      ['readings#2026-11-23T19:47', 102, 1],
    ]);
    expect(documents[0].sk.startsWith('101#')).toBe(true);
    expect(documents[1].sk.startsWith('102#')).toBe(true);
    expect(documents[0].sk).not.toBe(documents[1].sk);
  });

  it('splits under a small maxDocumentBytes into parts that hold all readings, each within the bound', () => {
    const maxDocumentBytes = 8_000;
    const documents = buildDocuments(SOURCE, ONE_MINUTE_OF_1000, {
      ...DEFAULT_DOCUMENT_OPTIONS,
      maxDocumentBytes,
    });
    expect(documents.length).toBeGreaterThan(5);
    for (const document of documents) {
      expect(Buffer.byteLength(JSON.stringify(document))).toBeLessThanOrEqual(maxDocumentBytes);
    }
    expect(documents.map((d) => d.part)).toEqual(documents.map((_, i) => i));
    expect(new Set(documents.map((d) => d.sk)).size).toBe(documents.length);
    expect(documents.reduce((sum, d) => sum + d.count, 0)).toBe(1000);
    expect(documents.flatMap((d) => d.readings.map((row) => row[0]))).toEqual(
      ONE_MINUTE_OF_1000.map((p) => p.index),
    );
  });

  it('gives the same keys for the same input every time (a retried record rewrites its items)', () => {
    const input = [
      ...simulatorReadings(500, { equipmentId: 101, startMs: Date.UTC(2026, 10, 23, 19, 46, 50), seed: 7 }),
      ...simulatorReadings(500, { equipmentId: 102, startMs: Date.UTC(2026, 10, 23, 19, 46, 50), seed: 8 }),
    ];
    const options = { ...DEFAULT_DOCUMENT_OPTIONS, maxDocumentBytes: 10_000 };
    const first = buildDocuments(SOURCE, processRecord(input), options);
    const again = buildDocuments(SOURCE, processRecord(input), options);
    expect(first.length).toBeGreaterThan(4);
    expect(keysOf(again)).toEqual(keysOf(first));
  });

  it('writes sk as <equipmentId>#<shardId>#<sequenceNumber>#<part> and pk as readings#YYYY-MM-DDTHH:MM', () => {
    const documents = buildDocuments(SOURCE, ONE_MINUTE_OF_1000, {
      ...DEFAULT_DOCUMENT_OPTIONS,
      maxDocumentBytes: 20_000,
    });
    documents.forEach((document, part) => {
      expect(document.sk.startsWith(`101#${SOURCE.shardId}#${SOURCE.sequenceNumber}#`)).toBe(true);
      expect(document.sk).toBe(`101#${SOURCE.shardId}#${SOURCE.sequenceNumber}#${part}`);
      expect(document.pk).toMatch(/^readings#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    });
  });
});

describe('DynamoDB item size', () => {
  it('the size helper follows the AWS rules on known values', () => {
    expect(dynamoItemSize({ a: 'abc' })).toBe(4);
    expect(dynamoItemSize({ n: 251.29348573658214 })).toBe(1 + Math.ceil(17 / 2) + 1);
    expect(dynamoValueSize(60000)).toBe(2); // trailing zeros do not count
    expect(dynamoValueSize(0.0012)).toBe(2); // nor leading zeros
    expect(dynamoValueSize([1, 2])).toBe(3 + 2 * (1 + 2));
    expect(dynamoValueSize({ k: true, é: null })).toBe(3 + (1 + 1 + 1) + (1 + 2 + 1));
  });

  it('a 1000-reading document of simulator-like values is far below the 400 KB item limit', () => {
    const [document] = buildDocuments(SOURCE, ONE_MINUTE_OF_1000);
    expect(document.count).toBe(1000);
    const explained = Object.values(document.reasons).flat().length;
    expect(explained).toBe(document.anomalies);
    expect(explained).toBeGreaterThan(200);
    const size = dynamoItemSize(document as unknown as Record<string, unknown>);
    console.log(
      `DynamoDB item size of a 1000-reading document: ${size} bytes (${(size / 1024).toFixed(1)} KiB; ` +
        `${explained} anomalies with ${Object.keys(document.reasons).length} distinct reasons; JSON ${Buffer.byteLength(JSON.stringify(document))} bytes)`,
    );
    expect(size).toBeLessThan(100_000);
  });
});
