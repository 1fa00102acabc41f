import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { decodeColumns } from '../../lambdas/shared/column-codec';
import { toCsv } from '../../lambdas/shared/csv';
import { createDetector } from '../../lambdas/shared/detector';
import {
  buildDocuments,
  DOCUMENT_FORM,
  flattenDocument,
  type LegacyReadingDocument,
} from '../../lambdas/shared/documents';
import { mergeContributions, windowContributions } from '../../lambdas/shared/minute-windows';
import type { ProcessedReading, RecordSource } from '../../lambdas/shared/processed-reading';
import { readingValidator } from '../../lambdas/shared/reading';
import { LAB_SCHEMA } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import { scoreRecord } from '../../lambdas/shared/score-record';
import { buildLegacyDocuments } from '../fixtures/legacy-documents';
import { encodeJson, LIMITS, toReadingRow } from './fixtures';

const ROOT = join(__dirname, '..', '..');
const GOLDEN = join(ROOT, 'test', 'fixtures', 'lab-golden');
const SOURCE: RecordSource = {
  stream: 'sensor-readings',
  shardId: 'shardId-000000000000',
  partitionKey: '=101',
  sequenceNumber: '49654321098765432109876543210987654321098765432109876543',
  arrivalMs: Date.UTC(2026, 10, 23, 19, 47, 10),
};

/** The readings test/fixtures/lab-golden was written from, by the code before the reading schema. */
function labReadings(): ProcessedReading[] {
  return Array.from({ length: 12 }, (_, i) => ({
    source: SOURCE,
    index: i,
    reading: {
      equipmentId: 101 + (i % 2),
      timestampMs: Date.UTC(2026, 10, 23, 19, 46, 58) + i * 1000 + (i % 3),
      values: {
        vibration_amplitude: 250.13 + i,
        vibration_frequency: 1003.2 - i / 7,
        temperature: -4.5 + i * 1.25,
        humidity: 29.8,
      },
    },
    score: i / 13,
    isAnomaly: i % 4 === 0,
    anomalousFeatures: i % 4 === 0 ? ['temperature', 'humidity'] : [],
    reasons: i % 4 === 0 ? ['temperature +23% over baseline', 'humidity, "spiky" +5% off its level'] : [],
    modelVersion: 'regime-level-simulator-2+adaptive-1',
  }));
}

const SKAB = loadReadingSchema(join(ROOT, 'schemas', 'skab.json'));
const METER = loadReadingSchema(join(ROOT, 'schemas', 'power-meter.yaml'));

describe("the lab's schema writes what the pipeline wrote before the reading schema, byte for byte", () => {
  test.each([
    ['no schema given', undefined],
    ['the lab schema', LAB_SCHEMA],
    ['schemas/lab.json', loadReadingSchema(join(ROOT, 'schemas', 'lab.json'))],
  ])('%s: the CSV object and the window contributions', (_name, schema) => {
    const readings = labReadings();
    expect(toCsv(readings, schema)).toBe(readFileSync(join(GOLDEN, 'readings.csv'), 'utf8'));
    const windows = windowContributions(SOURCE, readings, 120_000, 86_400, schema);
    // Since, windows keep their highest score, and those with anomalies count them per feature (the
    // dashboard's score lane and marks on long ranges): the rest is as before. Readings 0, 4 and 8 of equipment 101 are anomalous on
    // temperature and humidity, the first in minute 19:46, the others in 19:47.
    expect(windows.map((w) => [w.equipment_id, new Date(w.minute_ms).toISOString(), w.flagged])).toEqual([
      [101, '2026-11-23T19:46:00.000Z', [0, 0, 1, 1]],
      [102, '2026-11-23T19:46:00.000Z', undefined],
      [101, '2026-11-23T19:47:00.000Z', [0, 0, 2, 2]],
      [102, '2026-11-23T19:47:00.000Z', undefined],
    ]);
    // Reading i scores i / 13, kept to 4 decimals.
    expect(windows.map((w) => w.max_score)).toEqual([0, 0.0769, 0.7692, 0.8462]);
    expect(
      `${JSON.stringify(
        windows.map(({ flagged, max_score, ...before }) => before),
        null,
        2,
      )}\n`,
    ).toBe(readFileSync(join(GOLDEN, 'windows.json'), 'utf8'));
  });
});

describe('documents: form 1 (the golden file) still read, form 2 written with the same summary', () => {
  const golden = () =>
    JSON.parse(readFileSync(join(GOLDEN, 'documents.json'), 'utf8')) as LegacyReadingDocument[];

  test('the form 1 test builder writes the golden documents byte for byte (it is the old writer)', () => {
    expect(`${JSON.stringify(buildLegacyDocuments(SOURCE, labReadings()), null, 2)}\n`).toBe(
      readFileSync(join(GOLDEN, 'documents.json'), 'utf8'),
    );
  });

  test('form 1 documents read back to the rows the CSV holds', () => {
    const rows = golden().flatMap(flattenDocument);
    expect(rows.sort((a, b) => a.reading_index - b.reading_index)).toEqual(labReadings().map(toReadingRow));
  });

  test.each([
    ['no schema given', undefined],
    ['the lab schema', LAB_SCHEMA],
    ['schemas/lab.json', loadReadingSchema(join(ROOT, 'schemas', 'lab.json'))],
  ])('%s: form 2 holds the golden summary, and exactly its readings as columns', (_name, schema) => {
    const documents = buildDocuments(SOURCE, labReadings(), undefined, schema);
    const old = golden();
    expect(documents).toHaveLength(old.length);
    documents.forEach((document, i) => {
      const { readings, ...summary } = old[i];
      const { data, form, ...rest } = document;
      expect(form).toBe(DOCUMENT_FORM);
      // Attribute for attribute, in the same order: form and data stand where readings stood.
      expect(JSON.stringify(rest)).toBe(JSON.stringify(summary));
      const columns = decodeColumns(data, { readings: readings.length, columns: summary.columns.length });
      const rows = readings.map((_, r) => columns.map((column) => column[r]));
      expect(rows).toEqual(readings.map((row) => row.map((cell) => cell ?? Number.NaN)));
      expect(flattenDocument(document)).toEqual(flattenDocument(old[i]));
    });
  });
});

describe("another schema's readings, carried through under their own names", () => {
  /** A SKAB row as the replay sends it, under the schema's names; pressure negative, as SKAB's goes. */
  const skabReading = (overrides: Record<string, unknown> = {}) => ({
    timestamp: '2026-11-23 19:47:01',
    equipment: 'pump-1',
    accelerometer_1_rms: 0.027,
    accelerometer_2_rms: 0.039,
    current: 0.87,
    pressure: -0.93,
    temperature: 75.5,
    thermocouple: 25.8,
    voltage: 244.1,
    volume_flow_rate_rms: 32,
    ...overrides,
  });

  test('SKAB: string equipment ids and negative pressures pass; the lab fields do not', () => {
    const validate = readingValidator(SKAB);
    expect(validate(skabReading(), SOURCE.arrivalMs)).toMatchObject({
      ok: true,
      reading: { equipmentId: 'pump-1', values: { pressure: -0.93, volume_flow_rate_rms: 32 } },
    });
    expect(validate(skabReading({ pressure: -11 }), SOURCE.arrivalMs)).toEqual({
      ok: false,
      reason: 'pressure -11 is below the physical minimum -10 bar',
    });
    expect(validate(skabReading({ equipment: 'Pump 1' }), SOURCE.arrivalMs)).toEqual({
      ok: false,
      reason: 'equipment the string "Pump 1" does not match ^[a-z0-9][a-z0-9-]{0,31}$',
    });
    expect(validate(skabReading({ humidity: 30 }), SOURCE.arrivalMs)).toEqual({
      ok: false,
      reason: 'unknown field "humidity"',
    });
  });

  test('SKAB: the CSV header and documents hold the schema’s features in its order, and read back', () => {
    const record = [skabReading(), skabReading({ timestamp: '2026-11-23 19:47:02', current: 2.5 })];
    const detector = createDetector(undefined, {}, SKAB);
    const { processed, quarantined } = scoreRecord(SOURCE, encodeJson(record), detector, LIMITS, SKAB);
    expect(quarantined).toEqual([]);
    const rows = parse(toCsv(processed, SKAB), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0])).toEqual([
      'stream',
      'shard_id',
      'partition_key',
      'sequence_number',
      'reading_index',
      'arrival_time',
      'timestamp',
      'equipment_id',
      ...SKAB.featureNames,
      'anomaly_score',
      'is_anomaly',
      'anomalous_features',
      'reasons',
      'model_version',
    ]);
    expect(rows.map((r) => [r.equipment_id, r.pressure, r.current])).toEqual([
      ['pump-1', '-0.93', '0.87'],
      ['pump-1', '-0.93', '2.5'],
    ]);
    const [document] = buildDocuments(SOURCE, processed, undefined, SKAB);
    expect(document).toMatchObject({ equipment_id: 'pump-1', schema: 'skab-pump@1', count: 2 });
    expect(document.sk.startsWith('pump-1#')).toBe(true);
    expect(document.columns).toEqual([
      'reading_index',
      'offset_ms',
      ...SKAB.featureNames,
      'anomaly_score',
      'anomaly_mask',
    ]);
    expect(
      flattenDocument(document).map((row) => [row.equipment_id, row.pressure, row.volume_flow_rate_rms]),
    ).toEqual([
      ['pump-1', -0.93, 32],
      ['pump-1', -0.93, 32],
    ]);
  });

  test('power meter: an optional feature left out is empty in the lake, null in documents, and not averaged', () => {
    const reading = (time: string, frequency?: number) => ({
      meter: 'feeder-01',
      time,
      power_kw: 320,
      voltage_v: 400,
      power_factor: 0.93,
      ...(frequency === undefined ? {} : { frequency_hz: frequency }),
    });
    const record = [reading('2026-11-23T19:47:01Z', 50.01), reading('2026-11-23T19:47:02Z')];
    const detector = createDetector(undefined, {}, METER);
    const { processed, quarantined } = scoreRecord(SOURCE, encodeJson(record), detector, LIMITS, METER);
    expect(quarantined).toEqual([]);
    expect(Number.isNaN(processed[1].reading.values.frequency_hz)).toBe(true);
    const rows = parse(toCsv(processed, METER), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.frequency_hz)).toEqual(['50.01', '']);
    const [document] = buildDocuments(SOURCE, processed, undefined, METER);
    const frequency = flattenDocument(document).map((row) => row.frequency_hz);
    expect(frequency[0]).toBe(50.01);
    expect(Number.isNaN(frequency[1])).toBe(true);
    // Form 1 held null there, which reads back the same.
    const [legacy] = buildLegacyDocuments(SOURCE, processed, undefined, METER);
    expect(legacy.readings.map((row) => row[legacy.columns.indexOf('frequency_hz')])).toEqual([50.01, null]);
    expect(flattenDocument(legacy)).toEqual(flattenDocument(document));
    const contributions = windowContributions(SOURCE, processed, 120_000, 86_400, METER);
    expect(contributions.map((c) => c.schema)).toEqual([METER.id]);
    const [window] = mergeContributions(contributions, METER);
    expect(window.count).toBe(2);
    expect(window.means[METER.featureNames.indexOf('frequency_hz')]).toBeCloseTo(50.01, 10);
    expect(window.means[METER.featureNames.indexOf('power_kw')]).toBe(320);
    // A reader of another schema (the lab's, or another version of the meter's) sums none of them.
    expect(mergeContributions(contributions)).toEqual([]);
    expect(mergeContributions(contributions, { ...METER, id: `${METER.name}@2` })).toEqual([]);
    // The schema's forms: the lab's "YYYY-MM-DD HH:MM:SS" is not one of the meter's.
    const lab = scoreRecord(SOURCE, encodeJson([reading('2026-11-23 19:47:03')]), detector, LIMITS, METER);
    expect(lab.quarantined[0].reason).toMatch(/is of the lab form; this schema takes iso8601, epoch-millis/);
  });

  test("a schema's absolute limits reach the detector, with units in the reason", () => {
    const detector = createDetector(undefined, {}, METER);
    const { processed } = scoreRecord(
      SOURCE,
      encodeJson([
        { meter: 'feeder-02', time: '2026-11-23T19:47:01Z', power_kw: 1, voltage_v: 470, power_factor: 0.9 },
      ]),
      detector,
      LIMITS,
      METER,
    );
    expect(processed[0].isAnomaly).toBe(true);
    expect(processed[0].reasons).toEqual(['voltage 470 V over its limit 440 V']);
  });
});
