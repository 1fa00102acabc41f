import { FEATURES } from './features';
import type { ProcessedReading, RecordSource } from './processed-reading';

/**
 * Per-minute aggregates of event time, per equipment (a 1-minute tumbling window): the count, the
 * mean, minimum and maximum of each feature, and the anomalies. A reading whose event time is older
 * than its record's arrival minus the allowed lateness is late: it is counted as late in its window,
 * never silently dropped, and left out of the window's statistics.
 *
 * Each Kinesis record writes its own contribution to each window it touches, keyed by the record's
 * shard and sequence number, and readers sum the contributions: a retried record overwrites its own,
 * whatever batch it was retried in, so no reading is ever counted twice.
 */

export const MINUTES_PK_PREFIX = 'minutes#';

/** Module-local: under tsx (local mode, bench) each use of an imported binding is a getter call. */
const FEATURE_NAMES = FEATURES;

/** What a window (or one record's part of it) adds up. */
export interface WindowTotals {
  count: number;
  late: number;
  anomalies: number;
  /** Per feature, in FEATURES order, over the on-time readings. */
  sums: number[];
  mins: number[];
  maxs: number[];
}

export interface WindowContribution extends WindowTotals {
  pk: string;
  sk: string;
  equipment_id: number;
  minute_ms: number;
  expires_at: number;
}

export interface MinuteAggregate {
  equipmentId: number;
  minuteMs: number;
  count: number;
  late: number;
  anomalies: number;
  /** Per feature (FEATURES order); NaN for a window with late readings only. */
  means: number[];
  mins: number[];
  maxs: number[];
}

export function minutePartitionKey(minuteMs: number): string {
  return `${MINUTES_PK_PREFIX}${new Date(minuteMs).toISOString().slice(0, 16)}`;
}

function emptyTotals(): WindowTotals {
  return {
    count: 0,
    late: 0,
    anomalies: 0,
    sums: FEATURES.map(() => 0),
    mins: FEATURES.map(() => Number.POSITIVE_INFINITY),
    maxs: FEATURES.map(() => Number.NEGATIVE_INFINITY),
  };
}

/** The contributions of one record's valid readings to the windows they fall in. */
export function windowContributions(
  source: RecordSource,
  processed: readonly ProcessedReading[],
  latenessMs: number,
  ttlSeconds: number,
): WindowContribution[] {
  const windows = new Map<string, WindowContribution>();
  const onTimeFrom = source.arrivalMs - latenessMs;
  // A record's readings are mostly one run of the same window: look it up only when it changes.
  let window: WindowContribution | undefined;
  for (const { reading, isAnomaly } of processed) {
    const minuteMs = Math.floor(reading.timestampMs / 60_000) * 60_000;
    if (window?.minute_ms !== minuteMs || window.equipment_id !== reading.equipmentId) {
      const key = `${reading.equipmentId}|${minuteMs}`;
      window = windows.get(key);
      if (!window) {
        window = {
          pk: minutePartitionKey(minuteMs),
          sk: `${reading.equipmentId}#${source.shardId}#${source.sequenceNumber}`,
          equipment_id: reading.equipmentId,
          minute_ms: minuteMs,
          ...emptyTotals(),
          expires_at: Math.floor(source.arrivalMs / 1000) + ttlSeconds,
        };
        windows.set(key, window);
      }
    }
    if (reading.timestampMs < onTimeFrom) {
      window.late++;
      continue;
    }
    window.count++;
    if (isAnomaly) window.anomalies++;
    for (let f = 0; f < FEATURE_NAMES.length; f++) {
      const value = reading.values[FEATURE_NAMES[f]];
      window.sums[f] += value;
      if (value < window.mins[f]) window.mins[f] = value;
      if (value > window.maxs[f]) window.maxs[f] = value;
    }
  }
  // DynamoDB stores no infinities: a window of late readings only has no minimum or maximum yet.
  return [...windows.values()].map((w) => (w.count > 0 ? w : { ...w, mins: [], maxs: [] }));
}

/** Sums the contributions of each (equipment, minute) window. */
export function mergeContributions(contributions: readonly WindowContribution[]): MinuteAggregate[] {
  const merged = new Map<string, WindowTotals & { equipmentId: number; minuteMs: number }>();
  for (const c of contributions) {
    const key = `${c.equipment_id}|${c.minute_ms}`;
    let window = merged.get(key);
    if (!window) {
      window = { equipmentId: c.equipment_id, minuteMs: c.minute_ms, ...emptyTotals() };
      merged.set(key, window);
    }
    window.count += c.count;
    window.late += c.late;
    window.anomalies += c.anomalies;
    if (c.count === 0) continue;
    for (let f = 0; f < FEATURES.length; f++) {
      window.sums[f] += c.sums[f];
      window.mins[f] = Math.min(window.mins[f], c.mins[f]);
      window.maxs[f] = Math.max(window.maxs[f], c.maxs[f]);
    }
  }
  return [...merged.values()]
    .map(({ sums, ...w }) => ({
      ...w,
      means: sums.map((sum) => (w.count > 0 ? sum / w.count : Number.NaN)),
      mins: w.count > 0 ? w.mins : w.mins.map(() => Number.NaN),
      maxs: w.count > 0 ? w.maxs : w.maxs.map(() => Number.NaN),
    }))
    .sort((a, b) => a.minuteMs - b.minuteMs || a.equipmentId - b.equipmentId);
}
