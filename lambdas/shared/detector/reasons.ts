import type { AdaptiveScore } from './adaptive';

/** The reasons the detector gives, one short sentence per anomalous feature. */

/** "temperature +23% over baseline": a trained feature's level against the centre of its band. */
export function describeDeviation(label: string, deviation: number): string {
  return `${label} ${signedPercent(deviation)} ${deviation >= 0 ? 'over' : 'under'} baseline`;
}

/** "humidity spike +51% off its level" */
export function describeSpike(label: string, deviation: number): string {
  return `${label} spike ${signedPercent(deviation)} off its level`;
}

/** "temperature 82.5 °C over its limit 80 °C" */
export function describeLimit(
  label: string,
  value: number,
  limit: { low: number; high: number },
  unit = '',
): string {
  return value > limit.high
    ? `${label} ${shortNumber(value)}${unit} over its limit ${shortNumber(limit.high)}${unit}`
    : `${label} ${shortNumber(value)}${unit} under its limit ${shortNumber(limit.low)}${unit}`;
}

const FORECAST_CONTEXT = { level: '', daily: ' for this time of day', weekly: ' for this time of the week' };

/**
 * What the adaptive half found: "temperature +8% over its usual level for this time of day", or
 * "temperature 81.2 °C, beyond its range so far (52.1 to 78.4 °C)".
 */
export function describeAdaptive(label: string, value: number, score: AdaptiveScore, unit = ''): string {
  if (score.outOfRange) {
    return `${label} ${shortNumber(value)}${unit}, beyond its range so far (${shortNumber(score.low)} to ${shortNumber(score.high)}${unit})`;
  }
  const { expected } = score;
  const context = FORECAST_CONTEXT[score.forecast];
  if (expected === 0) {
    return `${label} ${shortNumber(value)}${unit} ${value >= 0 ? 'over' : 'under'} its usual level 0${unit}${context}`;
  }
  const deviation = (value - expected) / Math.abs(expected);
  return `${label} ${signedPercent(deviation)} ${deviation >= 0 ? 'over' : 'under'} its usual level${context}`;
}

function signedPercent(deviation: number): string {
  const percent = Math.abs(deviation) * 100;
  const shown = percent >= 10 ? percent.toFixed(0) : percent.toFixed(1);
  return `${deviation >= 0 ? '+' : '-'}${shown}%`;
}

/** Four significant digits, no exponent for everyday magnitudes. */
function shortNumber(value: number): string {
  return String(Number(value.toPrecision(4)));
}
