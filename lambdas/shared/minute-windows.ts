import { countAnomalousFeatures } from './features';
import { keySuffix, suffixedKey, suffixedKeys } from './key-suffixes';
import { type ProcessedReading, type RecordSource, roundScore } from './processed-reading';
import type { EquipmentId } from './reading';
import { LAB_SCHEMA, type ReadingSchema } from './reading-schema';

/**
 * Per-minute aggregates of event time, per equipment (a 1-minute tumbling window): the count, the
 * mean, minimum and maximum of each feature, and the anomalies. A reading whose event time is older
 * than its record's arrival minus the allowed lateness is late: it is counted as late in its window,
 * never silently dropped, and left out of the window's statistics.
 *
 * Each Kinesis record writes its own contribution to each window it touches, keyed by the record's
 * shard and sequence number, and readers sum the contributions: a retried record overwrites its own,
 * whatever batch it was retried in, so no reading is ever counted twice.
 *
 * A minute's contributions spread over K partition keys as the documents do (key-suffixes.ts): at one
 * small item per record and window, a shard of single-reading records writes up to 1,000 a second,
 * a whole partition's write units. Readers merge each (minute, sort key) once, whatever its suffix.
 */

export const MINUTES_PK_PREFIX = 'minutes#';

/** What a window (or one record's part of it) adds up. */
export interface WindowTotals {
  count: number;
  late: number;
  anomalies: number;
  /** Per feature, in the schema's order, over the on-time readings. */
  sums: number[];
  mins: number[];
  maxs: number[];
  /**
   * Per feature, the on-time readings that had it: only for schemas with optional features (for the
   * others it is `count` throughout, and left out).
   */
  present?: number[];
  /**
   * Per feature, the anomalous on-time readings concerning it (one naming no feature concerns every
   * feature): only in windows with anomalies, so that the dashboard marks each feature's anomalous minutes.
   */
  flagged?: number[];
  /** The highest score of the on-time readings, to 4 decimals (absent in a window of late readings only). */
  max_score?: number;
}

export interface WindowContribution extends WindowTotals {
  pk: string;
  sk: string;
  equipment_id: EquipmentId;
  minute_ms: number;
  expires_at: number;
  /**
   * The reading schema's `name@version`, for any schema but the lab's: the totals are arrays in the
   * schema's feature order, so readers sum only the contributions of the schema they read.
   */
  schema?: string;
}

export interface MinuteAggregate {
  equipmentId: EquipmentId;
  minuteMs: number;
  count: number;
  late: number;
  anomalies: number;
  /** Per feature (the schema's order); NaN for a window with late readings only, or without the feature. */
  means: number[];
  /** Per feature, the anomalous readings concerning it; absent when no contribution had anomalies (or counted them per feature: written before). */
  flagged?: number[];
  /** The highest score of the on-time readings; absent when no contribution kept it (written before). */
  maxScore?: number;
  mins: number[];
  maxs: number[];
}

/** The partition key of a minute's window contributions, for one key suffix (0: the unsuffixed key). */
export function minutePartitionKey(minuteMs: number, suffix = 0): string {
  return suffixedKey(`${MINUTES_PK_PREFIX}${new Date(minuteMs).toISOString().slice(0, 16)}`, suffix);
}

/** Every partition key of a minute's window contributions when K is `suffixes`. */
export function minutePartitionKeys(minuteMs: number, suffixes: number): string[] {
  return suffixedKeys(`${MINUTES_PK_PREFIX}${new Date(minuteMs).toISOString().slice(0, 16)}`, suffixes);
}

function emptyTotals(features: number, optional: boolean): WindowTotals {
  const totals: WindowTotals = {
    count: 0,
    late: 0,
    anomalies: 0,
    sums: new Array<number>(features).fill(0),
    mins: new Array<number>(features).fill(Number.POSITIVE_INFINITY),
    maxs: new Array<number>(features).fill(Number.NEGATIVE_INFINITY),
  };
  if (optional) totals.present = new Array<number>(features).fill(0);
  return totals;
}

/** The contributions of one record's valid readings to the windows they fall in. */
export function windowContributions(
  source: RecordSource,
  processed: readonly ProcessedReading[],
  latenessMs: number,
  ttlSeconds: number,
  schema: ReadingSchema = LAB_SCHEMA,
  keySuffixes = 1,
): WindowContribution[] {
  const features = schema.featureNames;
  const optional = schema.features.some((f) => f.optional);
  const windows = new Map<string, WindowContribution>();
  const onTimeFrom = source.arrivalMs - latenessMs;
  // A record's readings are mostly one run of the same window: look it up only when it changes.
  let window: WindowContribution | undefined;
  for (const { reading, isAnomaly, anomalousFeatures, score } of processed) {
    const minuteMs = Math.floor(reading.timestampMs / 60_000) * 60_000;
    if (window?.minute_ms !== minuteMs || window.equipment_id !== reading.equipmentId) {
      const key = `${reading.equipmentId}|${minuteMs}`;
      window = windows.get(key);
      if (!window) {
        const sk = `${reading.equipmentId}#${source.shardId}#${source.sequenceNumber}`;
        window = {
          pk: minutePartitionKey(minuteMs, keySuffix(sk, keySuffixes)),
          sk,
          equipment_id: reading.equipmentId,
          minute_ms: minuteMs,
          ...emptyTotals(features.length, optional),
          expires_at: Math.floor(source.arrivalMs / 1000) + ttlSeconds,
          ...(schema.isLab ? {} : { schema: schema.id }),
        };
        windows.set(key, window);
      }
    }
    if (reading.timestampMs < onTimeFrom) {
      window.late++;
      continue;
    }
    window.count++;
    const rounded = roundScore(score);
    if (!(rounded <= (window.max_score ?? Number.NEGATIVE_INFINITY))) window.max_score = rounded;
    if (isAnomaly) {
      window.anomalies++;
      window.flagged ??= new Array<number>(features.length).fill(0);
      countAnomalousFeatures(window.flagged, anomalousFeatures, features);
    }
    for (let f = 0; f < features.length; f++) {
      const value = reading.values[features[f]];
      if (Number.isNaN(value)) continue; // an optional feature the reading left out
      if (window.present) window.present[f]++;
      window.sums[f] += value;
      if (value < window.mins[f]) window.mins[f] = value;
      if (value > window.maxs[f]) window.maxs[f] = value;
    }
  }
  // DynamoDB stores no infinities: a window of late readings only has no minimum or maximum yet,
  // and a feature no on-time reading had gets 0, which `present` (0) tells readers to ignore.
  return [...windows.values()].map((w) => {
    if (w.count === 0) return { ...w, mins: [], maxs: [] };
    const { present } = w;
    if (!present?.includes(0)) return w;
    return {
      ...w,
      mins: w.mins.map((min, f) => (present[f] > 0 ? min : 0)),
      maxs: w.maxs.map((max, f) => (present[f] > 0 ? max : 0)),
    };
  });
}

/**
 * Sums the contributions of each (equipment, minute) window written for this reading schema; those of
 * another schema (or another version of it, around a change of the deployed schema) are left out.
 */
export function mergeContributions(
  contributions: readonly WindowContribution[],
  schema: ReadingSchema = LAB_SCHEMA,
): MinuteAggregate[] {
  const schemaId = schema.isLab ? undefined : schema.id;
  const merged = new Map<string, WindowTotals & { equipmentId: EquipmentId; minuteMs: number }>();
  // A record retried under another number of key suffixes wrote its contribution under two keys.
  const seen = new Set<string>();
  for (const c of contributions) {
    if (c.schema !== schemaId || c.sums.length !== schema.featureNames.length) continue;
    const id = `${c.minute_ms}|${c.sk}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const key = `${c.equipment_id}|${c.minute_ms}`;
    let window = merged.get(key);
    if (!window) {
      window = {
        equipmentId: c.equipment_id,
        minuteMs: c.minute_ms,
        ...emptyTotals(c.sums.length, c.present !== undefined),
      };
      merged.set(key, window);
    }
    window.count += c.count;
    window.late += c.late;
    window.anomalies += c.anomalies;
    if (typeof c.max_score === 'number' && !(c.max_score <= (window.max_score ?? Number.NEGATIVE_INFINITY)))
      window.max_score = c.max_score;
    if (c.flagged?.length === window.sums.length) {
      window.flagged ??= new Array<number>(c.flagged.length).fill(0);
      for (let f = 0; f < c.flagged.length; f++) window.flagged[f] += c.flagged[f];
    }
    if (c.count === 0) continue;
    for (let f = 0; f < window.sums.length; f++) {
      if (window.present && c.present) {
        if (c.present[f] === 0) continue;
        window.present[f] += c.present[f];
      }
      window.sums[f] += c.sums[f];
      window.mins[f] = Math.min(window.mins[f], c.mins[f]);
      window.maxs[f] = Math.max(window.maxs[f], c.maxs[f]);
    }
  }
  return [...merged.values()]
    .map(({ sums, present, max_score, ...w }) => {
      const had = (f: number) => (present ? present[f] : w.count);
      return {
        ...w,
        ...(max_score === undefined ? {} : { maxScore: max_score }),
        means: sums.map((sum, f) => (had(f) > 0 ? sum / had(f) : Number.NaN)),
        mins: w.mins.map((min, f) => (had(f) > 0 ? min : Number.NaN)),
        maxs: w.maxs.map((max, f) => (had(f) > 0 ? max : Number.NaN)),
      };
    })
    .sort((a, b) => a.minuteMs - b.minuteMs || compareIds(a.equipmentId, b.equipmentId));
}

/** Equipment ids in order: numbers by value, strings by their text. */
export function compareIds(a: EquipmentId, b: EquipmentId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}
