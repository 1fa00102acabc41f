import type { AnomalyEvent } from './anomaly-events';
import { FEATURE_LABELS, FEATURES } from './features';
import type { EquipmentId } from './reading';

/**
 * Anomaly episodes, per equipment, in event time: an episode starts at an anomalous reading that comes
 * more than `quietMs` after the previous one, and every anomaly until such a gap belongs to it. One
 * alert is sent per episode. Events no newer than the episode's last anomaly (retries, replays) are
 * absorbed without an alert.
 */

export interface EpisodeState {
  equipmentId: EquipmentId;
  episodeId: string;
  startedMs: number;
  lastAnomalyMs: number;
  anomalyCount: number;
  peakScore: number;
  features: string[];
  /** The alert that opened the episode, kept for dashboards. */
  subject?: string;
  severity?: Severity;
  /**
   * Per anomalous feature of the episode, the reason with the highest score seen (one per feature, the
   * text capped at MAX_REASON_CHARS), in the episode's feature order. Absent in items stored before.
   */
  reasons?: EpisodeReason[];
  /**
   * The topic's alert budget was spent when the episode started: it was counted into a summary message
   * instead of sending its own. It is still the equipment's episode, so its next anomalies stay quiet.
   */
  alertSuppressed?: boolean;
}

/** One feature's reason in an episode: the text of its highest-scoring anomalous reading. */
export interface EpisodeReason {
  feature: string;
  text: string;
  score: number;
}

/** A reason's text is cut to this many characters (the detector's are far shorter). */
export const MAX_REASON_CHARS = 300;
/** Reasons kept per episode at most: one per feature, and a schema has at most 50. */
export const MAX_EPISODE_REASONS = 64;

/**
 * Merges an event's reasons into an episode's: per feature, the text of the highest score. The
 * detector gives one reason per anomalous feature, in the same order; an event whose lists differ in
 * length has its reasons paired with its features as far as they go, the rest keyed by the first one.
 */
export function mergeReasons(
  reasons: readonly EpisodeReason[],
  event: Pick<AnomalyEvent, 'anomalous_features' | 'reasons' | 'score'>,
  features: readonly string[],
): EpisodeReason[] {
  const byFeature = new Map(reasons.map((reason) => [reason.feature, reason]));
  event.reasons.forEach((text, i) => {
    if (typeof text !== 'string' || text === '') return;
    const feature = event.anomalous_features[i] ?? event.anomalous_features[0] ?? '';
    const kept = byFeature.get(feature);
    if (kept && kept.score >= event.score) return;
    if (!kept && byFeature.size >= MAX_EPISODE_REASONS) return;
    const capped = text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 3)}...` : text;
    byFeature.set(feature, { feature, text: capped, score: event.score });
  });
  const rank = (feature: string) => {
    const index = features.indexOf(feature);
    return index < 0 ? features.length : index;
  };
  return [...byFeature.values()].sort((a, b) => rank(a.feature) - rank(b.feature));
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
        reasons: mergeReasons([], event, sortFeatures(event.anomalous_features)),
      },
    };
  }
  if (event.timestamp_ms <= state.lastAnomalyMs) return { state, started: false };
  const features = sortFeatures([...state.features, ...event.anomalous_features]);
  return {
    started: false,
    state: {
      ...state,
      lastAnomalyMs: event.timestamp_ms,
      anomalyCount: state.anomalyCount + 1,
      peakScore: Math.max(state.peakScore, event.score),
      features,
      // An episode stored before reasons were kept starts keeping them now.
      reasons: mergeReasons(state.reasons ?? [], event, features),
    },
  };
}

/** The lab's features in the lab's order, then any other schema's features in the order they came. */
function sortFeatures(features: readonly string[]): string[] {
  const lab: readonly string[] = FEATURES;
  const others = [...new Set(features.filter((feature) => !lab.includes(feature)))];
  return [...lab.filter((feature) => features.includes(feature)), ...others];
}

/** A feature's label in alerts: the lab's, or the name with spaces (the reasons carry a schema's labels). */
function labelOf(feature: string): string {
  return FEATURE_LABELS[feature] ?? feature.replaceAll('_', ' ');
}

export type Severity = 'low' | 'medium' | 'high';

export function severityOf(score: number): Severity {
  if (score >= 0.95) return 'high';
  if (score >= 0.75) return 'medium';
  return 'low';
}

/** The `kind` message attribute, for subscribers' filter policies. */
export const ALERT_KIND = { episode: 'episode', budgetSummary: 'budget-summary' } as const;

export interface Alert {
  subject: string;
  message: string;
  attributes: { equipment_id: EquipmentId; features: string[]; severity: Severity; episode_id: string };
}

/** SNS subjects are limited to 100 characters. */
const MAX_SUBJECT = 100;

/** The alert for an episode, described by the event that started it. */
export function alertFor(state: EpisodeState, event: AnomalyEvent, quietMs: number): Alert {
  const severity = severityOf(event.score);
  const headline =
    event.reasons[0] ?? `${event.anomalous_features.map((f) => labelOf(f)).join(', ')} anomalous`;
  let subject = `Anomaly on equipment ${event.equipment_id}: ${headline}`;
  if (subject.length > MAX_SUBJECT) subject = `${subject.slice(0, MAX_SUBJECT - 3)}...`;
  const values = Object.entries(event.values).map(
    ([feature, value]) => `  ${labelOf(feature)}: ${value ?? '(not sent)'}`,
  );
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

/** A budget summary lists at most this many equipment: enough to recognise a pattern, short enough to read. */
export const SUMMARY_MAX_EQUIPMENT = 20;

export interface BudgetSummary {
  subject: string;
  message: string;
  attributes: {
    /** New episodes of the minute past the budget so far, from every alerter environment. */
    suppressed_count: number;
    /** The first of them this summary saw, in stream order, at most SUMMARY_MAX_EQUIPMENT. */
    equipment_ids: EquipmentId[];
    features: string[];
    /** The highest severity among them, so a filter on severity still hears of a storm. */
    severity: Severity;
  };
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

/**
 * The one message of a minute whose new episodes went past the topic's alert budget: how many more
 * equipment went anomalous, which ones (a bounded list), and where to look at all of them.
 */
export function budgetSummaryFor(input: {
  /** The budget item's minute, `2026-11-23T19:47Z`. */
  minute: string;
  budgetPerMinute: number;
  pastBudget: number;
  /** The alerts held back, in stream order. */
  suppressed: readonly Alert[];
}): BudgetSummary {
  const { minute, budgetPerMinute, suppressed } = input;
  const count = Math.max(input.pastBudget, suppressed.length);
  const equipmentIds = [...new Set(suppressed.map((alert) => alert.attributes.equipment_id))].slice(
    0,
    SUMMARY_MAX_EQUIPMENT,
  );
  const severity = suppressed
    .map((alert) => alert.attributes.severity)
    .reduce<Severity>((top, s) => (SEVERITY_RANK[s] > SEVERITY_RANK[top] ? s : top), 'low');
  const features = sortFeatures(suppressed.flatMap((alert) => alert.attributes.features));
  const from = minute.slice(11, 16);
  const until = new Date(Date.parse(minute) + 60_000).toISOString().slice(11, 16);
  const message = [
    `More equipment went anomalous in the minute from ${from} UTC than the alert budget of ${budgetPerMinute} messages a minute: up to ${budgetPerMinute} were alerted one by one, and ${count} more new anomaly episodes (so far) are summed up here instead.`,
    '',
    `Equipment among them (the first ${equipmentIds.length}): ${equipmentIds.join(', ')}${count > equipmentIds.length ? ', ...' : ''}`,
    `Highest severity: ${severity}. Features: ${features.map((f) => labelOf(f)).join(', ') || 'none'}.`,
    '',
    `Their episodes are recorded as usual, so they send nothing more while they last. Further new episodes until ${until} UTC are counted, not sent; the budget renews every minute.`,
    'Where to look at every one of them:',
    '  - the dashboard: npm run dashboard -- --target aws (or the one npm start prints), and the CloudWatch dashboard sensor-pipeline (alerts suppressed by the budget)',
    '  - the readings of the last 3 minutes: npm run last3 -- --target aws (--equipment N for one)',
    '  - the CSV lake: the Athena view streamdata_last3_view, or readings/ in the processed bucket',
  ].join('\n');
  return {
    subject: `Alert budget reached: ${count} more equipment went anomalous at ${from} UTC`,
    message,
    attributes: { suppressed_count: count, equipment_ids: equipmentIds, features, severity },
  };
}
