import { numberText } from '../../lambdas/shared/number-text';
import { seededRandom } from './fixtures';

/** The values among `count` drawn by `draw` that numberText writes differently from String. */
function mismatches(count: number, draw: () => number): string[] {
  const found: string[] = [];
  for (let i = 0; i < count; i++) {
    const value = draw();
    if (numberText(value) !== String(value)) found.push(`${String(value)} written as ${numberText(value)}`);
  }
  return found;
}

describe('numberText', () => {
  it('writes exactly what String writes, for sensor-like values with two decimals', () => {
    const random = seededRandom(11);
    expect(mismatches(300_000, () => Math.round((random() - 0.3) * 2_000_000) / 100)).toEqual([]);
  });

  it('writes exactly what String writes, for scores with four decimals', () => {
    const random = seededRandom(12);
    expect(mismatches(300_000, () => Math.round(random() * 10_000) / 10_000)).toEqual([]);
    expect(mismatches(300_000, () => Math.round((random() - 0.5) * 2e9) / 10_000)).toEqual([]);
  });

  it('writes exactly what String writes, for values of every magnitude, full precision or rounded', () => {
    const random = seededRandom(13);
    const anyMagnitude = () => (random() - 0.5) * 10 ** (random() * 40 - 20);
    expect(mismatches(300_000, anyMagnitude)).toEqual([]);
    expect(mismatches(300_000, () => Math.round(anyMagnitude() * 100) / 100)).toEqual([]);
  });

  it.each([
    0,
    -0,
    1,
    -1,
    0.01,
    -0.01,
    0.1,
    0.5,
    0.05,
    0.0001,
    -0.0001,
    0.00005,
    1e-7,
    5e-324,
    99999.9999,
    100000.0001,
    999999999.99,
    1e9,
    1e15,
    1e21,
    -1e21,
    2 ** 53,
    1.005,
    4.35,
    251.29,
    1000,
    60.1,
  ])('writes %p as String does', (value) => {
    expect(numberText(value)).toBe(String(value));
  });
});
