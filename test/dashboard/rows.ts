import { join } from 'node:path';
import type { FeatureValues } from '../../lambdas/shared/features';
import type { ReadingRow } from '../../lambdas/shared/processed-reading';
import type { EquipmentId } from '../../lambdas/shared/reading';
import type { ReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';

/** Readings as flat rows, the shape queryLastMinutes returns: the lab's, and any schema's. */

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

/** A reading of any schema as a flat row: `values` by feature name (NaN for one left out). */
export function schemaRow(
  equipmentId: EquipmentId,
  timeMs: number,
  values: FeatureValues,
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
    ...values,
    anomaly_score: 0.1,
    is_anomaly: false,
    anomalous_features: '',
    reasons: '',
    model_version: 'test',
    ...overrides,
  };
}

/** The schemas shipped as examples, as the dashboard and last3 load them. */
export const SKAB_SCHEMA = loadReadingSchema(join(__dirname, '..', '..', 'schemas', 'skab.json'));
export const POWER_METER_SCHEMA = loadReadingSchema(
  join(__dirname, '..', '..', 'schemas', 'power-meter.yaml'),
);

/** Each feature's typical value (its simulation base, else the middle of its range). */
export function typicalValues(schema: ReadingSchema): FeatureValues {
  return Object.fromEntries(schema.features.map((f) => [f.name, f.simulation?.base ?? (f.min + f.max) / 2]));
}
