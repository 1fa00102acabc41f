import type { FeatureNormal } from '../lambdas/shared/detector';
import type { ReadingRow } from '../lambdas/shared/processed-reading';
import type { EquipmentId } from '../lambdas/shared/reading';
import type { ReadingSchema } from '../lambdas/shared/reading-schema';

/**
 * What the dashboard page shows, as its server sends it (GET /api/snapshot): the reading schema's
 * features, per equipment each feature over the window, binned so the page stays light at thousands
 * of readings a second (each bin with anomalous readings marked), the latest alerts, and the pipeline's
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

export type { FeatureNormal } from '../lambdas/shared/detector';

/**
 * What the detector held normal for an equipment at its last saved state (every few seconds): per
 * feature the forecast of the newest reading and the band within which a reading adds no surprise,
 * the absolute limits and the score threshold, each where the detector has it.
 */
export interface EquipmentNormal {
  /** Event time of the newest reading the detector had learnt from, epoch ms. */
  atMs: number;
  features: Record<string, FeatureNormal>;
}

export interface EquipmentSeries {
  equipmentId: EquipmentId;
  readings: number;
  anomalies: number;
  /** Absent until the detector has saved a state for the equipment. */
  normal?: EquipmentNormal;
  /**
   * One entry per time bin: bin start (epoch ms) and the mean of each feature in the bin (null for an
   * optional feature no reading of the bin had).
   */
  bins: {
    t: number;
    count: number;
    anomalies: number;
    /** The highest score in the bin; absent in the one-minute bins of windows written before they kept it. */
    maxScore?: number;
    means: Record<string, number | null>;
    /**
     * Only in a bin with anomalous readings: how many of them concern each feature (those they name;
     * every feature for one naming none), features without any left out. In the one-minute bins, from
     * the window's per-feature counts (every feature for a window written without them).
     */
    anomalousFeatures?: Record<string, number>;
    /** Only in a bin with anomalous readings: its most anomalous one (time, score, the detector's reasons). */
    top?: { t: number; score: number; reasons: string };
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
  /** The alert that opened the episode (its first event's first reason). */
  subject: string;
  /** The episode's peak severity (of its highest score). */
  severity: 'low' | 'medium' | 'high';
  features: string[];
  episodeId: string;
  /** `startedMs` as ISO 8601 (absent from sources without an alert history). */
  start?: string;
  /** Event time of the episode's last anomaly so far, epoch ms, and as ISO 8601. */
  endedMs?: number;
  end?: string;
  /** Per anomalous feature, the reason of its highest score, in feature order; [] for older episodes. */
  reasons?: string[];
  /** Anomalous readings in the episode so far. */
  anomalyCount?: number;
}

/** The time ranges a snapshot covers: 3m from the readings themselves, longer ones from the per-minute windows. */
export const SNAPSHOT_RANGES = {
  '3m': 180_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
} as const;

export type SnapshotRange = keyof typeof SNAPSHOT_RANGES;

export interface SnapshotQuery {
  /** Default '3m'. */
  range?: SnapshotRange;
  /** Only this equipment's series and alerts. */
  equipmentId?: EquipmentId;
}

/** One page of a paged list: `nextPage` is the page to ask for next, null after the last. */
export interface Paged<T> {
  items: T[];
  nextPage: number | null;
}

export interface AlertsQuery {
  /** From 0. */
  page: number;
  equipmentId?: EquipmentId;
}

export interface ReadingsQuery {
  equipmentId: EquipmentId;
  /** Inclusive bounds, epoch ms. */
  fromMs: number;
  toMs: number;
}

/**
 * Where a dashboard server gets its data. Only `snapshot` is required: the server answers 404 for the
 * alert history and the readings of a source without them.
 */
export interface DashboardSource {
  /** The reading schema (default: the lab's): equipment ids are validated by it, CSV columns named by it. */
  readonly readingSchema?: ReadingSchema;
  snapshot(query?: SnapshotQuery): Promise<DashboardSnapshot>;
  /** Alert episodes, newest first, `pageSize` a page. */
  alertHistory?(query: AlertsQuery, pageSize: number): Promise<Paged<AlertSummary>>;
  /**
   * One equipment's readings in [fromMs, toMs], oldest first, in chunks (a minute each) so a reader
   * holds one chunk at a time; stopping the iteration stops the reads.
   */
  readingsBetween?(query: ReadingsQuery): AsyncIterable<ReadingRow[]>;
}

/** What the page needs of a reading schema's features. */
export function snapshotFeatures(schema: ReadingSchema): SnapshotFeature[] {
  return schema.features.map(({ name, label, unit }) => ({ name, label, unit }));
}
