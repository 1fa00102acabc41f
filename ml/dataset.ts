import { FEATURES } from '../lambdas/shared/features';
import { parseTimestamp } from '../lambdas/shared/timestamp';
import { createLabGenerator, LAB_EQUIPMENT } from '../simulator/generator';

/**
 * Readings for training and evaluation, as streams: one per equipment (or per CSV file), each a time
 * series of feature values with, when known, a ground-truth label per reading.
 */
export interface Stream {
  key: string;
  timestamps: Float64Array;
  /** Row-major: reading i's feature f is values[i * width + f]. */
  values: Float64Array;
  /** Ground truth, when known: 0 for a normal reading, else a mask of its anomalous features (bit f for
   *  feature f); datasets labelled per reading only use 255 (every feature). */
  labels?: Uint8Array;
  /** The timestamps as the source wrote them (CSV files), for output that echoes them. */
  timestampTexts?: string[];
}

export interface Dataset {
  name: string;
  features: string[];
  streams: Stream[];
}

export function streamLength(stream: Stream): number {
  return stream.timestamps.length;
}

/**
 * `count` readings of the lab simulator with their labels, one stream per equipment, in the order the
 * pipeline receives them. Also returns the bursts' JSON, for scoring through the Lambda's code path.
 */
export function simulatorDataset(
  seed: number,
  count: number,
  rate = 3000,
): Dataset & { records: SimulatorRecord[] } {
  const generator = createLabGenerator({ seed });
  const perEquipment = new Map<number, { timestamps: number[]; values: number[]; labels: number[] }>();
  const records: SimulatorRecord[] = [];
  let startMs = Date.UTC(2026, 0, 1);
  let produced = 0;
  while (produced < count) {
    const step = generator.nextStep(startMs, rate, count - produced);
    startMs = step.endMs;
    for (const burst of step.bursts) {
      let series = perEquipment.get(burst.equipmentId);
      if (!series) {
        series = { timestamps: [], values: [], labels: [] };
        perEquipment.set(burst.equipmentId, series);
      }
      for (let i = 0; i < burst.readings; i++) {
        series.timestamps.push(timestampMs(burst.timestamps[i]));
        for (let f = 0; f < FEATURES.length; f++) series.values.push(burst.values[i * FEATURES.length + f]);
        series.labels.push(burst.anomalyMask);
      }
      records.push({
        equipmentId: burst.equipmentId,
        json: burst.json,
        anomalyMask: burst.anomalyMask,
        readings: burst.readings,
        endMs: burst.endMs,
      });
      produced += burst.readings;
    }
  }
  const order = [...perEquipment.keys()].sort((a, b) => LAB_EQUIPMENT.indexOf(a) - LAB_EQUIPMENT.indexOf(b));
  return {
    name: `simulator (seed ${seed}, ${count} readings)`,
    features: [...FEATURES],
    streams: order.map((id) => {
      const series = perEquipment.get(id) as { timestamps: number[]; values: number[]; labels: number[] };
      return {
        key: String(id),
        timestamps: Float64Array.from(series.timestamps),
        values: Float64Array.from(series.values),
        labels: Uint8Array.from(series.labels),
      };
    }),
    records,
  };
}

/** A simulator burst as the pipeline receives it: one Kinesis record. */
export interface SimulatorRecord {
  equipmentId: number;
  json: string;
  /** Anomalous features of the whole burst (bit i for FEATURES[i]); 0 when normal. */
  anomalyMask: number;
  readings: number;
  endMs: number;
}

function timestampMs(text: string): number {
  const parsed = parseTimestamp(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.epochMs;
}
