import { parseTimestamp } from '../../lambdas/shared/timestamp';
import { seededRandom } from './fixtures';

const ms = (text: string) => {
  const result = parseTimestamp(text);
  if (!result.ok) throw new Error(result.reason);
  return result.epochMs;
};

describe('parseTimestamp', () => {
  it.each([
    ['2026-11-23 19:47:09', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2026-11-23 19:47:09.123456', Date.UTC(2026, 10, 23, 19, 47, 9, 123)],
    ['2026-11-23T19:47:09.5Z', Date.UTC(2026, 10, 23, 19, 47, 9, 500)],
    ['2026-11-23T19:47:09.05', Date.UTC(2026, 10, 23, 19, 47, 9, 50)],
    ['2026-11-23T19:47:09.123456789Z', Date.UTC(2026, 10, 23, 19, 47, 9, 123)],
    ['2026-11-23t19:47:09z', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2026-11-23T19:47:09,25Z', Date.UTC(2026, 10, 23, 19, 47, 9, 250)],
    ['2026-11-23T21:47:09+02:00', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2026-11-23T14:17:09.1-0530', Date.UTC(2026, 10, 23, 19, 47, 9, 100)],
    ['2026-11-24T09:47:09+14:00', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2026-11-23T07:47:09-12:00', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2026-11-24T01:32:09+05:45', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2026-11-23T21:47:09+02', Date.UTC(2026, 10, 23, 19, 47, 9)],
    [' 2026-11-23 19:47:09 ', Date.UTC(2026, 10, 23, 19, 47, 9)],
    ['2024-02-29 00:00:00', Date.UTC(2024, 1, 29)],
    ['2026-12-31 23:59:59.999', Date.UTC(2026, 11, 31, 23, 59, 59, 999)],
  ])('reads %p', (text, expected) => {
    expect(ms(text)).toBe(expected);
  });

  it.each([
    ['2026-02-29 10:00:00', 'is not a real date and time'],
    ['2026-04-31 10:00:00', 'is not a real date and time'],
    ['2026-13-01 10:00:00', 'is not a real date and time'],
    ['2026-11-23 24:00:00', 'is not a real date and time'],
    ['2026-11-23 23:60:00', 'is not a real date and time'],
    ['2026-11-23 23:59:60', 'is not a real date and time'],
    ['0099-11-23 10:00:00', 'is not a real date and time'],
    ['2026-11-23 10:00:00.', 'is not ISO 8601'],
    ['2026-11-23 10:00:00.1234567890', 'is not ISO 8601'],
    ['2026-11-23 10:00:00ZZ', 'is not ISO 8601'],
    ['2026-11-2x 10:00:00', 'is not ISO 8601'],
    ['2026/11/23 10:00:00', 'is not ISO 8601'],
    ['2026-11-23T19:47:09+24:00', 'impossible time zone offset +24:00'],
    ['2026-11-23T19:47:09+99:00', 'impossible time zone offset +99:00'],
    ['2026-11-23T19:47:09+05:99', 'impossible time zone offset +05:99'],
    ['2026-11-23T19:47:09+14:01', 'impossible time zone offset +14:01'],
    ['2026-11-23T19:47:09-12:30', 'impossible time zone offset -12:30'],
  ])('refuses %p: %s', (text, reason) => {
    const result = parseTimestamp(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('reads every millisecond of random times back, in each accepted layout', () => {
    const random = seededRandom(21);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const epochMs = Date.UTC(2000, 0, 1) + Math.floor(random() * 40 * 365.25 * 86_400_000);
      const iso = new Date(epochMs).toISOString();
      const layouts = [
        iso,
        iso.slice(0, -1),
        `${iso.slice(0, 10)} ${iso.slice(11, 23)}123`,
        iso.replace('Z', '+00:00'),
      ];
      for (const text of layouts) if (ms(text) !== epochMs) wrong.push(text);
    }
    expect(wrong).toEqual([]);
  });
});
