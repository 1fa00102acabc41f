import type { AnomalyEvent } from '../../lambdas/shared/anomaly-events';
import {
  advanceEpisode,
  alertFor,
  type EpisodeState,
  MAX_REASON_CHARS,
  severityOf,
} from '../../lambdas/shared/episodes';
import type { Feature } from '../../lambdas/shared/features';

const QUIET_MS = 60_000;
const T0 = Date.UTC(2026, 10, 23, 19, 47, 0);

function event(
  offsetMs: number,
  overrides: Partial<AnomalyEvent> & { equipment_id?: number; features?: Feature[] } = {},
): AnomalyEvent {
  const { features = ['temperature'], ...rest } = overrides;
  const timestampMs = T0 + offsetMs;
  return {
    event_id: `shardId-000000000000:4965:${offsetMs}`,
    equipment_id: 101,
    timestamp: new Date(timestampMs).toISOString(),
    timestamp_ms: timestampMs,
    score: 0.8,
    anomalous_features: features,
    reasons: ['temperature +23% over baseline'],
    values: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 73.8, humidity: 30 },
    model_version: 'zscore-lab-spec-1',
    source: {
      stream: 'sensor-readings',
      shard_id: 'shardId-000000000000',
      sequence_number: '4965',
      reading_index: 0,
    },
    ...rest,
  };
}

/** Runs events through advanceEpisode per equipment, like the alerter, and returns what started. */
function run(events: readonly AnomalyEvent[], initial = new Map<number | string, EpisodeState>()) {
  const states = new Map(initial);
  const started: { event: AnomalyEvent; state: EpisodeState }[] = [];
  for (const e of events) {
    const result = advanceEpisode(states.get(e.equipment_id), e, QUIET_MS);
    if (result.started) started.push({ event: e, state: result.state });
    states.set(e.equipment_id, result.state);
  }
  return { states, started };
}

describe('advanceEpisode', () => {
  it('keeps anomalies with gaps shorter than quietMs in one episode (one alert)', () => {
    const { states, started } = run([0, 10_000, 50_000, 109_000, 168_000].map((t) => event(t)));
    expect(started).toHaveLength(1);
    expect(states.get(101)).toEqual({
      equipmentId: 101,
      episodeId: `101-${T0}`,
      startedMs: T0,
      lastAnomalyMs: T0 + 168_000,
      anomalyCount: 5,
      peakScore: 0.8,
      features: ['temperature'],
      reasons: [{ feature: 'temperature', text: 'temperature +23% over baseline', score: 0.8 }],
    });
  });

  it('starts a second episode after a gap longer than quietMs', () => {
    const { started, states } = run([event(0), event(20_000), event(20_000 + QUIET_MS + 1), event(90_000)]);
    expect(started.map((s) => s.state.episodeId)).toEqual([`101-${T0}`, `101-${T0 + 80_001}`]);
    expect(states.get(101)).toMatchObject({ startedMs: T0 + 80_001, anomalyCount: 2 });
  });

  it('treats a gap of exactly quietMs as the same episode', () => {
    expect(run([event(0), event(QUIET_MS)]).started).toHaveLength(1);
  });

  it('tracks the peak score and the union of features, in feature order', () => {
    const { states } = run([
      event(0, { score: 0.6, features: ['temperature'] }),
      event(1_000, { score: 0.97, features: ['humidity', 'vibration_amplitude'] }),
      event(2_000, { score: 0.7, features: ['temperature'] }),
    ]);
    expect(states.get(101)).toMatchObject({
      peakScore: 0.97,
      anomalyCount: 3,
      features: ['vibration_amplitude', 'temperature', 'humidity'],
    });
  });

  it("keeps every anomalous feature's reason, the text of its highest score, not only the first event's", () => {
    const { states } = run([
      event(0, {
        score: 0.8,
        features: ['vibration_frequency'],
        reasons: ['vibration frequency +30% over baseline'],
      }),
      event(1_000, { score: 0.9, features: ['temperature'], reasons: ['temperature +40% over baseline'] }),
      // A lower score for the temperature does not replace its reason; a higher one for vibration does.
      event(2_000, {
        score: 0.85,
        features: ['vibration_frequency', 'temperature'],
        reasons: ['vibration frequency +45% over baseline', 'temperature +35% over baseline'],
      }),
    ]);
    expect(states.get(101)?.reasons).toEqual([
      { feature: 'vibration_frequency', text: 'vibration frequency +45% over baseline', score: 0.85 },
      { feature: 'temperature', text: 'temperature +40% over baseline', score: 0.9 },
    ]);
    expect(states.get(101)).toMatchObject({ lastAnomalyMs: T0 + 2_000, peakScore: 0.9, anomalyCount: 3 });
  });

  it('bounds the reasons: one per feature, each text cut to MAX_REASON_CHARS', () => {
    const long = 'x'.repeat(10_000);
    const events = Array.from({ length: 200 }, (_, i) =>
      event(i * 10, { score: 0.5 + i / 1000, features: ['temperature'], reasons: [`${i} ${long}`] }),
    );
    const reasons = run(events).states.get(101)?.reasons ?? [];
    expect(reasons).toHaveLength(1);
    expect(reasons[0].text).toHaveLength(MAX_REASON_CHARS);
    expect(reasons[0].text.startsWith('199 ')).toBe(true);
    expect(reasons[0].text.endsWith('...')).toBe(true);
  });

  it('an episode stored before reasons were kept (no reasons field) starts keeping them', () => {
    const stored: EpisodeState = {
      equipmentId: 101,
      episodeId: `101-${T0}`,
      startedMs: T0,
      lastAnomalyMs: T0,
      anomalyCount: 1,
      peakScore: 0.8,
      features: ['vibration_amplitude'],
    };
    const { state } = advanceEpisode(stored, event(5_000, { score: 0.7 }), QUIET_MS);
    expect(state.reasons).toEqual([
      { feature: 'temperature', text: 'temperature +23% over baseline', score: 0.7 },
    ]);
    expect(state.features).toEqual(['vibration_amplitude', 'temperature']);
  });

  it.each([
    ['older than', 5_000],
    ['equal to', 10_000],
  ])('absorbs an event %s lastAnomalyMs: no new episode, state unchanged', (_, offset) => {
    const { states } = run([event(0), event(10_000)]);
    const before = states.get(101);
    const replay = advanceEpisode(before, event(offset, { score: 0.99, features: ['humidity'] }), QUIET_MS);
    expect(replay.started).toBe(false);
    expect(replay.state).toBe(before);
    expect(replay.state).toEqual({ ...before });
  });

  it('absorbs a replay of an earlier episode’s event without alerting again', () => {
    const { states, started } = run([event(0), event(200_000), event(0)]);
    expect(started).toHaveLength(2);
    expect(states.get(101)).toMatchObject({ startedMs: T0 + 200_000, anomalyCount: 1 });
  });

  it('keeps independent episodes for two equipment', () => {
    const { started, states } = run([
      event(0, { equipment_id: 101 }),
      event(5_000, { equipment_id: 102 }),
      event(30_000, { equipment_id: 101 }),
      event(85_000, { equipment_id: 101 }),
      event(100_000, { equipment_id: 102 }), // 95 s after 102's last, though 101's was 15 s ago
    ]);
    expect(started.map((s) => s.state.episodeId)).toEqual([
      `101-${T0}`,
      `102-${T0 + 5_000}`,
      `102-${T0 + 100_000}`,
    ]);
    expect(states.get(101)).toMatchObject({ equipmentId: 101, anomalyCount: 3, lastAnomalyMs: T0 + 85_000 });
    expect(states.get(102)).toMatchObject({ equipmentId: 102, anomalyCount: 1 });
  });
});

describe('severityOf', () => {
  it.each([
    [0, 'low'],
    [0.7499, 'low'],
    [0.75, 'medium'],
    [0.9499, 'medium'],
    [0.95, 'high'],
    [1, 'high'],
  ])('score %p is %p', (score, severity) => {
    expect(severityOf(score)).toBe(severity);
  });
});

describe('alertFor', () => {
  const first = event(0, { equipment_id: 101, score: 0.96 });
  const { state } = advanceEpisode(undefined, first, QUIET_MS);

  it('has the subject "Anomaly on equipment <id>: <first reason>"', () => {
    expect(alertFor(state, first, QUIET_MS).subject).toBe(
      'Anomaly on equipment 101: temperature +23% over baseline',
    );
  });

  it('has attributes equipment_id, features, severity and episode_id', () => {
    expect(alertFor(state, first, QUIET_MS).attributes).toEqual({
      equipment_id: 101,
      features: ['temperature'],
      severity: 'high',
      episode_id: `101-${T0}`,
    });
  });

  it('says why, when, and how long the episode lasts in the message', () => {
    const { message } = alertFor(state, first, QUIET_MS);
    expect(message).toContain('Equipment 101 started an anomaly episode at 2026-11-23T19:47:00.000Z.');
    expect(message).toContain('Why: temperature +23% over baseline');
    expect(message).toContain('Severity: high (score 0.960, model zscore-lab-spec-1)');
    expect(message).toContain('until 60 s pass without one');
  });

  it('truncates a subject over 100 characters to 100, ending in ...', () => {
    const reasons = ['vibration amplitude +45% over baseline', 'vibration frequency +51% over baseline'];
    const long = event(0, { reasons: [reasons.join('; ')], equipment_id: 2_147_483_647 });
    const full = `Anomaly on equipment 2147483647: ${reasons.join('; ')}`;
    expect(full.length).toBeGreaterThan(100);
    const { subject } = alertFor(advanceEpisode(undefined, long, QUIET_MS).state, long, QUIET_MS);
    expect(subject).toHaveLength(100);
    expect(subject).toBe(`${full.slice(0, 97)}...`);
  });

  it('names the features when the event has no reason', () => {
    const bare = event(0, { reasons: [], features: ['temperature', 'humidity'] });
    expect(alertFor(state, bare, QUIET_MS).subject).toBe(
      'Anomaly on equipment 101: temperature, humidity anomalous',
    );
  });
});
