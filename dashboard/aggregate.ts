import { FEATURES, type Feature } from '../lambdas/shared/features';
import { LIST_SEPARATOR, type ReadingRow } from '../lambdas/shared/processed-reading';
import type { AlertSummary, DashboardSnapshot, EquipmentSeries } from './snapshot';

/**
 * Turns the readings of a window into what the page draws: per equipment, time bins holding the mean
 * of each feature, and the newest anomalous readings themselves. Pure, and one pass over the rows, so
 * it keeps up with hundreds of thousands of readings per refresh.
 */

/** Bin widths to choose from, smallest first; round values keep the chart's time ticks readable. */
const BIN_STEPS_MS = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 300_000, 900_000, 3_600_000];
/** At most this many bins per equipment (plus one for a window not aligned on bin edges). */
export const MAX_BINS = 360;
/** Anomalous readings kept per equipment for marking points: the newest ones matter most. */
export const MAX_ANOMALOUS_READINGS = 300;
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
}

/** The smallest bin width that cuts a window of this length into at most MAX_BINS bins. */
export function binSizeFor(windowMs: number): number {
  return BIN_STEPS_MS.find((step) => windowMs / step <= MAX_BINS) ?? BIN_STEPS_MS[BIN_STEPS_MS.length - 1];
}

export function toSnapshot(input: SnapshotInput): DashboardSnapshot {
  const binMs =
    input.binMs ?? (input.window ? binSizeFor(input.window.toMs - input.window.fromMs) : DEFAULT_BIN_MS);
  const timeOf = isoTimeParser();
  const byEquipment = new Map<number, EquipmentAccumulator>();
  for (const row of input.rows) {
    const id = row.equipment_id as number;
    let equipment = byEquipment.get(id);
    if (!equipment) {
      equipment = newEquipment(id);
      byEquipment.set(id, equipment);
    }
    addReading(equipment, row, timeOf(row.timestamp), binMs);
  }
  return {
    target: input.target,
    generatedAt: new Date(input.generatedAtMs ?? Date.now()).toISOString(),
    window: input.window,
    binMs,
    equipment: [...byEquipment.values()].sort((a, b) => a.equipmentId - b.equipmentId).map(toSeries),
    alerts: input.alerts,
    ...(input.minutes ? { minutes: input.minutes } : {}),
    counters: input.counters,
  };
}

interface BinAccumulator {
  t: number;
  count: number;
  anomalies: number;
  maxScore: number;
  /** Sum of each feature, in FEATURES order. */
  sums: number[];
}

interface TimedRow {
  t: number;
  row: ReadingRow;
}

interface EquipmentAccumulator {
  equipmentId: number;
  readings: number;
  anomalies: number;
  bins: Map<number, BinAccumulator>;
  anomalous: TimedRow[];
}

function newEquipment(equipmentId: number): EquipmentAccumulator {
  return { equipmentId, readings: 0, anomalies: 0, bins: new Map(), anomalous: [] };
}

function addReading(equipment: EquipmentAccumulator, row: ReadingRow, t: number, binMs: number): void {
  const binStart = Math.floor(t / binMs) * binMs;
  let bin = equipment.bins.get(binStart);
  if (!bin) {
    bin = { t: binStart, count: 0, anomalies: 0, maxScore: 0, sums: FEATURES.map(() => 0) };
    equipment.bins.set(binStart, bin);
  }
  bin.count++;
  for (let i = 0; i < FEATURES.length; i++) bin.sums[i] += row[FEATURES[i]] as number;
  if (row.anomaly_score > bin.maxScore) bin.maxScore = row.anomaly_score;
  equipment.readings++;
  if (!row.is_anomaly) return;
  bin.anomalies++;
  equipment.anomalies++;
  equipment.anomalous.push({ t, row });
  // Trim now and then rather than at the end, so a storm of anomalies does not hold every row.
  if (equipment.anomalous.length >= 2 * MAX_ANOMALOUS_READINGS)
    equipment.anomalous = newest(equipment.anomalous);
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

function newest(rows: TimedRow[]): TimedRow[] {
  return rows.sort((a, b) => a.t - b.t).slice(-MAX_ANOMALOUS_READINGS);
}

function toSeries(equipment: EquipmentAccumulator): EquipmentSeries {
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
        means: featureRecord((i) => round(bin.sums[i] / bin.count)),
      })),
    anomalousReadings: newest(equipment.anomalous).map(({ t, row }) => ({
      t,
      values: featureRecord((i) => row[FEATURES[i]] as number),
      score: row.anomaly_score,
      features: parseFeatures(row.anomalous_features),
      reasons: row.reasons,
    })),
  };
}

function featureRecord(value: (index: number) => number): Record<Feature, number> {
  return Object.fromEntries(FEATURES.map((feature, i) => [feature, value(i)])) as Record<Feature, number>;
}

function parseFeatures(cell: string): Feature[] {
  const named = cell.split(LIST_SEPARATOR);
  return FEATURES.filter((feature) => named.includes(feature));
}

/** Means to 3 decimals: finer than any sensor reports, and a lighter JSON. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
