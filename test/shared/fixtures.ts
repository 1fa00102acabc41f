import { DEFAULT_DECODE_LIMITS } from '../../lambdas/shared/decode';
import { createDetector, type Detector, parseDetectorModel } from '../../lambdas/shared/detector';
import {
  LIST_SEPARATOR,
  type ProcessedReading,
  type ReadingRow,
  type RecordSource,
  roundScore,
} from '../../lambdas/shared/processed-reading';
import { DEFAULT_VALIDATION_LIMITS } from '../../lambdas/shared/reading';
import { type RecordLimits, scoreRecord } from '../../lambdas/shared/score-record';
import defaultModelJson from '../../model/default-model.json';

/** When the test records "arrived" on the stream. */
export const ARRIVAL_MS = Date.UTC(2026, 10, 23, 19, 47, 10);

export const SOURCE: RecordSource = {
  stream: 'sensor-readings',
  shardId: 'shardId-000000000000',
  partitionKey: '101',
  sequenceNumber: '49654321098765432109876543210987654321098765432109876543',
  arrivalMs: ARRIVAL_MS,
};

export const LIMITS: RecordLimits = { ...DEFAULT_DECODE_LIMITS, ...DEFAULT_VALIDATION_LIMITS };

export const defaultModel = () => parseDetectorModel(structuredClone(defaultModelJson));

/** A detector with no history: the detector keeps state per equipment, and tests must not share it. */
export const freshDetector = (): Detector => createDetector(defaultModel());

/** A raw reading as a producer sends it, at the model's baseline unless overridden. */
export function rawReading(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: '2026-11-23T19:47:09Z',
    equipment_id: 101,
    vibration_amplitude: 250,
    vibration_frequency: 1000,
    temperature: 60,
    humidity: 30,
    ...overrides,
  };
}

export function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function encodeJson(value: unknown): Uint8Array {
  return encode(JSON.stringify(value));
}

/** Scores raw readings as one Kinesis record and returns the processed readings; fails on any quarantine. */
export function processRecord(
  readings: readonly Record<string, unknown>[],
  source: RecordSource = SOURCE,
): ProcessedReading[] {
  const result = scoreRecord(source, encodeJson(readings), freshDetector(), LIMITS);
  if (result.quarantined.length > 0) {
    throw new Error(
      `fixture readings were quarantined: ${result.quarantined.map((q) => q.reason).join(' | ')}`,
    );
  }
  return result.processed;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SIMULATOR_BASE = { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 60, humidity: 30 };

/**
 * Readings like the lab simulator's: base * (1 + burst offset + noise), each term uniform in +-10%, at
 * full float precision; every third reading has one feature pushed 40-60% off so it is anomalous.
 */
export function simulatorReadings(
  count: number,
  options: { equipmentId?: number; startMs?: number; stepMs?: number; seed?: number } = {},
): Record<string, unknown>[] {
  const { equipmentId = 101, startMs = Date.UTC(2026, 10, 23, 19, 47, 0), stepMs = 50, seed = 42 } = options;
  const random = seededRandom(seed);
  const uniform = () => (random() * 2 - 1) * 0.1;
  const burst = uniform();
  const features = Object.keys(SIMULATOR_BASE) as (keyof typeof SIMULATOR_BASE)[];
  return Array.from({ length: count }, (_, i) => {
    const values = Object.fromEntries(
      features.map((feature) => [feature, SIMULATOR_BASE[feature] * (1 + burst + uniform())]),
    ) as Record<keyof typeof SIMULATOR_BASE, number>;
    if (i % 3 === 0) {
      const feature = features[Math.floor(random() * features.length)];
      const spiked = SIMULATOR_BASE[feature] * (1.4 + random() * 0.2);
      values[feature] = feature === 'humidity' ? Math.min(spiked, 100) : spiked;
    }
    return { timestamp: new Date(startMs + i * stepMs).toISOString(), equipment_id: equipmentId, ...values };
  });
}

/**
 * The row a scored reading must become, written plainly: the reference that the transform's CSV
 * (toCsv) and the documents read back (flattenDocument) are checked against, cell for cell.
 */
export function toReadingRow(processed: ProcessedReading): ReadingRow {
  const { source, reading } = processed;
  return {
    stream: source.stream,
    shard_id: source.shardId,
    partition_key: source.partitionKey,
    sequence_number: source.sequenceNumber,
    reading_index: processed.index,
    arrival_time: new Date(source.arrivalMs).toISOString(),
    timestamp: new Date(reading.timestampMs).toISOString(),
    equipment_id: reading.equipmentId,
    ...reading.values,
    anomaly_score: roundScore(processed.score),
    is_anomaly: processed.isAnomaly,
    anomalous_features: processed.anomalousFeatures.join(LIST_SEPARATOR),
    reasons: processed.reasons.join(LIST_SEPARATOR),
    model_version: processed.modelVersion,
  };
}
