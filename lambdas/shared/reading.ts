import { z } from 'zod';
import type { FeatureValues } from './features';
import { LAB_SCHEMA, type ReadingSchema, type SchemaFeature, type TimestampForm } from './reading-schema';
import { checkTimestampWindow, describe, parseTimestamp } from './timestamp';

/** An equipment's id: an integer or a string, as the reading schema says. */
export type EquipmentId = number | string;

/** A validated sensor reading. */
export interface Reading {
  equipmentId: EquipmentId;
  timestampMs: number;
  /** Per feature of the schema; NaN for an optional feature the reading left out. */
  values: FeatureValues;
}

/** The lab schema's physical ranges: outside them a value is a sensor or producer fault, not an anomaly. */
export const PHYSICAL_RANGES: Record<string, { min: number; max: number; unit: string }> = Object.fromEntries(
  LAB_SCHEMA.features.map((f) => [f.name, { min: f.min, max: f.max, unit: f.unitSuffix }]),
);

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

export type ValidationResult = { ok: true; reading: Reading } | { ok: false; reason: string };

export type ReadingValidator = (
  value: unknown,
  arrivalMs: number,
  limits?: ValidationLimits,
) => ValidationResult;

/**
 * The validator of a reading schema's readings: exactly its fields, each feature a finite number in its
 * physical range (optional ones may be left out), an equipment id of the declared kind, a timestamp of
 * an accepted form, within the plausible window of the record's arrival, and no bigger than the limit.
 */
export function createReadingValidator(schema: ReadingSchema): ReadingValidator {
  const zodSchema = readingSchemaOf(schema);
  const keys = new Set([schema.equipment.field, schema.timestamp.field, ...schema.featureNames]);
  const required = 2 + schema.features.filter((f) => !f.optional).length;
  const features = schema.features;
  const equipment = schema.equipment;
  const equipmentField = equipment.field;
  const timestampField = schema.timestamp.field;
  const formCheck = formsCheck(schema.timestamp.forms);

  /**
   * The same rules as the schema, checked directly for the common case of a reading with nothing wrong
   * (the transform validates every reading of every record, so this is its hot path). Returns undefined
   * for anything else, which the schema then explains. A reading of these fields, numbers and a
   * timestamp string of at most 40 characters, is far under any size limit, so size is not measured.
   */
  const wellFormed = (value: unknown, arrivalMs: number, limits: ValidationLimits): Reading | undefined => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    let present = 0;
    for (const key in record) {
      if (!keys.has(key)) return undefined;
      present++;
    }
    if (present < required || limits.maxReadingBytes < 512 + 64 * features.length) return undefined;
    const equipmentId = record[equipmentField];
    if (!validEquipment(equipment, equipmentId)) return undefined;
    const values: FeatureValues = {};
    for (let f = 0; f < features.length; f++) {
      const feature = features[f];
      const v = record[feature.name];
      if (v === undefined && feature.optional) {
        values[feature.name] = Number.NaN;
        continue;
      }
      if (typeof v !== 'number' || !(v >= feature.min && v <= feature.max)) return undefined;
      values[feature.name] = v;
    }
    const timestamp = record[timestampField];
    if (typeof timestamp === 'string' && timestamp.length > 40) return undefined;
    if (formCheck && formCheck(timestamp) !== undefined) return undefined;
    const time = parseTimestamp(timestamp);
    if (!time.ok || checkTimestampWindow(time.epochMs, arrivalMs, limits.maxClockSkewMs)) return undefined;
    return { equipmentId: equipmentId as number | string, timestampMs: time.epochMs, values };
  };

  return (value, arrivalMs, limits = DEFAULT_VALIDATION_LIMITS) => {
    const fast = wellFormed(value, arrivalMs, limits);
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
    const parsed = zodSchema.safeParse(value);
    if (!parsed.success) {
      return { ok: false, reason: parsed.error.issues.map((issue) => issue.message).join('; ') };
    }
    const data = parsed.data as Record<string, unknown>;
    const timestamp = data[timestampField] as string | number;
    const wrongForm = formCheck?.(timestamp);
    if (wrongForm) return { ok: false, reason: wrongForm };
    const time = parseTimestamp(timestamp);
    if (!time.ok) return time;
    const outsideWindow = checkTimestampWindow(time.epochMs, arrivalMs, limits.maxClockSkewMs);
    if (outsideWindow) return { ok: false, reason: outsideWindow };
    const values: FeatureValues = {};
    for (const feature of features) {
      const v = data[feature.name];
      values[feature.name] = typeof v === 'number' ? v : Number.NaN;
    }
    return {
      ok: true,
      reading: { equipmentId: data[equipmentField] as number | string, timestampMs: time.epochMs, values },
    };
  };
}

const validators = new WeakMap<ReadingSchema, ReadingValidator>();

/** The validator of a schema, built once per schema. */
export function readingValidator(schema: ReadingSchema): ReadingValidator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = createReadingValidator(schema);
    validators.set(schema, validator);
  }
  return validator;
}

/** Validates one decoded reading of the lab's schema; `arrivalMs` is when its Kinesis record arrived. */
export const validateReading: ReadingValidator = readingValidator(LAB_SCHEMA);

function validEquipment(equipment: ReadingSchema['equipment'], id: unknown): boolean {
  if (equipment.type === 'integer') {
    return typeof id === 'number' && Number.isInteger(id) && id >= equipment.min && id <= equipment.max;
  }
  return typeof id === 'string' && equipment.pattern.test(id);
}

const LAB_FORM = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$/;

/** A check of the timestamp's form when the schema accepts only some forms; undefined when it takes all. */
function formsCheck(
  forms: readonly TimestampForm[],
): ((timestamp: unknown) => string | undefined) | undefined {
  if (forms.length === 3) return undefined;
  const allowed = new Set(forms);
  const list = forms.join(', ');
  return (timestamp) => {
    const form: TimestampForm =
      typeof timestamp === 'number'
        ? 'epoch-millis'
        : LAB_FORM.test(String(timestamp).trim())
          ? 'lab'
          : 'iso8601';
    return allowed.has(form)
      ? undefined
      : `timestamp ${describe(timestamp)} is of the ${form} form; this schema takes ${list}`;
  };
}

function measurement(feature: SchemaFeature) {
  const { name, min, max, unitSuffix } = feature;
  const number = z
    .number({
      error: (issue) =>
        issue.input === undefined
          ? `${name} is missing`
          : `${name} must be a finite number, got ${describe(issue.input)}`,
    })
    .min(min, {
      error: (issue) => `${name} ${issue.input} is below the physical minimum ${min}${unitSuffix}`,
    })
    .max(max, {
      error: (issue) => `${name} ${issue.input} is above the physical maximum ${max}${unitSuffix}`,
    });
  return feature.optional ? number.optional() : number;
}

function equipmentOf(equipment: ReadingSchema['equipment']) {
  const { field } = equipment;
  if (equipment.type === 'string') {
    return z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? `${field} is missing`
            : `${field} must be a string, got ${describe(issue.input)}`,
      })
      .regex(equipment.pattern, {
        error: (issue) => `${field} ${describe(issue.input)} does not match ${equipment.pattern.source}`,
      });
  }
  const { min, max } = equipment;
  const kind = min === 1 ? 'a positive integer' : `an integer from ${min} to ${max}`;
  return z
    .number({
      error: (issue) =>
        issue.input === undefined
          ? `${field} is missing`
          : `${field} must be ${kind}, got ${describe(issue.input)}`,
    })
    .int({ error: (issue) => `${field} must be ${kind}, got ${issue.input}` })
    .min(min, { error: (issue) => `${field} must be ${kind}, got ${issue.input}` })
    .max(max, { error: (issue) => `${field} ${issue.input} is larger than ${max}` });
}

function readingSchemaOf(schema: ReadingSchema) {
  const timestampField = schema.timestamp.field;
  return z.strictObject(
    {
      [timestampField]: z.union([z.string(), z.number()], {
        error: (issue) =>
          issue.input === undefined
            ? `${timestampField} is missing`
            : `${timestampField} must be a string or epoch milliseconds, got ${describe(issue.input)}`,
      }),
      [schema.equipment.field]: equipmentOf(schema.equipment),
      ...Object.fromEntries(schema.features.map((feature) => [feature.name, measurement(feature)])),
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
}

function jsonSize(value: unknown): number {
  const text = JSON.stringify(value, (_key, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
  return text === undefined ? 0 : Buffer.byteLength(text);
}
