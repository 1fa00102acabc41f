import { join } from 'node:path';
import { DEFAULT_DECODE_LIMITS } from '../../lambdas/shared/decode';
import { createDetector } from '../../lambdas/shared/detector';
import {
  buildDocuments,
  DEFAULT_DOCUMENT_OPTIONS,
  DOCUMENT_COLUMNS,
  DocumentFormatError,
  documentReadingCount,
  flattenDocument,
  type ReadingDocument,
} from '../../lambdas/shared/documents';
import type { RecordSource } from '../../lambdas/shared/processed-reading';
import { DEFAULT_VALIDATION_LIMITS } from '../../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { scoreRecord } from '../../lambdas/shared/score-record';
import { createLabGenerator } from '../../simulator/generator';
import { createSchemaGenerator } from '../../simulator/schema-generator';
import { buildLegacyDocuments } from '../fixtures/legacy-documents';
import { dynamoItemSize, dynamoValueSize } from './dynamodb-item-size';
import {
  ARRIVAL_MS,
  defaultModel,
  processRecord,
  rawReading,
  SOURCE,
  simulatorReadings,
  toReadingRow,
} from './fixtures';

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
      form: 2,
    });
    expect(document.data).toBeInstanceOf(Uint8Array);
    expect(documentReadingCount(document)).toBe(1000);
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
      expect(dynamoItemSize(document as unknown as Record<string, unknown>)).toBeLessThanOrEqual(
        maxDocumentBytes,
      );
    }
    expect(documents.map((d) => d.part)).toEqual(documents.map((_, i) => i));
    expect(new Set(documents.map((d) => d.sk)).size).toBe(documents.length);
    expect(documents.reduce((sum, d) => sum + d.count, 0)).toBe(1000);
    expect(documents.flatMap((d) => flattenDocument(d).map((row) => row.reading_index))).toEqual(
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

/** DynamoDB bills a write unit per KB (1,024 bytes) of an item, rounded up, per item written. */
const writeUnits = (item: object) => Math.ceil(dynamoItemSize(item as Record<string, unknown>) / 1024);

/**
 * Write units per 1,000 readings of documents of each form, over `steps` steps of a simulator's
 * 1,000-reading records as the transform scores them (the default model for the lab's schema).
 */
function measureWriteUnits(schema: ReadingSchema, steps: number) {
  const lab = schema.isLab;
  const generator = lab
    ? createLabGenerator({ seed: 1 })
    : createSchemaGenerator({ schema, seed: 1, burstSize: 1000 });
  const detector = lab ? createDetector(defaultModel()) : createDetector(undefined, {}, schema);
  const limits = { ...DEFAULT_DECODE_LIMITS, ...DEFAULT_VALIDATION_LIMITS };
  let t = Date.UTC(2026, 10, 23, 19, 0, 0);
  const totals = { readings: 0, oldUnits: 0, newUnits: 0, oldBytes: 0, newBytes: 0, documents: 0 };
  for (let s = 0; s < steps; s++) {
    const step = generator.nextStep(t, 3000);
    t = step.endMs;
    for (const [b, burst] of step.bursts.entries()) {
      const source: RecordSource = {
        ...SOURCE,
        partitionKey: String(burst.equipmentId),
        sequenceNumber: `${SOURCE.sequenceNumber.slice(0, -6)}${String(s * 10 + b).padStart(6, '0')}`,
        arrivalMs: t + 1_000,
      };
      const { processed } = scoreRecord(source, Buffer.from(burst.json), detector, limits, schema);
      const fresh = buildDocuments(source, processed, undefined, schema);
      const old = buildLegacyDocuments(source, processed, undefined, schema);
      totals.readings += processed.length;
      totals.documents += fresh.length;
      for (const d of fresh) {
        totals.newUnits += writeUnits(d);
        totals.newBytes += dynamoItemSize(d as unknown as Record<string, unknown>);
      }
      for (const d of old) {
        totals.oldUnits += writeUnits(d);
        totals.oldBytes += dynamoItemSize(d as unknown as Record<string, unknown>);
      }
    }
  }
  const per1000 = (n: number) => (n * 1000) / totals.readings;
  return {
    oldUnits: per1000(totals.oldUnits),
    newUnits: per1000(totals.newUnits),
    oldBytes: totals.oldBytes / totals.documents,
    newBytes: totals.newBytes / totals.documents,
  };
}

describe('the size bound', () => {
  it('keeps every document of a 5,000-reading record of full-precision values within maxDocumentBytes', () => {
    const processed = processRecord(simulatorReadings(5000, { stepMs: 10 }));
    for (const maxDocumentBytes of [200_000, 50_000]) {
      const documents = buildDocuments(SOURCE, processed, { ...DEFAULT_DOCUMENT_OPTIONS, maxDocumentBytes });
      expect(documents.reduce((n, d) => n + d.count, 0)).toBe(5000);
      for (const document of documents)
        expect(dynamoItemSize(document as unknown as Record<string, unknown>)).toBeLessThanOrEqual(
          maxDocumentBytes,
        );
    }
  });
});

describe('write units per 1,000 readings, form 1 against form 2', () => {
  it("cuts the lab simulator's by at least 3x (measured: about 38 against 10)", () => {
    const { oldUnits, newUnits, oldBytes, newBytes } = measureWriteUnits(LAB_SCHEMA, 10);
    console.log(
      `lab: ${oldUnits.toFixed(1)} -> ${newUnits.toFixed(1)} write units per 1,000 readings ` +
        `(documents of ${Math.round(oldBytes)} -> ${Math.round(newBytes)} bytes)`,
    );
    expect(oldUnits).toBeGreaterThan(33);
    expect(newUnits).toBeLessThanOrEqual(oldUnits / 3);
    expect(newUnits).toBeLessThanOrEqual(11);
  });

  it("cuts SKAB's simulated pump readings too", () => {
    const skab = loadReadingSchema(join(__dirname, '..', '..', 'schemas', 'skab.json'));
    const { oldUnits, newUnits, oldBytes, newBytes } = measureWriteUnits(skab, 5);
    console.log(
      `SKAB: ${oldUnits.toFixed(1)} -> ${newUnits.toFixed(1)} write units per 1,000 readings ` +
        `(documents of ${Math.round(oldBytes)} -> ${Math.round(newBytes)} bytes)`,
    );
    expect(newUnits).toBeLessThanOrEqual(oldUnits / 3);
  });
});

describe('key suffixes', () => {
  const records = Array.from({ length: 40 }, (_, i) => ({ ...SOURCE, sequenceNumber: `4965${i}` }));
  const reading = [rawReading()];

  it('K = 1 writes the unsuffixed key, as before', () => {
    const [document] = buildDocuments(SOURCE, processRecord(reading));
    expect(document.pk).toBe('readings#2026-11-23T19:47');
  });

  it('spreads records over readings#<minute> and readings#<minute>#1..K-1, the same key on every retry', () => {
    const options = { ...DEFAULT_DOCUMENT_OPTIONS, keySuffixes: 4 };
    const keys = records.map(
      (source) => buildDocuments(source, processRecord(reading, source), options)[0].pk,
    );
    expect(new Set(keys)).toEqual(
      new Set([
        'readings#2026-11-23T19:47',
        'readings#2026-11-23T19:47#1',
        'readings#2026-11-23T19:47#2',
        'readings#2026-11-23T19:47#3',
      ]),
    );
    const again = records.map(
      (source) => buildDocuments(source, processRecord(reading, source), options)[0].pk,
    );
    expect(again).toEqual(keys);
  });
});

describe('reading documents as untrusted input', () => {
  const [document] = buildDocuments(SOURCE, processRecord(simulatorReadings(20)));
  const named = /^document readings#2026-11-23T19:47\/101#shardId-000000000000#\d+#0: /;

  it('refuses damaged binary readings with a clear error naming the document', () => {
    const damaged = Uint8Array.from(document.data);
    damaged[damaged.length - 3] ^= 0xff;
    expect(() => flattenDocument({ ...document, data: damaged })).toThrow(DocumentFormatError);
    expect(() => flattenDocument({ ...document, data: damaged })).toThrow(named);
    expect(() => flattenDocument({ ...document, data: document.data.subarray(0, 10) })).toThrow(named);
  });

  it('refuses a count the readings do not hold, an unknown form, and readings that are not binary', () => {
    expect(() => flattenDocument({ ...document, count: 21 })).toThrow(
      /hold 20 x 8 values where the document says 21 x 8/,
    );
    expect(() => flattenDocument({ ...document, count: 1e12 })).toThrow(/exceed/);
    expect(() => flattenDocument({ ...document, form: 3 } as unknown as ReadingDocument)).toThrow(
      /form 3 is unknown/,
    );
    expect(() => flattenDocument({ ...document, data: 'abc' } as unknown as ReadingDocument)).toThrow(
      /not a binary value/,
    );
  });
});
