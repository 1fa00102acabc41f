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
import { type Alert, advanceEpisode, alertFor, type EpisodeState } from '../shared/episodes';
import { ALERTER_METRICS } from '../shared/metrics-catalog';
import type { AlerterConfig } from './config';
import { loadEpisode, saveEpisode } from './episode-store';

export interface AlerterDeps {
  config: AlerterConfig;
  sns: SNSClient;
  documents: DynamoDBDocumentClient;
  logger: Logger;
  metrics: Metrics;
  /** Episode state by equipment, kept while the Lambda instance is warm. */
  episodes: Map<number, EpisodeState>;
}

/**
 * One batch of the anomalies stream, in order. Each record's events advance their equipment's episode;
 * an episode's first event publishes its one alert. State is committed to the warm cache only after the
 * alerts are published and the state saved, so a failed record is retried from the same state: an
 * alert may then repeat (at least once), but is never skipped.
 */
export async function processAlerterBatch(
  event: KinesisStreamEvent,
  deps: AlerterDeps,
  context?: Context,
): Promise<KinesisStreamBatchResponse> {
  let failed = false;
  let alertsSent = 0;
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  processor.register(
    event.Records,
    async (record: KinesisStreamRecord) => {
      if (failed) throw new Error('not processed: an earlier record of the batch failed');
      try {
        alertsSent += await processRecord(record, deps);
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
  } finally {
    deps.metrics.addMetric(ALERTER_METRICS.alertsSent, MetricUnit.Count, alertsSent);
  }
  return processor.response();
}

async function processRecord(record: KinesisStreamRecord, deps: AlerterDeps): Promise<number> {
  const { config } = deps;
  const events = parseAnomalyRecord(Buffer.from(record.kinesis.data, 'base64'));
  const touched = new Map<number, EpisodeState>();
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
  for (const alert of alerts) {
    await deps.sns.send(
      new PublishCommand({
        TopicArn: config.topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageAttributes: {
          equipment_id: { DataType: 'Number', StringValue: String(alert.attributes.equipment_id) },
          features: { DataType: 'String.Array', StringValue: JSON.stringify(alert.attributes.features) },
          severity: { DataType: 'String', StringValue: alert.attributes.severity },
          episode_id: { DataType: 'String', StringValue: alert.attributes.episode_id },
        },
      }),
    );
    deps.logger.info('alert published', { ...alert.attributes, subject: alert.subject });
  }
  const expiresAt = Math.floor(Date.now() / 1000) + config.stateTtlSeconds;
  for (const state of touched.values()) {
    await saveEpisode(deps.documents, config.stateTable, state, expiresAt);
    deps.episodes.set(state.equipmentId, state);
  }
  return alerts.length;
}
