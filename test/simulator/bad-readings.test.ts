import { decodeRecordData } from '../../lambdas/shared/decode';
import type { RecordSource } from '../../lambdas/shared/processed-reading';
import { DETAILED_READINGS } from '../../lambdas/shared/quarantine';
import { validateReading } from '../../lambdas/shared/reading';
import { scoreRecord } from '../../lambdas/shared/score-record';
import {
  type Burst,
  createLabGenerator,
  MALFORMED_KINDS,
  type MalformedKind,
} from '../../simulator/generator';
import { freshDetector, LIMITS } from '../shared/fixtures';

const START_MS = Date.UTC(2026, 10, 23, 19, 47, 9);
const READINGS = 12_345;

function bursts(seed: number, badRatio: number, readings = READINGS): Burst[] {
  const generator = createLabGenerator({ seed, badRatio });
  const all: Burst[] = [];
  let startMs = START_MS;
  for (let made = 0; made < readings; ) {
    const step = generator.nextStep(startMs, 3000, readings - made);
    all.push(...step.bursts);
    made += step.bursts.reduce((n, burst) => n + burst.readings, 0);
    startMs = step.endMs;
  }
  return all;
}

/** The readings of a record that the pipeline's validator rejects. */
function rejectedIndexes(burst: Burst): number[] {
  const decoded = decodeRecordData(Buffer.from(burst.json));
  if (!decoded.ok) throw new Error(`a whole record was rejected: ${decoded.reason}`);
  const rejected: number[] = [];
  decoded.readings.forEach((reading, index) => {
    if (!validateReading(reading, burst.endMs + 50).ok) rejected.push(index);
  });
  return rejected;
}

const REASONS: Record<MalformedKind, RegExp> = {
  'numeric-string': /vibration_amplitude must be a finite number, got the string/,
  'missing-field': /humidity is missing/,
  nan: /vibration_frequency must be a finite number, got number NaN/,
  'negative-amplitude': /vibration_amplitude -[\d.]+ is below the physical minimum 0/,
  'humidity-over-100': /humidity [\d.]+ is above the physical maximum 100/,
  'unknown-field': /unknown field "pressure"/,
  'bad-timestamp': /timestamp ".*" is not a real date and time/,
  'wrong-type': /temperature must be a finite number, got an array/,
};

describe('malformed readings (--bad-ratio)', () => {
  test.each([0.001, 0.05, 0.37, 1])(
    'a bad ratio of %p makes exactly round(ratio * readings) malformed, and the validator rejects exactly those',
    (badRatio) => {
      const all = bursts(42, badRatio);
      const reported = all.reduce((n, burst) => n + burst.malformed.length, 0);

      expect(reported).toBe(Math.round(badRatio * READINGS));
      for (const burst of all) {
        expect(rejectedIndexes(burst)).toEqual(burst.malformed.map((m) => m.index));
      }
    },
  );

  test('the pipeline quarantines every kind of malformed reading, for the reason its kind names', () => {
    const seen = new Set<MalformedKind>();
    for (const burst of bursts(9, 0.3)) {
      const source: RecordSource = {
        stream: 'sensor-readings',
        shardId: 'shardId-000000000000',
        partitionKey: String(burst.equipmentId),
        sequenceNumber: '1',
        arrivalMs: burst.endMs + 50,
      };
      const { processed, quarantined } = scoreRecord(
        source,
        Buffer.from(burst.json),
        freshDetector(),
        LIMITS,
      );
      expect(processed).toHaveLength(burst.readings - burst.malformed.length);
      // The first malformed readings one entry each, the rest counted by reason in one summary.
      const detailed = quarantined.filter((entry) => entry.reading_index !== null);
      const expected = burst.malformed.slice(0, DETAILED_READINGS);
      expect(detailed.map((entry) => entry.reading_index)).toEqual(expected.map((m) => m.index));
      detailed.forEach((entry, i) => {
        const { kind } = expected[i];
        seen.add(kind);
        expect(entry.reason).toMatch(REASONS[kind]);
      });
      const rest = burst.malformed.slice(DETAILED_READINGS);
      const summary = quarantined.find((entry) => entry.reading_index === null);
      expect(summary?.readings ?? 0).toBe(rest.length);
      // Each reason counted apart names a kind; past 20 distinct reasons they are counted together.
      let counted = 0;
      for (const [reason, count] of Object.entries(summary?.reasons ?? {})) {
        counted += count;
        if (reason === '(other reasons)') continue;
        const kind = MALFORMED_KINDS.find((k) => REASONS[k].test(reason));
        expect([reason, kind]).toEqual([reason, expect.any(String)]);
        seen.add(kind as MalformedKind);
      }
      expect(counted).toBe(rest.length);
    }
    expect([...seen].sort()).toEqual([...MALFORMED_KINDS].sort());
  });

  test('the bad ratio replaces readings without changing the values of the others', () => {
    const clean = bursts(5, 0);
    const dirty = bursts(5, 0.2);

    dirty.forEach((burst, b) => {
      expect(burst.values).toEqual(clean[b].values);
      expect(burst.anomalyMask).toBe(clean[b].anomalyMask);
    });
    expect(dirty.map((b) => b.json)).not.toEqual(clean.map((b) => b.json));
  });

  test('the same seed picks the same malformed readings', () => {
    const picks = () => bursts(77, 0.05).map((burst) => burst.malformed);

    expect(picks()).toEqual(picks());
  });
});
