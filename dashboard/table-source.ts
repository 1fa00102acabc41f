import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { EPISODE_PK } from '../lambdas/alerter/episode-store';
import { readKeySuffixes } from '../lambdas/shared/aws/key-suffix-setting';
import { DEFAULT_WINDOW_MS, queryLastMinutes, type RelativeTo } from '../lambdas/shared/aws/last-minutes';
import { queryMinuteAggregates } from '../lambdas/shared/aws/minute-aggregates';
import { type EpisodeState, severityOf } from '../lambdas/shared/episodes';
import { compareIds, type MinuteAggregate } from '../lambdas/shared/minute-windows';
import type { ReadingRow } from '../lambdas/shared/processed-reading';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { toSnapshot } from './aggregate';
import type { AlertSummary, DashboardSnapshot, DashboardSource, MinuteSummary } from './snapshot';

/**
 * Snapshots read from a readings table, deployed or local: the window's readings by the same Query as
 * `last3`, and the alerts from the alerter's episode items (one per equipment, Query on pk 'episode').
 * Nothing is Scanned, so the cost stays that of the window whatever the table holds; one GetItem
 * reads the table's number of key suffixes, which both queries fan out over.
 */

export interface TableSourceOptions {
  /** Shown on the page; default 'aws'. */
  target?: DashboardSnapshot['target'];
  /** End the window now (default) or at the newest reading stored. */
  relativeTo?: RelativeTo;
  windowMs?: number;
  /** Alerts listed, newest first. */
  maxAlerts?: number;
  now?: () => number;
  /** The reading schema the pipeline runs with (default: the lab's): its features are charted. */
  schema?: ReadingSchema;
}

export const DEFAULT_MAX_ALERTS = 20;

export class TableSource implements DashboardSource {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: TableSourceOptions = {},
  ) {}

  async snapshot(): Promise<DashboardSnapshot> {
    const schema = this.options.schema ?? LAB_SCHEMA;
    const nowMs = (this.options.now ?? Date.now)();
    const keySuffixes = await readKeySuffixes(this.client, this.tableName);
    const [readings, alerts] = await Promise.all([
      queryLastMinutes(this.client, {
        tableName: this.tableName,
        relativeTo: this.options.relativeTo ?? 'now',
        windowMs: this.options.windowMs ?? DEFAULT_WINDOW_MS,
        nowMs,
        keySuffixes,
      }),
      queryEpisodeAlerts(this.client, this.tableName, schema),
    ]);
    const window =
      readings.fromMs === undefined || readings.toMs === undefined
        ? null
        : { fromMs: readings.fromMs, toMs: readings.toMs };
    const minutes = window
      ? await queryMinuteAggregates(this.client, {
          tableName: this.tableName,
          fromMs: window.fromMs,
          toMs: window.toMs,
          schema,
          keySuffixes,
        })
      : [];
    return toSnapshot({
      target: this.options.target ?? 'aws',
      rows: readings.rows,
      window,
      alerts: alerts.slice(0, this.options.maxAlerts ?? DEFAULT_MAX_ALERTS),
      counters: windowCounters(readings.rows, alerts, window),
      // Newest minute first; within a minute, equipment in order.
      minutes: minutes
        .map((minute) => toMinuteSummary(minute, schema))
        .sort((a, b) => b.minuteMs - a.minuteMs || compareIds(a.equipmentId, b.equipmentId)),
      generatedAtMs: nowMs,
      schema,
    });
  }
}

/** A window's means by feature name; a window's values are in the schema's order. */
export function toMinuteSummary(window: MinuteAggregate, schema: ReadingSchema = LAB_SCHEMA): MinuteSummary {
  const mean = (f: number) => {
    const value = window.means[f];
    return value === undefined || Number.isNaN(value) ? null : value;
  };
  return {
    minuteMs: window.minuteMs,
    equipmentId: window.equipmentId,
    count: window.count,
    late: window.late,
    anomalies: window.anomalies,
    means: Object.fromEntries(schema.featureNames.map((feature, f) => [feature, mean(f)])),
  };
}

/** The alert of each equipment's current episode, newest first. */
export async function queryEpisodeAlerts(
  client: DynamoDBDocumentClient,
  tableName: string,
  schema: ReadingSchema = LAB_SCHEMA,
): Promise<AlertSummary[]> {
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': EPISODE_PK },
    },
  );
  const alerts: AlertSummary[] = [];
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const state = item.state as EpisodeState | undefined;
      if (state?.episodeId !== undefined) alerts.push(alertOfEpisode(state, schema));
    }
  }
  return alerts.sort((a, b) => b.startedMs - a.startedMs);
}

export function alertOfEpisode(state: EpisodeState, schema: ReadingSchema = LAB_SCHEMA): AlertSummary {
  const labelOf = (feature: string) =>
    schema.features.find((f) => f.name === feature)?.label ?? feature.replaceAll('_', ' ');
  return {
    startedMs: state.startedMs,
    equipmentId: state.equipmentId,
    // Episodes stored before the alerter kept its subject and severity: describe them as it would,
    // with the episode's peak score standing in for the first anomaly's.
    subject:
      state.subject ??
      `Anomaly on equipment ${state.equipmentId}: ${state.features.map(labelOf).join(', ')} anomalous`,
    severity: state.severity ?? severityOf(state.peakScore),
    features: state.features,
    episodeId: state.episodeId,
  };
}

/**
 * The tiles. The table keeps only each equipment's current episode, so "alerts in window" counts
 * those that started in the window: an equipment alerted twice in it counts once.
 */
export function windowCounters(
  rows: readonly ReadingRow[],
  alerts: readonly AlertSummary[],
  window: DashboardSnapshot['window'],
): DashboardSnapshot['counters'] {
  let anomalous = 0;
  const equipment = new Set<EquipmentId>();
  for (const row of rows) {
    if (row.is_anomaly) anomalous++;
    equipment.add(row.equipment_id);
  }
  const alertsInWindow = window
    ? alerts.filter((alert) => alert.startedMs >= window.fromMs && alert.startedMs <= window.toMs).length
    : 0;
  return [
    { name: 'readings in window', value: rows.length },
    { name: 'anomalous readings', value: anomalous },
    { name: 'equipment', value: equipment.size },
    { name: 'alerts in window', value: alertsInWindow },
  ];
}
