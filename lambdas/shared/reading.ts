import { z } from 'zod';
import { FEATURES, type FeatureValues } from './features';
import { checkTimestampWindow, describe, parseTimestamp } from './timestamp';

/** A validated sensor reading. */
export interface Reading {
  equipmentId: number;
  timestampMs: number;
  values: FeatureValues;
}

/** Physical ranges outside which a value is a sensor or producer fault, not an anomaly. */
export const PHYSICAL_RANGES: Record<(typeof FEATURES)[number], { min: number; max: number; unit: string }> =
  {
    vibration_amplitude: { min: 0, max: 100_000, unit: '' },
    vibration_frequency: { min: 0, max: 1_000_000, unit: ' Hz' },
    temperature: { min: -273.15, max: 1_500, unit: ' °C' },
    humidity: { min: 0, max: 100, unit: ' %' },
  };

export interface ValidationLimits {
  /** Largest accepted reading, measured as its JSON text. */
  maxReadingBytes: number;
  /** How far past the record's arrival time a reading's timestamp may be. */
  maxClockSkewMs: number;
}

export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  maxReadingBytes: 1024,
  maxClockSkewMs: 15 * 60_000,
};

function measurement(field: string) {
  const { min, max, unit } = PHYSICAL_RANGES[field as keyof typeof PHYSICAL_RANGES];
  return z
    .number({
      error: (issue) =>
        issue.input === undefined
          ? `${field} is missing`
          : `${field} must be a finite number, got ${describe(issue.input)}`,
    })
    .min(min, { error: (issue) => `${field} ${issue.input} is below the physical minimum ${min}${unit}` })
    .max(max, { error: (issue) => `${field} ${issue.input} is above the physical maximum ${max}${unit}` });
}

const readingSchema = z.strictObject(
  {
    timestamp: z.union([z.string(), z.number()], {
      error: (issue) =>
        issue.input === undefined
          ? 'timestamp is missing'
          : `timestamp must be a string or epoch milliseconds, got ${describe(issue.input)}`,
    }),
    equipment_id: z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? 'equipment_id is missing'
            : `equipment_id must be a positive integer, got ${describe(issue.input)}`,
      })
      .int({ error: (issue) => `equipment_id must be a positive integer, got ${issue.input}` })
      .min(1, { error: (issue) => `equipment_id must be a positive integer, got ${issue.input}` })
      .max(2_147_483_647, { error: (issue) => `equipment_id ${issue.input} is larger than 2147483647` }),
    ...Object.fromEntries(FEATURES.map((feature) => [feature, measurement(feature)])),
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `reading must be a JSON object, got ${describe(issue.input)}`;
    },
  },
);

export type ValidationResult = { ok: true; reading: Reading } | { ok: false; reason: string };

/** Validates one decoded reading; `arrivalMs` is when its Kinesis record arrived. */
export function validateReading(
  value: unknown,
  arrivalMs: number,
  limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS,
): ValidationResult {
  const fast = validWellFormedReading(value, arrivalMs, limits);
  if (fast) return { ok: true, reading: fast };
  // Not an object at all: said at once (a record of half a million such values must stay cheap).
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: `reading must be a JSON object, got ${describe(value)}` };
  }
  // Anything unusual goes through the schema, which says exactly what is wrong.
  const size = jsonSize(value);
  if (size > limits.maxReadingBytes) {
    return {
      ok: false,
      reason: `reading is ${size} bytes as JSON, over the ${limits.maxReadingBytes}-byte limit`,
    };
  }
  const parsed = readingSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((issue) => issue.message).join('; ') };
  }
  const data = parsed.data as Record<string, number> & { timestamp: string | number };
  const time = parseTimestamp(data.timestamp);
  if (!time.ok) return time;
  const outsideWindow = checkTimestampWindow(time.epochMs, arrivalMs, limits.maxClockSkewMs);
  if (outsideWindow) return { ok: false, reason: outsideWindow };
  const values = Object.fromEntries(FEATURES.map((feature) => [feature, data[feature]])) as FeatureValues;
  return { ok: true, reading: { equipmentId: data.equipment_id, timestampMs: time.epochMs, values } };
}

const READING_KEYS = new Set(['timestamp', 'equipment_id', ...FEATURES]);
const RANGES = FEATURES.map((feature) => PHYSICAL_RANGES[feature]);
/** Module-local: under tsx (local mode, bench) each use of an imported binding is a getter call. */
const FEATURE_NAMES = FEATURES;

/**
 * The same rules as the schema, checked directly for the common case of a reading with nothing wrong
 * (the transform validates every reading of every record, so this is its hot path). Returns undefined
 * for anything else, which the schema then explains. A reading of these six fields, numbers and a
 * timestamp string of at most 40 characters, is far under any size limit, so size is not measured.
 */
function validWellFormedReading(
  value: unknown,
  arrivalMs: number,
  limits: ValidationLimits,
): Reading | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  let keys = 0;
  for (const key in record) {
    if (!READING_KEYS.has(key)) return undefined;
    keys++;
  }
  if (keys !== READING_KEYS.size || limits.maxReadingBytes < 512) return undefined;
  const equipmentId = record.equipment_id;
  if (
    typeof equipmentId !== 'number' ||
    !Number.isInteger(equipmentId) ||
    equipmentId < 1 ||
    equipmentId > 2_147_483_647
  ) {
    return undefined;
  }
  const values = {} as FeatureValues;
  for (let f = 0; f < FEATURE_NAMES.length; f++) {
    const v = record[FEATURE_NAMES[f]];
    if (typeof v !== 'number' || !(v >= RANGES[f].min && v <= RANGES[f].max)) return undefined;
    values[FEATURE_NAMES[f]] = v;
  }
  const timestamp = record.timestamp;
  if (typeof timestamp === 'string' && timestamp.length > 40) return undefined;
  const time = parseTimestamp(timestamp);
  if (!time.ok || checkTimestampWindow(time.epochMs, arrivalMs, limits.maxClockSkewMs)) return undefined;
  return { equipmentId, timestampMs: time.epochMs, values };
}

function jsonSize(value: unknown): number {
  const text = JSON.stringify(value, (_key, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
  return text === undefined ? 0 : Buffer.byteLength(text);
}
