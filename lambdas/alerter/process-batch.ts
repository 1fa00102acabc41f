import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import { parseAnomalyRecord } from '../shared/anomaly-events';
import {
  ALERT_KIND,
  type Alert,
  advanceEpisode,
  alertFor,
  budgetSummaryFor,
  type EpisodeState,
  SUMMARY_MAX_EQUIPMENT,
} from '../shared/episodes';
import { ALERTER_METRICS } from '../shared/metrics-catalog';
import type { EquipmentId } from '../shared/reading';
import { type AlertReservation, claimSummary, reserveAlerts } from './alert-budget';
import type { AlerterConfig } from './config';
import { loadEpisode, saveAlertHistory, saveEpisode } from './episode-store';

export interface AlerterDeps {
  config: AlerterConfig;
  sns: SNSClient;
  documents: DynamoDBDocumentClient;
  logger: Logger;
  metrics: Metrics;
  /** Episode state by equipment, kept while the Lambda instance is warm. */
  episodes: Map<EquipmentId, EpisodeState>;
  /** Wall-clock time, which the alert budget's minutes follow. */
  now: () => number;
}

/** What one record did: alerts sent, and those the budget held back (with the minute they fell in). */
interface RecordOutcome {
  sent: number;
  suppressed: Alert[];
  reservation?: AlertReservation;
}

/**
 * One batch of the anomalies stream, in order. Each record's events advance their equipment's episode;
 * an episode's first event publishes its one alert, within the topic's budget of alerts per minute.
 * Episodes past the budget are recorded all the same (so they stay quiet while they last) and, once per
 * minute, summed up in one summary message at the end of the batch. State is committed to the warm cache
 * only after the alerts are published and the state saved, so a failed record is retried from the same
 * state: an alert may then repeat (at least once), but is never skipped unless the budget is spent.
 */
export async function processAlerterBatch(
  event: KinesisStreamEvent,
  deps: AlerterDeps,
  context?: Context,
): Promise<KinesisStreamBatchResponse> {
  let failed = false;
  let alertsSent = 0;
  let summariesSent = 0;
  const outcomes: RecordOutcome[] = [];
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  processor.register(
    event.Records,
    async (record: KinesisStreamRecord) => {
      if (failed) throw new Error('not processed: an earlier record of the batch failed');
      try {
        const outcome = await processRecord(record, deps);
        alertsSent += outcome.sent;
        outcomes.push(outcome);
      } catch (error) {
        failed = true;
        deps.logger.error('anomalies record failed', {
          sequenceNumber: record.kinesis.sequenceNumber,
          error: error as Error,
        });
        throw error;
      }
    },
    { context, processInParallel: false },
  );
  try {
    await processor.process();
    summariesSent = await summariseSuppressed(outcomes, deps);
  } finally {
    const suppressed = outcomes.reduce((sum, outcome) => sum + outcome.suppressed.length, 0);
    deps.metrics.addMetric(ALERTER_METRICS.alertsSent, MetricUnit.Count, alertsSent);
    deps.metrics.addMetric(ALERTER_METRICS.alertsSuppressed, MetricUnit.Count, suppressed);
    deps.metrics.addMetric(ALERTER_METRICS.budgetSummariesSent, MetricUnit.Count, summariesSent);
  }
  return processor.response();
}

async function processRecord(record: KinesisStreamRecord, deps: AlerterDeps): Promise<RecordOutcome> {
  const { config } = deps;
  const events = parseAnomalyRecord(Buffer.from(record.kinesis.data, 'base64'));
  const touched = new Map<EquipmentId, EpisodeState>();
  const alerts: Alert[] = [];
  for (const anomaly of events) {
    const equipmentId = anomaly.equipment_id;
    const current =
      touched.get(equipmentId) ??
      deps.episodes.get(equipmentId) ??
      (await loadEpisode(deps.documents, config.stateTable, equipmentId));
    const { state, started } = advanceEpisode(current, anomaly, config.quietMs);
    if (started) {
      const alert = alertFor(state, anomaly, config.quietMs);
      alerts.push(alert);
      touched.set(equipmentId, { ...state, subject: alert.subject, severity: alert.attributes.severity });
    } else touched.set(equipmentId, state);
  }
  // Only records that start episodes touch the budget: a storm costs a write per record, calm costs none.
  const reservation =
    alerts.length > 0
      ? await reserveAlerts(deps.documents, config.stateTable, {
          nowMs: deps.now(),
          episodes: alerts.length,
          budget: config.alertBudgetPerMinute,
        })
      : undefined;
  const granted = reservation?.granted ?? 0;
  const suppressed = alerts.slice(granted);
  for (const alert of suppressed) {
    const state = touched.get(alert.attributes.equipment_id);
    if (state?.episodeId === alert.attributes.episode_id)
      touched.set(state.equipmentId, { ...state, alertSuppressed: true });
  }
  for (const alert of alerts.slice(0, granted)) {
    await deps.sns.send(
      new PublishCommand({
        TopicArn: config.topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: ALERT_KIND.episode },
          equipment_id: {
            DataType: typeof alert.attributes.equipment_id === 'number' ? 'Number' : 'String',
            StringValue: String(alert.attributes.equipment_id),
          },
          features: { DataType: 'String.Array', StringValue: JSON.stringify(alert.attributes.features) },
          severity: { DataType: 'String', StringValue: alert.attributes.severity },
          episode_id: { DataType: 'String', StringValue: alert.attributes.episode_id },
        },
      }),
    );
    deps.logger.info('alert published', { ...alert.attributes, subject: alert.subject });
  }
  if (suppressed.length > 0) {
    deps.logger.info('alerts held back by the alert budget', {
      minute: reservation?.minute,
      pastBudget: reservation?.pastBudget,
      equipmentIds: suppressed.slice(0, SUMMARY_MAX_EQUIPMENT).map((alert) => alert.attributes.equipment_id),
    });
  }
  const expiresAt = Math.floor(deps.now() / 1000) + config.stateTtlSeconds;
  for (const state of touched.values()) {
    // Absorbed replays leave the state as it was: its history item holds it already.
    const before = deps.episodes.get(state.equipmentId);
    await saveEpisode(deps.documents, config.stateTable, state, expiresAt);
    if (state !== before) await saveAlertHistory(deps.documents, config.stateTable, state, expiresAt);
    deps.episodes.set(state.equipmentId, state);
  }
  return { sent: granted, suppressed, reservation };
}

/**
 * The summary of the alerts the batch held back, sent if this batch is the first to claim the minute's
 * one summary (across environments). It comes after the batch's records are committed, so it is sent at
 * most once: a failure to publish it is logged, and the metric still counts what it would have said.
 */
async function summariseSuppressed(outcomes: readonly RecordOutcome[], deps: AlerterDeps): Promise<number> {
  const first = outcomes.find((outcome) => outcome.suppressed.length > 0)?.reservation;
  if (!first) return 0;
  const ofMinute = outcomes.filter((outcome) => outcome.reservation?.minute === first.minute);
  const suppressed = ofMinute.flatMap((outcome) => outcome.suppressed);
  const pastBudget = Math.max(...ofMinute.map((outcome) => outcome.reservation?.pastBudget ?? 0));
  const { config } = deps;
  try {
    if (!(await claimSummary(deps.documents, config.stateTable, first.minute))) return 0;
    const summary = budgetSummaryFor({
      minute: first.minute,
      budgetPerMinute: config.alertBudgetPerMinute,
      pastBudget,
      suppressed,
    });
    await deps.sns.send(
      new PublishCommand({
        TopicArn: config.topicArn,
        Subject: summary.subject,
        Message: summary.message,
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: ALERT_KIND.budgetSummary },
          suppressed_count: { DataType: 'Number', StringValue: String(summary.attributes.suppressed_count) },
          equipment_ids: {
            DataType: 'String.Array',
            StringValue: JSON.stringify(summary.attributes.equipment_ids),
          },
          features: { DataType: 'String.Array', StringValue: JSON.stringify(summary.attributes.features) },
          severity: { DataType: 'String', StringValue: summary.attributes.severity },
        },
      }),
    );
    deps.logger.info('alert budget summary published', { ...summary.attributes, subject: summary.subject });
    return 1;
  } catch (error) {
    deps.logger.error('alert budget summary not sent', { minute: first.minute, error: error as Error });
    return 0;
  }
}
