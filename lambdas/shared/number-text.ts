/**
 * `String(value)` for finite numbers, faster for the common case of few decimals (sensor values
 * with two, as the simulator's and most instruments'; anomaly scores with four): V8 formats a
 * double in about 115 ns, and the transform writes each value twice (CSV and DynamoDB), which made
 * number formatting the largest cost left in it (`npm run bench`).
 *
 * Why the fast path is exact: if n / 10^d === value for an integer n, the decimal text of n / 10^d
 * parses back to value (division is correctly rounded), so the shortest round-trip text that
 * `String` gives has at most d decimals; and no other text of at most d decimals is as close, as
 * long as n stays far below 2^53 (|value| under 1e9 with 2 decimals, 1e5 with 4). Everything else
 * goes to `String`.
 */
export function numberText(value: number): string {
  if (value === 0 || !(value > -1e9 && value < 1e9)) return String(value);
  const hundredths = Math.round(value * 100);
  if (hundredths / 100 === value) return decimalText(hundredths, 100, 2);
  if (value > -1e5 && value < 1e5) {
    const tenThousandths = Math.round(value * 10_000);
    if (tenThousandths / 10_000 === value) return decimalText(tenThousandths, 10_000, 4);
  }
  return String(value);
}

/** The text of scaled / scale, without trailing zeros. */
function decimalText(scaled: number, scale: number, decimals: number): string {
  const sign = scaled < 0 ? '-' : '';
  const magnitude = scaled < 0 ? -scaled : scaled;
  const whole = Math.floor(magnitude / scale);
  let fraction = magnitude - whole * scale;
  if (fraction === 0) return `${sign}${whole}`;
  let digits = decimals;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  const text = String(fraction);
  return `${sign}${whole}.${'0'.repeat(digits - text.length)}${text}`;
}
