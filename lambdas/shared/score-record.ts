import type { KinesisStreamRecord } from 'aws-lambda';
import { type DecodeLimits, decodeRecordData } from './decode';
import type { Detector } from './detector';
import type { ProcessedReading, RecordSource } from './processed-reading';
import { type QuarantineEntry, quarantineEntry, rawRecordData } from './quarantine';
import { type ValidationLimits, validateReading } from './reading';

export type RecordLimits = DecodeLimits & ValidationLimits;

export interface ScoredRecord {
  processed: ProcessedReading[];
  quarantined: QuarantineEntry[];
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
): ScoredRecord {
  const decoded = decodeRecordData(data, limits);
  if (!decoded.ok) {
    const raw = rawRecordData(data);
    return {
      processed: [],
      quarantined: [quarantineEntry(source, null, decoded.reason, raw.data, raw.encoding)],
    };
  }
  const processed: ProcessedReading[] = [];
  const quarantined: QuarantineEntry[] = [];
  decoded.readings.forEach((value, index) => {
    const result = validateReading(value, source.arrivalMs, limits);
    if (!result.ok) {
      quarantined.push(quarantineEntry(source, index, result.reason, value, 'json'));
      return;
    }
    const score = detector.score(result.reading);
    processed.push({
      source,
      index,
      reading: result.reading,
      score: score.score,
      isAnomaly: score.isAnomaly,
      anomalousFeatures: score.anomalousFeatures,
      reasons: score.reasons,
      modelVersion: detector.modelVersion,
    });
  });
  return { processed, quarantined };
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
