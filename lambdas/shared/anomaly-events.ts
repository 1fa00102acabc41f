import { z } from 'zod';
import { type ProcessedReading, roundScore } from './processed-reading';
import type { EquipmentId } from './reading';

/**
 * Events on the `anomalies` stream: one per anomalous reading. They travel as JSON arrays, one Kinesis
 * record per input record and equipment (about a third of the simulator's readings are anomalous, far
 * more than a shard's 1,000 records/s if each were its own record), keyed by equipment id so the
 * alerter sees each equipment's events in order. `event_id` is stable across retries.
 */

export const anomalyEventSchema = z.object({
  event_id: z.string(),
  equipment_id: z.union([z.number().int(), z.string()]),
  timestamp: z.string(),
  timestamp_ms: z.number(),
  score: z.number().min(0).max(1),
  anomalous_features: z.array(z.string()).min(1),
  reasons: z.array(z.string()),
  /** By feature of the reading schema; null for an optional feature the reading left out. */
  values: z.record(z.string(), z.number().nullable()),
  model_version: z.string(),
  source: z.object({
    stream: z.string(),
    shard_id: z.string(),
    sequence_number: z.string(),
    reading_index: z.number().int(),
  }),
});

export type AnomalyEvent = z.infer<typeof anomalyEventSchema>;

export function toAnomalyEvent(processed: ProcessedReading): AnomalyEvent {
  const { source, reading } = processed;
  return {
    event_id: `${source.shardId}:${source.sequenceNumber}:${processed.index}`,
    equipment_id: reading.equipmentId,
    timestamp: new Date(reading.timestampMs).toISOString(),
    timestamp_ms: reading.timestampMs,
    score: roundScore(processed.score),
    anomalous_features: processed.anomalousFeatures,
    reasons: processed.reasons,
    values: Object.fromEntries(
      Object.entries(reading.values).map(([feature, value]) => [
        feature,
        !Number.isNaN(value) ? value : null,
      ]),
    ),
    model_version: processed.modelVersion,
    source: {
      stream: source.stream,
      shard_id: source.shardId,
      sequence_number: source.sequenceNumber,
      reading_index: processed.index,
    },
  };
}

export interface StreamEntry {
  partitionKey: string;
  data: Uint8Array;
}

/** Kinesis accepts 1 MiB per record; stay well below it. */
export const MAX_ANOMALY_RECORD_BYTES = 900_000;

/** Groups events by equipment into records of at most `maxBytes`, keeping their order. */
export function toAnomalyRecords(
  events: readonly AnomalyEvent[],
  maxBytes = MAX_ANOMALY_RECORD_BYTES,
): StreamEntry[] {
  const byEquipment = new Map<EquipmentId, string[]>();
  for (const event of events) {
    const list = byEquipment.get(event.equipment_id) ?? [];
    list.push(JSON.stringify(event));
    byEquipment.set(event.equipment_id, list);
  }
  const entries: StreamEntry[] = [];
  for (const [equipmentId, serialized] of byEquipment) {
    let chunk: string[] = [];
    let bytes = 2;
    const flush = () => {
      entries.push({ partitionKey: String(equipmentId), data: Buffer.from(`[${chunk.join(',')}]`) });
      chunk = [];
      bytes = 2;
    };
    for (const json of serialized) {
      const size = Buffer.byteLength(json) + 1;
      if (chunk.length > 0 && bytes + size > maxBytes) flush();
      chunk.push(json);
      bytes += size;
    }
    flush();
  }
  return entries;
}

/** Parses one record of the anomalies stream; throws with the reason when it is not one of ours. */
export function parseAnomalyRecord(data: Uint8Array): AnomalyEvent[] {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (error) {
    throw new Error(`not an anomalies record: not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(anomalyEventSchema).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`not an anomalies record: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
