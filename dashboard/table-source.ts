import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import {
  ALERT_HISTORY_PK_PREFIX,
  alertHistoryPartitionKey,
  EPISODE_PK,
} from '../lambdas/alerter/episode-store';
import { detectorStateKey } from '../lambdas/shared/aws/detector-state';
import { readKeySuffixes } from '../lambdas/shared/aws/key-suffix-setting';
import {
  DEFAULT_WINDOW_MS,
  latestReadingMs,
  queryLastMinutes,
  type RelativeTo,
} from '../lambdas/shared/aws/last-minutes';
import { queryMinuteAggregates } from '../lambdas/shared/aws/minute-aggregates';
import { DEFAULT_DOCUMENT_OPTIONS } from '../lambdas/shared/documents';
import { type EpisodeState, type Severity, severityOf } from '../lambdas/shared/episodes';
import { compareIds, type MinuteAggregate } from '../lambdas/shared/minute-windows';
import type { ReadingRow } from '../lambdas/shared/processed-reading';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { toSnapshot } from './aggregate';
import {
  type AlertSummary,
  type AlertsQuery,
  type DashboardSnapshot,
  type DashboardSource,
  type EquipmentNormal,
  type EquipmentSeries,
  type FeatureNormal,
  type MinuteSummary,
  type Paged,
  type ReadingsQuery,
  SNAPSHOT_RANGES,
  type SnapshotQuery,
} from './snapshot';

/**
 * Snapshots read from a readings table, deployed or local: the window's readings by the same Query as
 * `last3` (3m), or the per-minute windows of a longer range (one bin a minute); the alerts from the
 * alerter's alert history (one item per episode, a partition a day) and its episode items (one per
 * equipment, Query on pk 'episode', for episodes older than the history). Nothing is Scanned, so the
 * cost stays that of the window whatever the table holds; one GetItem reads the table's number of key
 * suffixes, which the queries fan out over. Also the paged alert history and one equipment's readings
 * between two times, for the server's /api/alerts and /api/readings.
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
  /** Days of alert history read (default: the documents' time to live, 7, and a day for its lag). */
  historyDays?: number;
}

export const DEFAULT_MAX_ALERTS = 20;
/** Days of alert history: the alerter keeps it as long as the documents (READINGS_TTL_DAYS, 7 by default). */
export const DEFAULT_HISTORY_DAYS = DEFAULT_DOCUMENT_OPTIONS.ttlSeconds / 86_400 + 1;
/** History items a snapshot reads at most, newest first (for its list and its "alerts in window"). */
const SNAPSHOT_HISTORY_ITEMS = 200;
/** Minutes of one equipment's readings read at once by readingsBetween. */
const MINUTES_AT_ONCE = 8;

export class TableSource implements DashboardSource {
  readonly readingSchema: ReadingSchema;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: TableSourceOptions = {},
  ) {
    this.readingSchema = options.schema ?? LAB_SCHEMA;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async snapshot(query: SnapshotQuery = {}): Promise<DashboardSnapshot> {
    const range = query.range ?? '3m';
    const snapshot =
      range === '3m'
        ? await this.recentSnapshot(query.equipmentId)
        : await this.minuteSnapshot(SNAPSHOT_RANGES[range], query.equipmentId);
    const normals = await readDetectorNormals(
      this.client,
      this.tableName,
      snapshot.equipment.map((series) => series.equipmentId),
    );
    return {
      ...snapshot,
      equipment: snapshot.equipment.map((series) => {
        const normal = normals.get(series.equipmentId);
        return normal ? { ...series, normal } : series;
      }),
    };
  }

  /** The last minutes' readings themselves (--minutes, 3 by default), binned by toSnapshot. */
  private async recentSnapshot(equipmentId: EquipmentId | undefined): Promise<DashboardSnapshot> {
    const schema = this.readingSchema;
    const nowMs = this.now();
    const keySuffixes = await readKeySuffixes(this.client, this.tableName);
    const [readings, alerts] = await Promise.all([
      queryLastMinutes(this.client, {
        tableName: this.tableName,
        equipmentId,
        relativeTo: this.options.relativeTo ?? 'now',
        windowMs: this.options.windowMs ?? DEFAULT_WINDOW_MS,
        nowMs,
        keySuffixes,
      }),
      this.snapshotAlerts(nowMs, equipmentId),
    ]);
    const window =
      readings.fromMs === undefined || readings.toMs === undefined
        ? null
        : { fromMs: readings.fromMs, toMs: readings.toMs };
    const minutes = window ? await this.minuteWindows(window, equipmentId, keySuffixes) : [];
    return toSnapshot({
      target: this.options.target ?? 'aws',
      rows: readings.rows,
      window,
      alerts: alerts.slice(0, this.options.maxAlerts ?? DEFAULT_MAX_ALERTS),
      counters: windowCounters(readings.rows, alerts, window),
      minutes: minuteSummaries(minutes, schema),
      generatedAtMs: nowMs,
      schema,
    });
  }

  /**
   * A range longer than 3 minutes, from the per-minute windows (count, anomalies and the mean of each
   * feature per equipment and minute): one bin a minute, so a day is 1,440 bins, not millions of readings.
   */
  private async minuteSnapshot(
    rangeMs: number,
    equipmentId: EquipmentId | undefined,
  ): Promise<DashboardSnapshot> {
    const schema = this.readingSchema;
    const nowMs = this.now();
    const keySuffixes = await readKeySuffixes(this.client, this.tableName);
    const toMs =
      (this.options.relativeTo ?? 'now') === 'now'
        ? nowMs
        : await latestReadingMs(this.client, this.tableName, equipmentId, keySuffixes);
    const window = toMs === undefined ? null : { fromMs: toMs - rangeMs, toMs };
    const [windows, alerts] = await Promise.all([
      window ? this.minuteWindows(window, equipmentId, keySuffixes) : Promise.resolve([]),
      this.snapshotAlerts(nowMs, equipmentId),
    ]);
    const inWindow = window
      ? windows.filter((w) => w.minuteMs + 60_000 > window.fromMs && w.minuteMs <= window.toMs)
      : [];
    const equipment = minuteSeries(inWindow, schema);
    const readings = equipment.reduce((sum, series) => sum + series.readings, 0);
    const anomalies = equipment.reduce((sum, series) => sum + series.anomalies, 0);
    const snapshot = toSnapshot({
      target: this.options.target ?? 'aws',
      rows: [],
      window,
      binMs: 60_000,
      alerts: alerts.slice(0, this.options.maxAlerts ?? DEFAULT_MAX_ALERTS),
      counters: [
        { name: 'readings in window', value: readings },
        { name: 'anomalous readings', value: anomalies },
        { name: 'equipment', value: equipment.length },
        { name: 'alerts in window', value: alertsIn(alerts, window) },
      ],
      // The table under the charts: the last few minutes, as the 3m snapshot lists them.
      minutes: minuteSummaries(
        inWindow.filter((w) => window && w.minuteMs + 60_000 > window.toMs - DEFAULT_WINDOW_MS),
        schema,
      ),
      generatedAtMs: nowMs,
      schema,
    });
    return { ...snapshot, equipment };
  }

  /** The per-minute windows of the schema read over a window, of one equipment or all. */
  private minuteWindows(
    window: { fromMs: number; toMs: number },
    equipmentId: EquipmentId | undefined,
    keySuffixes: number,
  ): Promise<MinuteAggregate[]> {
    return queryMinuteAggregates(this.client, {
      tableName: this.tableName,
      fromMs: window.fromMs,
      toMs: window.toMs,
      equipmentId,
      schema: this.readingSchema,
      keySuffixes,
    });
  }

  /** The newest alerts for a snapshot: the history's, and current episodes older than it. */
  private async snapshotAlerts(nowMs: number, equipmentId: EquipmentId | undefined): Promise<AlertSummary[]> {
    const [history, episodes] = await Promise.all([
      queryAlertHistory(this.client, this.tableName, {
        referenceMs: nowMs,
        days: this.options.historyDays ?? DEFAULT_HISTORY_DAYS,
        skip: 0,
        take: SNAPSHOT_HISTORY_ITEMS,
        equipmentId,
        schema: this.readingSchema,
      }),
      queryEpisodeAlerts(this.client, this.tableName, this.readingSchema),
    ]);
    const listed = new Set(history.items.map((alert) => alert.episodeId));
    const current = episodes.filter(
      (alert) =>
        !listed.has(alert.episodeId) && (equipmentId === undefined || alert.equipmentId === equipmentId),
    );
    return [...history.items, ...current].sort((a, b) => b.startedMs - a.startedMs);
  }

  /** GET /api/alerts: a page of the alert history, newest first. */
  async alertHistory(query: AlertsQuery, pageSize: number): Promise<Paged<AlertSummary>> {
    const referenceMs =
      (this.options.relativeTo ?? 'now') === 'now'
        ? this.now()
        : ((await latestReadingMs(this.client, this.tableName)) ?? this.now());
    const { items, more } = await queryAlertHistory(this.client, this.tableName, {
      referenceMs,
      days: this.options.historyDays ?? DEFAULT_HISTORY_DAYS,
      skip: query.page * pageSize,
      take: pageSize,
      equipmentId: query.equipmentId,
      schema: this.readingSchema,
    });
    return { items, nextPage: more ? query.page + 1 : null };
  }

  /**
   * GET /api/readings: one equipment's readings in [fromMs, toMs], oldest first, a minute's at a time
   * (each minute by the same Query as last3: its K keys, begins_with on the equipment, both document
   * forms decoded). A few minutes are read at once; at most those are held.
   */
  async *readingsBetween(query: ReadingsQuery): AsyncGenerator<ReadingRow[]> {
    const keySuffixes = await readKeySuffixes(this.client, this.tableName);
    const minutes: number[] = [];
    for (let m = Math.floor(query.fromMs / 60_000) * 60_000; m <= query.toMs; m += 60_000) minutes.push(m);
    for (let i = 0; i < minutes.length; i += MINUTES_AT_ONCE) {
      const chunks = await Promise.all(
        minutes.slice(i, i + MINUTES_AT_ONCE).map(async (minuteMs) => {
          const fromMs = Math.max(query.fromMs, minuteMs);
          const toMs = Math.min(query.toMs, minuteMs + 59_999);
          const { rows } = await queryLastMinutes(this.client, {
            tableName: this.tableName,
            equipmentId: query.equipmentId,
            relativeTo: 'now',
            nowMs: toMs,
            windowMs: toMs - fromMs,
            keySuffixes,
          });
          return rows;
        }),
      );
      for (const rows of chunks) if (rows.length > 0) yield rows;
    }
  }
}

/** Keys a BatchGetItem reads at most. */
const BATCH_GET_KEYS = 100;
/** Rounds of BatchGetItem for the keys DynamoDB left unprocessed (throttled) before giving up on them. */
const BATCH_GET_ROUNDS = 3;

/**
 * What the detector holds normal for each equipment, from the `normal` attribute the transform writes
 * on its detector state item (see DetectorStateStore): BatchGetItem, 100 keys a call. An equipment
 * without a state item (none saved yet, or an older transform) is left out; so is one still throttled
 * after a few rounds: the band is display, the page draws the line without it.
 */
export async function readDetectorNormals(
  client: DynamoDBDocumentClient,
  tableName: string,
  equipmentIds: readonly EquipmentId[],
): Promise<Map<EquipmentId, EquipmentNormal>> {
  const normals = new Map<EquipmentId, EquipmentNormal>();
  for (let i = 0; i < equipmentIds.length; i += BATCH_GET_KEYS) {
    let keys: Record<string, unknown>[] | undefined = equipmentIds
      .slice(i, i + BATCH_GET_KEYS)
      .map((id) => detectorStateKey(id));
    for (let round = 0; round < BATCH_GET_ROUNDS && keys && keys.length > 0; round++) {
      // (Undefined from a client stub that does not answer BatchGetItem.)
      const result: BatchGetCommandOutput | undefined = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: keys,
              ProjectionExpression: 'equipment_id, #normal, last_ms',
              ExpressionAttributeNames: { '#normal': 'normal' },
            },
          },
        }),
      );
      for (const item of result?.Responses?.[tableName] ?? []) {
        const normal = toEquipmentNormal(item);
        if (normal) normals.set(item.equipment_id as EquipmentId, normal);
      }
      keys = result?.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return normals;
}

/** A state item's `normal` for the page: only finite numbers, only features with something to draw. */
function toEquipmentNormal(item: Record<string, unknown>): EquipmentNormal | undefined {
  const stored = item.normal;
  const atMs = Number(item.last_ms);
  if (!stored || typeof stored !== 'object' || !Number.isFinite(atMs)) return undefined;
  const features: Record<string, FeatureNormal> = {};
  for (const [name, value] of Object.entries(stored as Record<string, unknown>)) {
    if (!value || typeof value !== 'object') continue;
    const fields = value as Record<string, unknown>;
    if (typeof fields.threshold !== 'number') continue;
    const normal: FeatureNormal = { threshold: fields.threshold };
    for (const field of NORMAL_FIELDS) {
      const number = fields[field];
      if (typeof number === 'number' && Number.isFinite(number)) normal[field] = number;
    }
    features[name] = normal;
  }
  return { atMs, features };
}

const NORMAL_FIELDS = ['expected', 'low', 'high', 'limitLow', 'limitHigh', 'levelLow', 'levelHigh'] as const;

/** Each (equipment, minute) window as a one-minute bin, per equipment in order. */
export function minuteSeries(
  windows: readonly MinuteAggregate[],
  schema: ReadingSchema = LAB_SCHEMA,
): EquipmentSeries[] {
  const byEquipment = new Map<EquipmentId, EquipmentSeries>();
  for (const window of [...windows].sort((a, b) => a.minuteMs - b.minuteMs)) {
    let series = byEquipment.get(window.equipmentId);
    if (!series) {
      series = {
        equipmentId: window.equipmentId,
        readings: 0,
        anomalies: 0,
        bins: [],
      };
      byEquipment.set(window.equipmentId, series);
    }
    series.readings += window.count;
    series.anomalies += window.anomalies;
    const { means } = toMinuteSummary(window, schema);
    series.bins.push({
      t: window.minuteMs,
      count: window.count,
      anomalies: window.anomalies,
      means: Object.fromEntries(
        Object.entries(means).map(([feature, mean]) => [feature, mean === null ? null : round3(mean)]),
      ),
      ...(window.maxScore === undefined ? {} : { maxScore: window.maxScore }),
      ...(window.anomalies > 0 ? { anomalousFeatures: flaggedFeatures(window, schema) } : {}),
    });
  }
  return [...byEquipment.values()].sort((a, b) => compareIds(a.equipmentId, b.equipmentId));
}

/**
 * A window's anomalous readings per feature, features without any left out. A window written before
 * the windows counted them per feature marks every feature, as a reading naming none does.
 */
function flaggedFeatures(window: MinuteAggregate, schema: ReadingSchema): Record<string, number> {
  const { flagged } = window;
  return Object.fromEntries(
    schema.featureNames.flatMap((feature, f) => {
      const count = flagged ? flagged[f] : window.anomalies;
      return count > 0 ? [[feature, count]] : [];
    }),
  );
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Newest minute first; within a minute, equipment in order. */
function minuteSummaries(windows: readonly MinuteAggregate[], schema: ReadingSchema): MinuteSummary[] {
  return windows
    .map((minute) => toMinuteSummary(minute, schema))
    .sort((a, b) => b.minuteMs - a.minuteMs || compareIds(a.equipmentId, b.equipmentId));
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

/**
 * Alert history items newest first: the day partitions from the reference's next day (an event time
 * a little ahead of the clock) back `days` days, each read in reverse sort-key order, until `skip`
 * items are passed and `take` collected; `more` tells whether another item follows them. Only one
 * page of items is held; the equipment filter is applied as they are read.
 */
export async function queryAlertHistory(
  client: DynamoDBDocumentClient,
  tableName: string,
  query: {
    referenceMs: number;
    days: number;
    skip: number;
    take: number;
    equipmentId?: EquipmentId;
    schema?: ReadingSchema;
  },
): Promise<{ items: AlertSummary[]; more: boolean }> {
  const items: AlertSummary[] = [];
  let passed = 0;
  for (let day = 1; day >= -query.days; day--) {
    const pk = alertHistoryPartitionKey(query.referenceMs + day * 86_400_000);
    const pages = paginateQuery(
      { client, pageSize: Math.min(query.take + 1, 100) },
      {
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: false,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const state = item.state as EpisodeState | undefined;
        if (state?.episodeId === undefined || !String(item.pk).startsWith(ALERT_HISTORY_PK_PREFIX)) continue;
        if (query.equipmentId !== undefined && state.equipmentId !== query.equipmentId) continue;
        if (passed < query.skip) {
          passed++;
          continue;
        }
        if (items.length === query.take) return { items, more: true };
        items.push(alertOfEpisode(state, query.schema));
      }
    }
  }
  return { items, more: false };
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

export function alertOfEpisode(state: EpisodeState, schema: ReadingSchema = LAB_SCHEMA): AlertSummary {
  const labelOf = (feature: string) =>
    schema.features.find((f) => f.name === feature)?.label ?? feature.replaceAll('_', ' ');
  // The peak: the first alert's severity, or that of the episode's highest score if higher.
  const peak = severityOf(state.peakScore);
  const severity =
    state.severity !== undefined && SEVERITY_RANK[state.severity] >= SEVERITY_RANK[peak]
      ? state.severity
      : peak;
  return {
    startedMs: state.startedMs,
    equipmentId: state.equipmentId,
    // Episodes stored before the alerter kept its subject and severity: describe them as it would,
    // with the episode's peak score standing in for the first anomaly's.
    subject:
      state.subject ??
      `Anomaly on equipment ${state.equipmentId}: ${state.features.map(labelOf).join(', ')} anomalous`,
    severity,
    features: state.features,
    episodeId: state.episodeId,
    start: isoOrUndefined(state.startedMs),
    endedMs: state.lastAnomalyMs,
    end: isoOrUndefined(state.lastAnomalyMs),
    // Episodes stored before reasons were kept have none: the page shows their subject instead.
    reasons: Array.isArray(state.reasons) ? state.reasons.map((reason) => reason.text) : [],
    anomalyCount: state.anomalyCount,
  };
}

function isoOrUndefined(epochMs: number): string | undefined {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * The tiles. "alerts in window" counts the episodes listed (the history's newest, and current
 * episodes older than it) that started in the window.
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
  return [
    { name: 'readings in window', value: rows.length },
    { name: 'anomalous readings', value: anomalous },
    { name: 'equipment', value: equipment.size },
    { name: 'alerts in window', value: alertsIn(alerts, window) },
  ];
}

function alertsIn(alerts: readonly AlertSummary[], window: DashboardSnapshot['window']): number {
  return window
    ? alerts.filter((alert) => alert.startedMs >= window.fromMs && alert.startedMs <= window.toMs).length
    : 0;
}
