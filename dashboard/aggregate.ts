import { countAnomalousFeatures } from '../lambdas/shared/features';
import { compareIds } from '../lambdas/shared/minute-windows';
import { LIST_SEPARATOR, type ReadingRow } from '../lambdas/shared/processed-reading';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, RESERVED_COLUMNS, type ReadingSchema } from '../lambdas/shared/reading-schema';
import {
  type AlertSummary,
  type DashboardSnapshot,
  type EquipmentSeries,
  snapshotFeatures,
} from './snapshot';

/**
 * Turns the readings of a window into what the page draws: per equipment, time bins holding the mean
 * of each of the reading schema's features and, in every bin with anomalous readings, how many concern
 * each feature and the most anomalous one's reasons (so every anomalous stretch is marked, whatever
 * its length). Pure, and one pass over the rows holding only the bins, so it keeps up with hundreds of
 * thousands of readings per refresh.
 */

/** Bin widths to choose from, smallest first; round values keep the chart's time ticks readable. */
const BIN_STEPS_MS = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 300_000, 900_000, 3_600_000];
/** At most this many bins per equipment (plus one for a window not aligned on bin edges). */
export const MAX_BINS = 360;
const DEFAULT_BIN_MS = BIN_STEPS_MS[0];

export interface SnapshotInput {
  target: DashboardSnapshot['target'];
  rows: readonly ReadingRow[];
  window: DashboardSnapshot['window'];
  alerts: AlertSummary[];
  counters: DashboardSnapshot['counters'];
  minutes?: DashboardSnapshot['minutes'];
  /** Bin width in ms; default: the smallest step giving at most MAX_BINS bins (1 s for 3 minutes). */
  binMs?: number;
  /** When the snapshot is made (default: now). */
  generatedAtMs?: number;
  /** The reading schema whose features are drawn (default: the lab's). */
  schema?: ReadingSchema;
}

/** The smallest bin width that cuts a window of this length into at most MAX_BINS bins. */
export function binSizeFor(windowMs: number): number {
  return BIN_STEPS_MS.find((step) => windowMs / step <= MAX_BINS) ?? BIN_STEPS_MS[BIN_STEPS_MS.length - 1];
}

export function toSnapshot(input: SnapshotInput): DashboardSnapshot {
  const schema = input.schema ?? LAB_SCHEMA;
  const features = schema.featureNames;
  const binMs =
    input.binMs ?? (input.window ? binSizeFor(input.window.toMs - input.window.fromMs) : DEFAULT_BIN_MS);
  const timeOf = isoTimeParser();
  const byEquipment = new Map<EquipmentId, EquipmentAccumulator>();
  const undeclared = new Set<string>();
  for (const row of input.rows) {
    const id = row.equipment_id;
    let equipment = byEquipment.get(id);
    if (!equipment) {
      equipment = newEquipment(id);
      byEquipment.set(id, equipment);
      // Documents list their columns: one row per equipment tells whether they match the schema.
      for (const column of undeclaredColumns(row, features)) undeclared.add(column);
    }
    addReading(equipment, row, timeOf(row.timestamp), binMs, features);
  }
  return {
    target: input.target,
    generatedAt: new Date(input.generatedAtMs ?? Date.now()).toISOString(),
    schema: schema.id,
    features: snapshotFeatures(schema),
    ...(undeclared.size > 0 ? { undeclaredFeatures: [...undeclared].sort() } : {}),
    window: input.window,
    binMs,
    equipment: [...byEquipment.values()]
      .sort((a, b) => compareIds(a.equipmentId, b.equipmentId))
      .map((equipment) => toSeries(equipment, features)),
    alerts: input.alerts,
    ...(input.minutes ? { minutes: input.minutes } : {}),
    counters: input.counters,
  };
}

const NOT_FEATURES = new Set<string>(RESERVED_COLUMNS);

function undeclaredColumns(row: ReadingRow, features: readonly string[]): string[] {
  return Object.keys(row).filter((column) => !NOT_FEATURES.has(column) && !features.includes(column));
}

interface BinAccumulator {
  t: number;
  count: number;
  anomalies: number;
  maxScore: number;
  /** Sum of each feature, in the schema's order, over the readings that had it. */
  sums: number[];
  /** Readings that had each feature (an optional one may be left out). */
  counts: number[];
  /** Anomalous readings of the bin naming each feature (one naming none counts for every feature). */
  anomalousBy: number[] | null;
  /** The bin's most anomalous flagged reading: what its hover shows. */
  top: { t: number; score: number; reasons: string } | null;
}

interface EquipmentAccumulator {
  equipmentId: EquipmentId;
  readings: number;
  anomalies: number;
  bins: Map<number, BinAccumulator>;
}

function newEquipment(equipmentId: EquipmentId): EquipmentAccumulator {
  return { equipmentId, readings: 0, anomalies: 0, bins: new Map() };
}

/** NaN: an optional feature the reading left out (bound once: the hot loop does not look up Number). */
const isMissing = Number.isNaN;

function addReading(
  equipment: EquipmentAccumulator,
  row: ReadingRow,
  t: number,
  binMs: number,
  features: readonly string[],
): void {
  const binStart = Math.floor(t / binMs) * binMs;
  let bin = equipment.bins.get(binStart);
  if (!bin) {
    bin = {
      t: binStart,
      count: 0,
      anomalies: 0,
      maxScore: 0,
      sums: features.map(() => 0),
      counts: features.map(() => 0),
      anomalousBy: null,
      top: null,
    };
    equipment.bins.set(binStart, bin);
  }
  bin.count++;
  for (let i = 0; i < features.length; i++) {
    const value = row[features[i]];
    // NaN is a feature the reading left out; a row of another schema may lack the column (undefined).
    if (typeof value !== 'number' || isMissing(value)) continue;
    bin.sums[i] += value;
    bin.counts[i]++;
  }
  if (row.anomaly_score > bin.maxScore) bin.maxScore = row.anomaly_score;
  equipment.readings++;
  if (!row.is_anomaly) return;
  bin.anomalies++;
  equipment.anomalies++;
  if (!bin.anomalousBy) bin.anomalousBy = features.map(() => 0);
  const cell = row.anomalous_features;
  countAnomalousFeatures(bin.anomalousBy, cell === '' ? [] : cell.split(LIST_SEPARATOR), features);
  if (!bin.top || row.anomaly_score > bin.top.score)
    bin.top = { t, score: row.anomaly_score, reasons: row.reasons };
}

/**
 * Epoch ms of the rows' timestamps, which toISOString wrote ("2026-11-23T19:47:09.123Z"). Date.parse
 * was most of the time spent here; consecutive readings share their minute, so only that is parsed
 * with it and the seconds and milliseconds are read digit by digit. Other formats go to Date.parse.
 */
function isoTimeParser(): (iso: string) => number {
  let minute = '';
  let minuteMs = 0;
  return (iso) => {
    if (iso.length !== 24 || iso.charCodeAt(19) !== DOT || iso.charCodeAt(23) !== ZULU)
      return Date.parse(iso);
    const prefix = iso.slice(0, 17);
    if (prefix !== minute) {
      minute = prefix;
      minuteMs = Date.parse(`${prefix}00.000Z`);
    }
    return (
      minuteMs +
      (digitAt(iso, 17) * 10 + digitAt(iso, 18)) * 1000 +
      digitAt(iso, 20) * 100 +
      digitAt(iso, 21) * 10 +
      digitAt(iso, 22)
    );
  };
}

function digitAt(text: string, index: number): number {
  return text.charCodeAt(index) - ZERO;
}

const ZERO = '0'.charCodeAt(0);
const DOT = '.'.charCodeAt(0);
const ZULU = 'Z'.charCodeAt(0);

function toSeries(equipment: EquipmentAccumulator, features: readonly string[]): EquipmentSeries {
  const record = (value: (index: number) => number | null) =>
    Object.fromEntries(features.map((feature, i) => [feature, value(i)]));
  return {
    equipmentId: equipment.equipmentId,
    readings: equipment.readings,
    anomalies: equipment.anomalies,
    bins: [...equipment.bins.values()]
      .sort((a, b) => a.t - b.t)
      .map((bin) => ({
        t: bin.t,
        count: bin.count,
        anomalies: bin.anomalies,
        maxScore: bin.maxScore,
        means: record((i) => (bin.counts[i] > 0 ? round(bin.sums[i] / bin.counts[i]) : null)),
        ...anomalyFields(bin, features),
      })),
  };
}

/** Only for a bin with anomalous readings: per feature how many, and its most anomalous reading. */
function anomalyFields(
  bin: BinAccumulator,
  features: readonly string[],
): Pick<EquipmentSeries['bins'][number], 'anomalousFeatures' | 'top'> {
  if (!bin.anomalousBy || !bin.top) return {};
  const counts = bin.anomalousBy;
  return {
    anomalousFeatures: Object.fromEntries(
      features.flatMap((feature, i) => (counts[i] > 0 ? [[feature, counts[i]]] : [])),
    ),
    top: bin.top,
  };
}

/** Means to 3 decimals: finer than any sensor reports, and a lighter JSON. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
