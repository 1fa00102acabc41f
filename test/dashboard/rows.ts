import type { FeatureValues } from '../../lambdas/shared/features';
import type { ReadingRow } from '../../lambdas/shared/processed-reading';

/** Lab-like readings as flat rows, the shape queryLastMinutes returns. */

export const BASELINE: FeatureValues = {
  vibration_amplitude: 250,
  vibration_frequency: 1000,
  temperature: 60,
  humidity: 30,
};

export function readingRow(
  equipmentId: number,
  timeMs: number,
  overrides: Partial<ReadingRow> = {},
): ReadingRow {
  return {
    stream: 'sensor-readings',
    shard_id: 'shardId-000000000000',
    partition_key: String(equipmentId),
    sequence_number: '1',
    reading_index: 0,
    arrival_time: new Date(timeMs).toISOString(),
    timestamp: new Date(timeMs).toISOString(),
    equipment_id: equipmentId,
    ...BASELINE,
    anomaly_score: 0.1,
    is_anomaly: false,
    anomalous_features: '',
    reasons: '',
    model_version: 'test',
    ...overrides,
  };
}

/** A reading whose temperature is anomalous, as the transform flags one. */
export function hotReading(equipmentId: number, timeMs: number, temperature = 95): ReadingRow {
  return readingRow(equipmentId, timeMs, {
    temperature,
    anomaly_score: 0.97,
    is_anomaly: true,
    anomalous_features: 'temperature',
    reasons: `temperature +${Math.round((temperature / BASELINE.temperature - 1) * 100)}% over baseline`,
  });
}
