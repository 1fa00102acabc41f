import {
  type AnomalyEvent,
  parseAnomalyRecord,
  toAnomalyEvent,
  toAnomalyRecords,
} from '../../lambdas/shared/anomaly-events';
import { encode, encodeJson, freshDetector, processRecord, rawReading, SOURCE } from './fixtures';

/** Anomalous readings of equipment 101 and 102, interleaved, each second apart. */
const events: AnomalyEvent[] = processRecord(
  Array.from({ length: 30 }, (_, i) =>
    rawReading({
      equipment_id: i % 3 === 2 ? 102 : 101,
      timestamp: new Date(Date.UTC(2026, 10, 23, 19, 46, 30) + i * 1000).toISOString(),
      temperature: 90 + i,
    }),
  ),
)
  .filter((p) => p.isAnomaly)
  .map(toAnomalyEvent);

const ofEquipment = (id: number) => events.filter((e) => e.equipment_id === id);

describe('toAnomalyEvent', () => {
  it('describes the anomalous reading, with an event id stable across retries', () => {
    expect(events).toHaveLength(30);
    expect(events[0]).toEqual({
      event_id: `${SOURCE.shardId}:${SOURCE.sequenceNumber}:0`,
      equipment_id: 101,
      timestamp: '2026-11-23T19:46:30.000Z',
      timestamp_ms: Date.UTC(2026, 10, 23, 19, 46, 30),
      score: expect.any(Number),
      anomalous_features: ['temperature'],
      reasons: [expect.stringMatching(/^temperature \+5\d% over baseline$/)],
      values: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 90, humidity: 30 },
      model_version: freshDetector().modelVersion,
      source: {
        stream: SOURCE.stream,
        shard_id: SOURCE.shardId,
        sequence_number: SOURCE.sequenceNumber,
        reading_index: 0,
      },
    });
  });
});

describe('toAnomalyRecords', () => {
  it('groups events by equipment, keyed by equipment id, in event order', () => {
    const records = toAnomalyRecords(events);
    expect(records.map((r) => r.partitionKey)).toEqual(['101', '102']);
    expect(parseAnomalyRecord(records[0].data)).toEqual(ofEquipment(101));
    expect(parseAnomalyRecord(records[1].data)).toEqual(ofEquipment(102));
  });

  it('splits an equipment’s events into records of at most maxBytes, keeping order', () => {
    const maxBytes = 3 * Buffer.byteLength(JSON.stringify(events[0])) + 10;
    const records = toAnomalyRecords(events, maxBytes);
    expect(records.length).toBeGreaterThanOrEqual(Math.ceil(20 / 3) + Math.ceil(10 / 3));
    for (const record of records) {
      expect(record.data.byteLength).toBeLessThanOrEqual(maxBytes);
      expect(parseAnomalyRecord(record.data).length).toBeGreaterThan(0);
    }
    for (const id of [101, 102]) {
      const mine = records.filter((r) => r.partitionKey === String(id));
      expect(mine.length).toBeGreaterThan(1);
      expect(mine.flatMap((r) => parseAnomalyRecord(r.data))).toEqual(ofEquipment(id));
    }
  });

  it('puts an event larger than maxBytes in a record of its own rather than dropping it', () => {
    const records = toAnomalyRecords(events.slice(0, 2), 10);
    expect(records.flatMap((r) => parseAnomalyRecord(r.data))).toEqual(events.slice(0, 2));
    expect(records).toHaveLength(2);
  });

  it('gives no records for no events', () => {
    expect(toAnomalyRecords([])).toEqual([]);
  });
});

describe('parseAnomalyRecord', () => {
  it('reads every record back to the same events', () => {
    for (const record of toAnomalyRecords(events)) {
      const parsed = parseAnomalyRecord(record.data);
      expect(parsed).toEqual(events.filter((e) => String(e.equipment_id) === record.partitionKey));
    }
  });

  it.each([
    {
      name: 'a single event object',
      data: encodeJson(events[0] ?? {}),
      reason: /^not an anomalies record: \(root\): .*expected array/,
    },
    {
      name: 'a reading array',
      data: encodeJson([rawReading()]),
      reason: /^not an anomalies record: 0\.event_id: /,
    },
    {
      name: 'an event with a bad score',
      data: encodeJson([{ ...events[0], score: 2 }]),
      reason: /^not an anomalies record: 0\.score: /,
    },
    { name: 'not JSON', data: encode('[{"event_id":'), reason: /^not an anomalies record: not JSON: / },
  ])('throws a clear error for $name', ({ data, reason }) => {
    expect(() => parseAnomalyRecord(data)).toThrow(reason);
  });
});
