/**
 * Reading timestamps: ISO 8601, the lab's `YYYY-MM-DD HH:MM:SS[.ffffff]`, or epoch milliseconds.
 * Strings without a zone are UTC. Sub-millisecond digits are truncated (JavaScript dates are
 * millisecond-precise).
 */

/** Earliest accepted reading time; earlier values are almost always epoch seconds sent as millis. */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export type TimestampResult = { ok: true; epochMs: number } | { ok: false; reason: string };

export function parseTimestamp(value: unknown): TimestampResult {
  if (typeof value === 'number') return parseEpochMillis(value);
  if (typeof value !== 'string') {
    return { ok: false, reason: `timestamp must be a string or epoch milliseconds, got ${describe(value)}` };
  }
  const fast = parseCommonTimestamp(value);
  if (fast !== undefined) return { ok: true, epochMs: fast };
  const match = DATE_TIME.exec(value.trim());
  if (!match) {
    return {
      ok: false,
      reason: `timestamp "${truncate(value)}" is not ISO 8601, "YYYY-MM-DD HH:MM:SS[.ffffff]" or epoch milliseconds`,
    };
  }
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  const millis = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return { ok: false, reason: `timestamp "${truncate(value)}" is not a real date and time` };
  }
  const offsetMs = zoneOffsetMs(zone);
  if (offsetMs === undefined) {
    return {
      ok: false,
      reason: `timestamp "${truncate(value)}" has an impossible time zone offset ${zone} (offsets run from -12:00 to +14:00, minutes 00 to 59)`,
    };
  }
  return { ok: true, epochMs: local - offsetMs };
}

/**
 * The common shapes, read by character position: `YYYY-MM-DD[T ]HH:MM:SS[.f...][Z]`, a real UTC
 * date and time. Undefined for anything else, which the regular expression then handles (and
 * explains). The transform parses every reading's timestamp, so this is on its hot path.
 */
function parseCommonTimestamp(text: string): number | undefined {
  const length = text.length;
  if (length < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const separator = text.charCodeAt(10);
  if (separator !== 84 && separator !== 32) return undefined; // 'T' or ' '
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  if (day > 28 && day > daysInMonth(year, month)) return undefined;
  let millis = 0;
  let end = 19;
  if (end < length && text.charCodeAt(end) === 46) {
    // Up to 9 fraction digits; the first 3 are the milliseconds.
    let digits = 0;
    for (end++; end < length && digits < 9; end++, digits++) {
      const d = text.charCodeAt(end) - 48;
      if (d < 0 || d > 9) break;
      if (digits < 3) millis = millis * 10 + d;
    }
    if (digits === 0) return undefined;
    for (; digits < 3; digits++) millis *= 10;
  }
  if (end < length && text.charCodeAt(end) === 90) end++; // 'Z'
  if (end !== length) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

/** The number written by `count` decimal digits at `start`, or -1. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function parseEpochMillis(value: number): TimestampResult {
  if (!Number.isFinite(value)) return { ok: false, reason: `timestamp ${value} is not a finite number` };
  return { ok: true, epochMs: Math.trunc(value) };
}

/** The offset of a zone designator (Z, +hh, +hh:mm, +hhmm); undefined for one no place on Earth uses. */
function zoneOffsetMs(zone: string | undefined): number | undefined {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  const offsetMinutes = sign * (hours * 60 + minutes);
  if (minutes > 59 || offsetMinutes < -12 * 60 || offsetMinutes > 14 * 60) return undefined;
  return offsetMinutes * 60_000;
}

/** Checks a parsed time against the plausible window: not before 2000, not beyond the clock skew. */
export function checkTimestampWindow(
  epochMs: number,
  arrivalMs: number,
  maxClockSkewMs: number,
): string | undefined {
  if (epochMs < EARLIEST_TIMESTAMP_MS) {
    const hint =
      epochMs > 0 && epochMs < 1e11 ? ' (epoch seconds sent where milliseconds are expected?)' : '';
    return `timestamp ${new Date(epochMs).toISOString()} is before 2000-01-01${hint}`;
  }
  if (epochMs > arrivalMs + maxClockSkewMs) {
    const ahead = Math.round((epochMs - arrivalMs) / 1000);
    return `timestamp ${safeIso(epochMs)} is ${ahead} s after the record arrived (more than the ${maxClockSkewMs / 1000} s clock skew allowed)`;
  }
  return undefined;
}

function safeIso(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? String(epochMs) : date.toISOString();
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string "${truncate(value)}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
