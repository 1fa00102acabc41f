import { quarantineEntry, rawRecordData, toJsonLines } from '../../lambdas/shared/quarantine';
import { scoreRecord } from '../../lambdas/shared/score-record';
import { encode, freshDetector, LIMITS, rawReading, SOURCE } from './fixtures';

describe('quarantine', () => {
  it('toJsonLines writes one JSON line per entry, each ending in a newline', () => {
    const entries = [
      quarantineEntry(SOURCE, null, 'record is empty', '', 'text'),
      quarantineEntry(
        SOURCE,
        3,
        'humidity 100.5 is above the physical maximum 100 %',
        rawReading({ humidity: 100.5 }),
        'json',
      ),
    ];
    const text = toJsonLines(entries);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => JSON.parse(line))).toEqual(entries);
  });

  it('toJsonLines keeps NaN, Infinity and -Infinity as strings rather than null', () => {
    const reading = rawReading({
      temperature: Number.NaN,
      humidity: Number.POSITIVE_INFINITY,
      vibration_frequency: Number.NEGATIVE_INFINITY,
    });
    const [line] = toJsonLines([quarantineEntry(SOURCE, 0, 'not finite', reading, 'json')]).split('\n');
    expect(JSON.parse(line).data).toEqual({
      ...reading,
      temperature: 'NaN',
      humidity: 'Infinity',
      vibration_frequency: '-Infinity',
    });
  });

  it('keeps the NaN of a Python producer’s record visible in the quarantine file', () => {
    const record = JSON.stringify(rawReading({ temperature: '__NaN__' })).replace('"__NaN__"', 'NaN');
    const { quarantined } = scoreRecord(SOURCE, encode(record), freshDetector(), LIMITS);
    expect(quarantined).toHaveLength(1);
    expect(JSON.parse(toJsonLines(quarantined)).data.temperature).toBe('NaN');
  });

  it('rawRecordData keeps UTF-8 bytes as text and other bytes as base64', () => {
    expect(rawRecordData(encode('héllo'))).toEqual({ data: 'héllo', encoding: 'text' });
    expect(rawRecordData(Uint8Array.from([0xc3, 0x28]))).toEqual({ data: 'wyg=', encoding: 'base64' });
  });
});
