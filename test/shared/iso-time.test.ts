import { isoTime } from '../../lambdas/shared/csv';
import { seededRandom } from './fixtures';

describe('isoTime', () => {
  it('writes what toISOString writes, for times in and across minutes, in any order', () => {
    const random = seededRandom(31);
    const wrong: number[] = [];
    let epochMs = Date.UTC(2026, 10, 23, 19, 47);
    for (let i = 0; i < 50_000; i++) {
      // Mostly small steps within a minute, sometimes a jump back or far ahead.
      const jump = random() < 0.05 ? (random() - 0.5) * 1e12 : random() * 100;
      epochMs = Math.floor(epochMs + jump);
      if (isoTime(epochMs) !== new Date(epochMs).toISOString()) wrong.push(epochMs);
    }
    expect(wrong).toEqual([]);
  });

  it.each([
    0,
    59_999,
    60_000,
    -1,
    Date.UTC(1969, 11, 31, 23, 59, 59, 1),
    Date.UTC(10_000, 0, 1),
    Date.UTC(-1, 0, 1),
  ])('writes %p as toISOString does', (epochMs) => {
    expect(isoTime(epochMs)).toBe(new Date(epochMs).toISOString());
  });
});
