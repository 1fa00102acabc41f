import { z } from 'zod';

/**
 * The reading schema: what a plant's readings look like, declared once and read everywhere else (the
 * validator, the CSV lake and its Athena tables, the documents, the per-minute windows, the metrics and
 * dashboards, the alerts, the detector, the simulator and the CLIs). A user writes one as JSON or YAML
 * (see `schemas/`); the lab's is the default and keeps everything as the lab has it.
 */

/** Column-safe: a feature is a column of the CSV lake and of its Athena tables. */
const COLUMN_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Columns of the CSV lake that are not features: a feature may not take their names. */
export const RESERVED_COLUMNS = [
  'stream',
  'shard_id',
  'partition_key',
  'sequence_number',
  'reading_index',
  'arrival_time',
  'timestamp',
  'equipment_id',
  'anomaly_score',
  'is_anomaly',
  'anomalous_features',
  'reasons',
  'model_version',
  'schema_version',
  'dt',
  'hour',
] as const;

export const TIMESTAMP_FORMS = ['iso8601', 'lab', 'epoch-millis'] as const;
export type TimestampForm = (typeof TIMESTAMP_FORMS)[number];

const fieldName = z
  .string()
  .min(1)
  .max(64)
  .refine((name) => ![...name].some((c) => c.charCodeAt(0) < 32), 'must not hold control characters');

const featureSchema = z
  .strictObject({
    /** The feature's name in readings, documents, the CSV lake and Athena. */
    name: z
      .string()
      .regex(COLUMN_NAME, 'must be lowercase letters, digits and _, starting with a letter (a column name)'),
    /** Its name in reasons, alerts and dashboards (default: the name, with spaces for _). */
    label: z.string().min(1).max(64).optional(),
    /** Its unit, as shown after a value ("°C", "Hz", "%"); empty for none. */
    unit: z.string().max(16).default(''),
    /** Its physical range: a value outside it is a sensor or producer fault, quarantined. */
    min: z.number(),
    max: z.number(),
    /** A reading may leave it out (it is then empty in the lake and not scored). */
    optional: z.boolean().default(false),
    /** The column of a recorded CSV that holds it, when the name differs (SKAB's `Volume Flow RateRMS`). */
    source: fieldName.optional(),
    /** Absolute limits for the detector: a reading outside them is always anomalous. */
    limits: z
      .strictObject({ low: z.number().optional(), high: z.number().optional() })
      .refine((l) => l.low !== undefined || l.high !== undefined, 'needs low, high or both')
      .refine(
        (l) => l.low === undefined || l.high === undefined || l.low <= l.high,
        'low must not exceed high',
      )
      .optional(),
    /** Hints for the simulator's generated readings: a typical value and the spread of its noise. */
    simulation: z.strictObject({ base: z.number(), noise: z.number().nonnegative() }).optional(),
  })
  .refine((f) => f.min < f.max, { message: 'min must be below max', path: ['max'] })
  .refine((f) => !(RESERVED_COLUMNS as readonly string[]).includes(f.name), {
    message: 'is the name of a column the pipeline writes itself',
    path: ['name'],
  });

const equipmentSchema = z.discriminatedUnion('type', [
  z.strictObject({
    field: fieldName.default('equipment_id'),
    type: z.literal('integer'),
    min: z.number().int().default(1),
    max: z.number().int().max(Number.MAX_SAFE_INTEGER).default(2_147_483_647),
  }),
  z.strictObject({
    field: fieldName.default('equipment_id'),
    type: z.literal('string'),
    /** What an id must match (anchored); it is a DynamoDB key and a CloudWatch dimension. */
    pattern: z.string().default('^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  }),
]);

export const readingSchemaFile = z
  .strictObject({
    /** Optional: an editor's JSON schema reference. */
    $schema: z.string().optional(),
    /** The format of this file. */
    formatVersion: z.literal(1),
    /** The schema's name and version: stored with every reading, so old and new rows are told apart. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'must be lowercase letters, digits and -'),
    version: z.string().regex(/^[A-Za-z0-9._-]{1,20}$/, 'must be letters, digits, ., _ or -'),
    description: z.string().optional(),
    equipment: equipmentSchema,
    timestamp: z
      .strictObject({
        field: fieldName.default('timestamp'),
        forms: z
          .array(z.enum(TIMESTAMP_FORMS))
          .min(1)
          .default([...TIMESTAMP_FORMS]),
      })
      .default({ field: 'timestamp', forms: [...TIMESTAMP_FORMS] }),
    features: z.array(featureSchema).min(1).max(50),
    /** Equipment ids the simulator sends as (default: 101, 102, 103, or eq-01 to eq-03 for string ids). */
    simulation: z
      .strictObject({
        equipment: z
          .array(z.union([z.number().int(), z.string()]))
          .min(1)
          .max(100),
      })
      .optional(),
  })
  .superRefine((schema, context) => {
    const names = new Set<string>();
    schema.features.forEach((feature, i) => {
      if (names.has(feature.name)) {
        context.addIssue({
          code: 'custom',
          message: `${feature.name} is declared twice`,
          path: ['features', i, 'name'],
        });
      }
      names.add(feature.name);
    });
    const fields = [schema.equipment.field, schema.timestamp.field, ...schema.features.map((f) => f.name)];
    if (new Set(fields).size !== fields.length) {
      context.addIssue({
        code: 'custom',
        message: 'the equipment field, the timestamp field and the features must have different names',
        path: ['equipment', 'field'],
      });
    }
    if (schema.equipment.type === 'string') {
      try {
        new RegExp(schema.equipment.pattern);
      } catch (error) {
        context.addIssue({
          code: 'custom',
          message: (error as Error).message,
          path: ['equipment', 'pattern'],
        });
      }
    }
  });

export type ReadingSchemaFile = z.infer<typeof readingSchemaFile>;

export interface SchemaFeature {
  name: string;
  label: string;
  /** As written after a value: "" or " °C" (with its space). */
  unitSuffix: string;
  unit: string;
  min: number;
  max: number;
  optional: boolean;
  source: string;
  limits?: { low?: number; high?: number };
  simulation?: { base: number; noise: number };
}

/** A validated schema, with what every module needs of it worked out once. */
export interface ReadingSchema {
  name: string;
  version: string;
  /** `name@version`: stored with every reading. */
  id: string;
  equipment:
    | { field: string; type: 'integer'; min: number; max: number }
    | { field: string; type: 'string'; pattern: RegExp };
  timestamp: { field: string; forms: readonly TimestampForm[] };
  features: readonly SchemaFeature[];
  /** The feature names, in the schema's order: the order of every column and value list. */
  featureNames: readonly string[];
  simulationEquipment: readonly (number | string)[];
  /** Whether this is the lab's schema, whose generator and model the project ships. */
  isLab: boolean;
}

/** Validates a parsed schema file, with an error that names the field at fault. */
export function parseReadingSchema(json: unknown, where = 'reading schema'): ReadingSchema {
  const parsed = readingSchemaFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return toReadingSchema(parsed.data);
}

function toReadingSchema(file: ReadingSchemaFile): ReadingSchema {
  const features = file.features.map(
    (f): SchemaFeature => ({
      name: f.name,
      label: f.label ?? f.name.replaceAll('_', ' '),
      unit: f.unit,
      unitSuffix: f.unit === '' ? '' : ` ${f.unit}`,
      min: f.min,
      max: f.max,
      optional: f.optional,
      source: f.source ?? f.name,
      ...(f.limits ? { limits: f.limits } : {}),
      ...(f.simulation ? { simulation: f.simulation } : {}),
    }),
  );
  const equipment =
    file.equipment.type === 'integer'
      ? file.equipment
      : { field: file.equipment.field, type: 'string' as const, pattern: new RegExp(file.equipment.pattern) };
  const schema: ReadingSchema = {
    name: file.name,
    version: file.version,
    id: `${file.name}@${file.version}`,
    equipment,
    timestamp: file.timestamp,
    features,
    featureNames: features.map((f) => f.name),
    simulationEquipment:
      file.simulation?.equipment ??
      (equipment.type === 'integer' ? [101, 102, 103] : ['eq-01', 'eq-02', 'eq-03']),
    isLab: false,
  };
  schema.isLab = sameAsLab(schema);
  return schema;
}

/** The lab's readings (stream.py of "Level 200: Anomaly Detection ML"): the default schema. */
export const LAB_SCHEMA_FILE: ReadingSchemaFile = {
  formatVersion: 1,
  name: 'lab',
  version: '1',
  description: "The lab's four sensors per equipment, as its simulator sends them",
  equipment: { field: 'equipment_id', type: 'integer', min: 1, max: 2_147_483_647 },
  timestamp: { field: 'timestamp', forms: [...TIMESTAMP_FORMS] },
  features: [
    {
      name: 'vibration_amplitude',
      label: 'vibration amplitude',
      unit: '',
      min: 0,
      max: 100_000,
      optional: false,
      simulation: { base: 250, noise: 25 },
    },
    {
      name: 'vibration_frequency',
      label: 'vibration frequency',
      unit: 'Hz',
      min: 0,
      max: 1_000_000,
      optional: false,
      simulation: { base: 1000, noise: 100 },
    },
    {
      name: 'temperature',
      label: 'temperature',
      unit: '°C',
      min: -273.15,
      max: 1_500,
      optional: false,
      simulation: { base: 60, noise: 6 },
    },
    {
      name: 'humidity',
      label: 'humidity',
      unit: '%',
      min: 0,
      max: 100,
      optional: false,
      simulation: { base: 30, noise: 3 },
    },
  ],
  simulation: { equipment: [101, 102, 103] },
};

function sameAsLab(schema: ReadingSchema): boolean {
  const lab = LAB_SCHEMA_FILE;
  return (
    schema.equipment.type === 'integer' &&
    schema.equipment.field === lab.equipment.field &&
    schema.timestamp.field === lab.timestamp.field &&
    schema.featureNames.join() === lab.features.map((f) => f.name).join()
  );
}

export const LAB_SCHEMA: ReadingSchema = parseReadingSchema(LAB_SCHEMA_FILE, 'the lab schema');
