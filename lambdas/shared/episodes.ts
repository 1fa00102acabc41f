import type { AnomalyEvent } from './anomaly-events';
import { FEATURE_LABELS, FEATURES, type Feature } from './features';

/**
 * Anomaly episodes, per equipment, in event time: an episode starts at an anomalous reading that comes
 * more than `quietMs` after the previous one, and every anomaly until such a gap belongs to it. One
 * alert is sent per episode. Events no newer than the episode's last anomaly (retries, replays) are
 * absorbed without an alert.
 */

export interface EpisodeState {
  equipmentId: number;
  episodeId: string;
  startedMs: number;
  lastAnomalyMs: number;
  anomalyCount: number;
  peakScore: number;
  features: Feature[];
  /** The alert that opened the episode, kept for dashboards. */
  subject?: string;
  severity?: Severity;
}

export function advanceEpisode(
  state: EpisodeState | undefined,
  event: AnomalyEvent,
  quietMs: number,
): { state: EpisodeState; started: boolean } {
  if (!state || event.timestamp_ms > state.lastAnomalyMs + quietMs) {
    return {
      started: true,
      state: {
        equipmentId: event.equipment_id,
        episodeId: `${event.equipment_id}-${event.timestamp_ms}`,
        startedMs: event.timestamp_ms,
        lastAnomalyMs: event.timestamp_ms,
        anomalyCount: 1,
        peakScore: event.score,
        features: sortFeatures(event.anomalous_features),
      },
    };
  }
  if (event.timestamp_ms <= state.lastAnomalyMs) return { state, started: false };
  return {
    started: false,
    state: {
      ...state,
      lastAnomalyMs: event.timestamp_ms,
      anomalyCount: state.anomalyCount + 1,
      peakScore: Math.max(state.peakScore, event.score),
      features: sortFeatures([...state.features, ...event.anomalous_features]),
    },
  };
}

function sortFeatures(features: readonly Feature[]): Feature[] {
  return FEATURES.filter((feature) => features.includes(feature));
}

export type Severity = 'low' | 'medium' | 'high';

export function severityOf(score: number): Severity {
  if (score >= 0.95) return 'high';
  if (score >= 0.75) return 'medium';
  return 'low';
}

export interface Alert {
  subject: string;
  message: string;
  attributes: { equipment_id: number; features: Feature[]; severity: Severity; episode_id: string };
}

/** SNS subjects are limited to 100 characters. */
const MAX_SUBJECT = 100;

/** The alert for an episode, described by the event that started it. */
export function alertFor(state: EpisodeState, event: AnomalyEvent, quietMs: number): Alert {
  const severity = severityOf(event.score);
  const headline =
    event.reasons[0] ?? `${event.anomalous_features.map((f) => FEATURE_LABELS[f]).join(', ')} anomalous`;
  let subject = `Anomaly on equipment ${event.equipment_id}: ${headline}`;
  if (subject.length > MAX_SUBJECT) subject = `${subject.slice(0, MAX_SUBJECT - 3)}...`;
  const values = FEATURES.map((feature) => `  ${FEATURE_LABELS[feature]}: ${event.values[feature]}`);
  const message = [
    `Equipment ${event.equipment_id} started an anomaly episode at ${event.timestamp}.`,
    '',
    `Why: ${event.reasons.join('; ') || 'score over threshold'}`,
    `Severity: ${severity} (score ${event.score.toFixed(3)}, model ${event.model_version})`,
    'Reading:',
    ...values,
    '',
    `Episode ${state.episodeId}: further anomalies on this equipment are part of it until ${quietMs / 1000} s pass without one; no other alert is sent for them.`,
    `Source: ${event.source.stream} ${event.source.shard_id} sequence ${event.source.sequence_number} reading ${event.source.reading_index}`,
  ].join('\n');
  return {
    subject,
    message,
    attributes: {
      equipment_id: event.equipment_id,
      features: event.anomalous_features,
      severity,
      episode_id: state.episodeId,
    },
  };
}
