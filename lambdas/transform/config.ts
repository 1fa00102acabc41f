import { z } from 'zod';
import { DEFAULT_DECODE_LIMITS } from '../shared/decode';
import { DEFAULT_ADAPTIVE_SETTINGS, type ValueLimits } from '../shared/detector';
import { parseValueLimits } from '../shared/detector/value-limits';
import { DEFAULT_DOCUMENT_OPTIONS } from '../shared/documents';
import { parseEnv } from '../shared/env';
import { MAX_KEY_SUFFIXES } from '../shared/key-suffixes';
import { DEFAULT_VALIDATION_LIMITS } from '../shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../shared/reading-schema';
import { loadReadingSchema } from '../shared/reading-schema-file';
import type { RecordLimits } from '../shared/score-record';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const transformEnv = z.object({
  PROCESSED_BUCKET: z.string().min(1),
  READINGS_TABLE: z.string().min(1),
  ANOMALIES_STREAM: z.string().min(1),
  /** The reading schema (JSON or YAML) bundled with the function; the lab's when absent. */
  READING_SCHEMA_PATH: z.string().min(1).optional(),
  /** A trained model artifact (optional): absolute limits for the features it names. */
  MODEL_PATH: z.string().min(1).optional(),
  SCORE_THRESHOLD: z.coerce.number().gt(0).lt(1).default(0.5),
  /** `temperature=0.7,humidity=0.6`: per-feature thresholds overriding SCORE_THRESHOLD. */
  FEATURE_SCORE_THRESHOLDS: z
    .string()
    .default('')
    .transform((text, context) => {
      const thresholds: Record<string, number> = {};
      for (const pair of text.split(',').filter(Boolean)) {
        const [feature, value] = pair.split('=');
        const threshold = Number(value);
        if (!(threshold > 0 && threshold < 1)) {
          context.addIssue({ code: 'custom', message: `"${pair}": a threshold is between 0 and 1` });
          return z.NEVER;
        }
        thresholds[feature.trim()] = threshold;
      }
      return thresholds;
    }),
  /** `temperature=40:80,humidity=:95`: absolute limits; a reading outside them is always anomalous. */
  FEATURE_LIMITS: z
    .string()
    .default('')
    .transform((text, context) => {
      try {
        return parseValueLimits(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  READINGS_TTL_DAYS: positiveInt(DEFAULT_DOCUMENT_OPTIONS.ttlSeconds / 86_400),
  /** K: the partition keys a minute's documents and window contributions spread over (key-suffixes.ts). */
  TABLE_KEY_SUFFIXES: z.coerce.number().int().min(1).max(MAX_KEY_SUFFIXES).default(1),
  MAX_RECORD_BYTES: positiveInt(DEFAULT_DECODE_LIMITS.maxRecordBytes),
  MAX_READING_BYTES: positiveInt(DEFAULT_VALIDATION_LIMITS.maxReadingBytes),
  MAX_CLOCK_SKEW_SECONDS: positiveInt(DEFAULT_VALIDATION_LIMITS.maxClockSkewMs / 1000),
  WINDOW_LATENESS_SECONDS: positiveInt(120),
  /** A lasting change is the new normal after at most this long (the detector's horizon). */
  DETECTOR_HORIZON_MINUTES: positiveInt(DEFAULT_ADAPTIVE_SETTINGS.horizonMs / 60_000),
  /** At most one save of an equipment's detector state this often. */
  DETECTOR_STATE_SAVE_SECONDS: positiveInt(10),
  /** A detector state no reading refreshes for this long expires. */
  DETECTOR_STATE_TTL_DAYS: positiveInt(90),
});

export interface TransformConfig {
  schema: ReadingSchema;
  processedBucket: string;
  readingsTable: string;
  anomaliesStream: string;
  modelPath?: string;
  scoreThreshold: number;
  featureScoreThresholds: Record<string, number>;
  featureLimits: Record<string, ValueLimits>;
  horizonMs: number;
  ttlSeconds: number;
  /** K: the partition keys a minute's items spread over. */
  keySuffixes: number;
  /** A reading older than its record's arrival by more than this is late for its minute window. */
  windowLatenessMs: number;
  detectorState: { saveIntervalMs: number; ttlSeconds: number };
  limits: RecordLimits;
}

/** The transform's configuration, all of it from the environment the stack (or local mode) sets. */
export function loadTransformConfig(env: NodeJS.ProcessEnv): TransformConfig {
  const parsed = parseEnv(transformEnv, env);
  const schema = parsed.READING_SCHEMA_PATH ? loadReadingSchema(parsed.READING_SCHEMA_PATH) : LAB_SCHEMA;
  for (const feature of Object.keys(parsed.FEATURE_LIMITS)) {
    if (!schema.featureNames.includes(feature)) {
      throw new Error(`FEATURE_LIMITS: ${feature} is not a feature of the reading schema ${schema.id}`);
    }
  }
  return {
    schema,
    processedBucket: parsed.PROCESSED_BUCKET,
    readingsTable: parsed.READINGS_TABLE,
    anomaliesStream: parsed.ANOMALIES_STREAM,
    modelPath: parsed.MODEL_PATH,
    scoreThreshold: parsed.SCORE_THRESHOLD,
    featureScoreThresholds: parsed.FEATURE_SCORE_THRESHOLDS,
    featureLimits: parsed.FEATURE_LIMITS,
    horizonMs: parsed.DETECTOR_HORIZON_MINUTES * 60_000,
    ttlSeconds: parsed.READINGS_TTL_DAYS * 86_400,
    keySuffixes: parsed.TABLE_KEY_SUFFIXES,
    windowLatenessMs: parsed.WINDOW_LATENESS_SECONDS * 1000,
    detectorState: {
      saveIntervalMs: parsed.DETECTOR_STATE_SAVE_SECONDS * 1000,
      ttlSeconds: parsed.DETECTOR_STATE_TTL_DAYS * 86_400,
    },
    limits: {
      maxRecordBytes: parsed.MAX_RECORD_BYTES,
      maxReadingBytes: parsed.MAX_READING_BYTES,
      maxClockSkewMs: parsed.MAX_CLOCK_SKEW_SECONDS * 1000,
    },
  };
}
