import type { EquipmentId } from '../lambdas/shared/reading';
import type { ReadingSchema } from '../lambdas/shared/reading-schema';

/**
 * What the dashboard page shows, as its server sends it (GET /api/snapshot): the reading schema's
 * features, per equipment each feature over the window, binned so the page stays light at thousands
 * of readings a second, the anomalous readings themselves, the latest alerts, and the pipeline's
 * counters.
 */
export interface DashboardSnapshot {
  /** Where the data comes from: the local pipeline, or a deployed stack. */
  target: 'local' | 'aws';
  generatedAt: string;
  /** The reading schema's `name@version`. */
  schema: string;
  /** The schema's features, in its order: the page draws a chart of each, per equipment. */
  features: SnapshotFeature[];
  /**
   * Features the window's readings hold that the schema does not declare (absent when none): the
   * dashboard was most likely started with another schema than the pipeline's.
   */
  undeclaredFeatures?: string[];
  /** Window shown, inclusive, epoch ms; null when nothing is stored yet. */
  window: { fromMs: number; toMs: number } | null;
  /** Width of a time bin in ms: the page's resolution, shown beside the window. */
  binMs: number;
  equipment: EquipmentSeries[];
  alerts: AlertSummary[];
  /** The live per-minute windows of event time in the window, newest first (absent if not read). */
  minutes?: MinuteSummary[];
  /** Named counts shown as tiles, in order (for example readings in the window, anomalies, alerts). */
  counters: { name: string; value: number }[];
}

export interface SnapshotFeature {
  name: string;
  label: string;
  /** "" for none. */
  unit: string;
}

export interface EquipmentSeries {
  equipmentId: EquipmentId;
  readings: number;
  anomalies: number;
  /**
   * One entry per time bin: bin start (epoch ms) and the mean of each feature in the bin (null for an
   * optional feature no reading of the bin had).
   */
  bins: {
    t: number;
    count: number;
    anomalies: number;
    maxScore: number;
    means: Record<string, number | null>;
  }[];
  /** The newest anomalous readings (at most a few hundred), for marking points. */
  anomalousReadings: {
    t: number;
    /** Each feature's value; null for an optional feature the reading left out. */
    values: Record<string, number | null>;
    score: number;
    features: string[];
    reasons: string;
  }[];
}

export interface MinuteSummary {
  minuteMs: number;
  equipmentId: EquipmentId;
  count: number;
  late: number;
  anomalies: number;
  /** Mean of each feature over the on-time readings that had it; null when there were none. */
  means: Record<string, number | null>;
}

export interface AlertSummary {
  /** Event time of the episode's first anomaly, epoch ms. */
  startedMs: number;
  equipmentId: EquipmentId;
  subject: string;
  severity: 'low' | 'medium' | 'high';
  features: string[];
  episodeId: string;
}

/** Where a dashboard server gets its snapshots. */
export interface DashboardSource {
  snapshot(): Promise<DashboardSnapshot>;
}

/** What the page needs of a reading schema's features. */
export function snapshotFeatures(schema: ReadingSchema): SnapshotFeature[] {
  return schema.features.map(({ name, label, unit }) => ({ name, label, unit }));
}
