import type { KinesisStreamRecord } from 'aws-lambda';
import { type DecodeLimits, decodeRecordData } from './decode';
import type { Detector } from './detector';
import type { ProcessedReading, RecordSource } from './processed-reading';
import { type QuarantineEntry, quarantineEntry, RecordQuarantine, rawRecordData } from './quarantine';
import { type Reading, readingValidator, type ValidationLimits } from './reading';
import { LAB_SCHEMA, type ReadingSchema } from './reading-schema';

export type RecordLimits = DecodeLimits & ValidationLimits;

export interface ScoredRecord {
  processed: ProcessedReading[];
  quarantined: QuarantineEntry[];
  /** Readings scored while the detector was still learning their equipment (their scores are 0). */
  warmingUp: number;
}

/** A record's readings that passed validation, with their index in the record. */
export interface ValidRecord {
  valid: { index: number; reading: Reading }[];
  quarantined: QuarantineEntry[];
}

/**
 * Decodes and validates one Kinesis record's data. Never throws for bad input: every reading comes out
 * either valid or quarantined with its reason.
 */
export function validateRecord(
  source: RecordSource,
  data: Uint8Array,
  limits: RecordLimits,
  schema: ReadingSchema = LAB_SCHEMA,
): ValidRecord {
  const validate = readingValidator(schema);
  const decoded = decodeRecordData(data, limits);
  if (!decoded.ok) {
    const raw = rawRecordData(data);
    return {
      valid: [],
      quarantined: [quarantineEntry(source, null, decoded.reason, raw.data, raw.encoding)],
    };
  }
  const valid: ValidRecord['valid'] = [];
  const quarantine = new RecordQuarantine(source);
  decoded.readings.forEach((value, index) => {
    const result = validate(value, source.arrivalMs, limits);
    if (result.ok) valid.push({ index, reading: result.reading });
    else quarantine.add(index, result.reason, value);
  });
  return { valid, quarantined: quarantine.finish(data) };
}

/** Scores a record's valid readings, in order, moving the detector's state. */
export function scoreValidRecord(
  source: RecordSource,
  record: ValidRecord,
  detector: Detector,
): ScoredRecord {
  let warmingUp = 0;
  const processed = record.valid.map(({ index, reading }): ProcessedReading => {
    const score = detector.score(reading);
    if (score.warmingUp) warmingUp++;
    return {
      source,
      index,
      reading,
      score: score.score,
      isAnomaly: score.isAnomaly,
      anomalousFeatures: score.anomalousFeatures,
      reasons: score.reasons,
      modelVersion: detector.modelVersion,
    };
  });
  return { processed, quarantined: record.quarantined, warmingUp };
}

/**
 * Decodes, validates and scores one Kinesis record's data. Never throws for bad input: every reading
 * comes out either scored or quarantined with its reason.
 */
export function scoreRecord(
  source: RecordSource,
  data: Uint8Array,
  detector: Detector,
  limits: RecordLimits,
  schema: ReadingSchema = LAB_SCHEMA,
): ScoredRecord {
  return scoreValidRecord(source, validateRecord(source, data, limits, schema), detector);
}

/** The Kinesis metadata of a Lambda event record. */
export function recordSource(record: KinesisStreamRecord): RecordSource {
  const arnStream = record.eventSourceARN.split(':stream/')[1];
  return {
    stream: arnStream ?? record.eventSourceARN,
    shardId: record.eventID.split(':')[0],
    partitionKey: record.kinesis.partitionKey,
    sequenceNumber: record.kinesis.sequenceNumber,
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
  };
}
