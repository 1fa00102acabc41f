import * as path from 'node:path';
import { z } from 'zod';
import { parseValueLimits } from '../lambdas/shared/detector/value-limits';
import { defaultKeySuffixes, MAX_KEY_SUFFIXES } from '../lambdas/shared/key-suffixes';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { withHyphen } from './name-prefix';

/**
 * Every deployment setting, read from CDK context (`cdk.json` or `-c key=value`), with its default.
 * The table of context values in docs/deploy.md (Settings) is this list.
 */

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.preprocess((value) => {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}, z.boolean());

/** The project root: `readingSchema` and `modelPath` are relative to it. */
const PROJECT_ROOT = path.join(__dirname, '..');
/** modelPath's default for a schema with the lab's features: the model trained on the lab's simulator. */
export const DEFAULT_MODEL_PATH = 'model/default-model.json';
/** `modelPath` for a deployment without a trained model. */
export const NO_MODEL = 'none';

/** At most this many equipment on the dashboard: a line each on the per-equipment graphs, which more would crowd. */
export const MAX_DASHBOARD_EQUIPMENT = 30;
/**
 * Equipment ids as `101,102,103` or `pump-1,pump-2` (from -c) or an array (cdk.json), as given: they are
 * checked against the reading schema's equipment ids (checkEquipment) once it is read.
 */
const equipmentList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value.split(',').map((id) => id.trim())
      : Array.isArray(value)
        ? value
        : [value],
  z.array(z.union([z.string(), z.number()]), { error: 'must be equipment ids separated by commas' }),
);

const KEY_SUFFIXES_USAGE = `must be a whole number of key suffixes from 1 to ${MAX_KEY_SUFFIXES} (the table's partition keys per minute; default: inputShardCount)`;

const pipelineContextFields = z.object({
  /**
   * Prefix of every named resource and of the stack names, to deploy several copies in one account and
   * region. CloudFormation stack names start with a letter, so it does too; a `-` is appended when it
   * does not end with one: `dev` gives `dev-sensor-readings` and `dev-SensorPipeline`.
   */
  namePrefix: z
    .string()
    .regex(
      /^([a-z][a-z0-9-]*)?$/,
      'must start with a lower-case letter, then lower-case letters, digits and hyphens (it begins the CloudFormation stack names, which must start with a letter), e.g. dev or dev-',
    )
    .transform(withHyphen)
    .pipe(z.string().max(20, 'at most 20 characters, with its trailing hyphen'))
    .default(''),
  /** `provisioned` (fixed shards, about $11/shard/month) or `on-demand` (scales itself, about $29/stream/month minimum). */
  streamMode: z.enum(['provisioned', 'on-demand']).default('provisioned'),
  inputShardCount: int(1, 500).default(1),
  anomaliesShardCount: int(1, 500).default(1),
  streamRetentionHours: int(24, 8760).default(24),
  transformBatchSize: int(1, 10_000).default(100),
  transformBatchingWindowSeconds: int(0, 300).default(10),
  transformRetryAttempts: int(0, 10_000).default(3),
  transformMaxRecordAgeSeconds: int(60, 604_800).default(3_600),
  transformMemoryMb: int(128, 10_240).default(1_024),
  tableBillingMode: z.enum(['on-demand', 'provisioned']).default('on-demand'),
  tableReadCapacity: int(1, 40_000).default(50),
  tableWriteCapacity: int(1, 40_000).default(150),
  pointInTimeRecovery: bool.default(true),
  readingsTtlDays: int(1, 3_650).default(2),
  /**
   * K: the partition keys a minute's documents and window contributions spread over (docs/storage.md).
   * Default: inputShardCount (4 with streamMode=on-demand), so the table never throttles before the stream.
   */
  tableKeySuffixes: z.coerce
    .number({ error: KEY_SUFFIXES_USAGE })
    .refine((n) => Number.isInteger(n) && n >= 1 && n <= MAX_KEY_SUFFIXES, { error: KEY_SUFFIXES_USAGE })
    .optional(),
  /** Readings older than their record's arrival by more than this count as late in the per-minute windows. */
  windowLatenessSeconds: int(1, 86_400).default(120),
  /** A lasting change is the new normal after at most this many minutes (the detector's horizon). */
  detectorHorizonMinutes: int(1, 7 * 24 * 60).default(180),
  /** At most one save of an equipment's detector state this often (DynamoDB writes of a few KB). */
  detectorStateSaveSeconds: int(1, 3_600).default(60),
  dataExpirationDays: int(1, 36_500).default(90),
  /**
   * The hourly curation (docs/lake.md): each closed hour of the CSV lake is written to the Parquet table
   * curated_readings by a Step Functions state machine, and the CSV objects then expire after
   * lakeRetentionDays (the curated zone after dataExpirationDays). `false`: CSV only, kept dataExpirationDays.
   */
  curation: bool.default(true),
  /** With curation, the CSV objects under readings/ expire this many days after they are written. */
  lakeRetentionDays: int(1, 36_500).default(3),
  /** The curation of an hour starts this many minutes after it closes, for the readings still in flight. */
  curationDelayMinutes: int(1, 59).default(15),
  /** Subscribe this address to the curated-data topic ("new data curated", one message an hour). */
  curatedEmail: z.email().optional(),
  /** Athena cancels a query of the workgroup past this many GB scanned (10^9 bytes; Athena's minimum is 0.01). */
  athenaScanLimitGb: z.coerce.number().min(0.01).max(1_000_000).default(100),
  rawBufferIntervalSeconds: int(0, 900).default(60),
  rawBufferSizeMiB: int(1, 128).default(5),
  alertEmail: z.email().optional(),
  alertQuietPeriodSeconds: int(1, 86_400).default(60),
  /** New-episode alerts the whole topic sends per minute; past it, one summary message (never a storm). */
  alertBudgetPerMinute: int(1, 10_000).default(20),
  /**
   * The reading schema (JSON or YAML, relative to the project root) the deployment's readings follow:
   * `-c readingSchema=schemas/skab.json`. Default: the lab's (schemas/lab.json).
   */
  readingSchema: z.string().min(1).optional(),
  /**
   * Equipment the dashboard draws a line for: `-c dashboardEquipment=101,102,103`, or an array in
   * cdk.json; ids of the reading schema's kind. Default: the schema's simulation equipment (101, 102, 103).
   */
  dashboardEquipment: equipmentList.optional(),
  /** Subscribe this address to the ops topic, which the CloudWatch alarms notify. */
  opsEmail: z.email().optional(),
  /** Alarm when either stream consumer is this far behind its stream. */
  iteratorAgeAlarmSeconds: int(10, 604_800).default(300),
  /** Alarm when more than this fraction of the readings is quarantined over 5 minutes. */
  quarantineRateAlarm: z.coerce.number().gt(0).lt(1).default(0.05),
  /** Alarm when the oldest raw record not yet in S3 is older than this; must exceed rawBufferIntervalSeconds. */
  archiveFreshnessAlarmSeconds: int(60, 86_400).default(900),
  scoreThreshold: z.coerce.number().gt(0).lt(1).default(0.5),
  /**
   * Per-feature score thresholds overriding scoreThreshold, as `temperature=0.7,humidity=0.6`: features
   * of the reading schema (checked once it is read).
   */
  featureScoreThresholds: z
    .string()
    .regex(
      /^(([a-z][a-z0-9_]*)=(0?\.\d+),?)*$/,
      'feature=threshold pairs separated by commas, each threshold between 0 and 1, e.g. temperature=0.7,humidity=0.6',
    )
    .default(''),
  /**
   * Absolute limits, as `temperature=40:80,humidity=:95`: a reading outside them is always anomalous.
   * Features of the reading schema (checked once it is read).
   */
  featureLimits: z
    .string()
    .default('')
    .superRefine((text, context) => {
      try {
        parseValueLimits(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /**
   * A trained model artifact bundled with the transform, or `none`: the detector learns every feature
   * online. Default: model/default-model.json with the lab's schema, none with any other (the shipped
   * model knows the lab's features only); a model naming features the schema lacks fails the synth.
   */
  modelPath: z.string().min(1).optional(),
  logRetentionDays: z.coerce
    .number()
    .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(14),
  /** Keep the table and buckets (and their data) when the stack is destroyed. */
  retainData: bool.default(false),
});

export const pipelineContextSchema = pipelineContextFields.superRefine((config, context) => {
  // Firehose holds records up to the buffer interval by design: an alarm below it would always fire.
  // The curation reads an hour and the one before it: the CSV must outlive both, and a failed run's retry.
  if (config.curation && config.lakeRetentionDays > config.dataExpirationDays) {
    context.addIssue({
      code: 'custom',
      path: ['lakeRetentionDays'],
      message: `must be at most dataExpirationDays (${config.dataExpirationDays}): the CSV lake is the curated zone's source`,
    });
  }
  if (config.archiveFreshnessAlarmSeconds <= config.rawBufferIntervalSeconds) {
    context.addIssue({
      code: 'custom',
      path: ['archiveFreshnessAlarmSeconds'],
      message: `must be more than rawBufferIntervalSeconds (${config.rawBufferIntervalSeconds}), which Firehose may hold records for`,
    });
  }
});

type PipelineContext = z.infer<typeof pipelineContextSchema>;

/** The pipeline's settings: the context values, with those that follow the reading schema worked out. */
export type PipelineConfig = Omit<
  PipelineContext,
  'dashboardEquipment' | 'modelPath' | 'tableKeySuffixes'
> & {
  /** K: tableKeySuffixes, or its default from the stream's shards. */
  tableKeySuffixes: number;
  /** The reading schema of `readingSchema`, or the lab's. */
  schema: ReadingSchema;
  /** The reading schema's file (absolute), to bundle with the transform; undefined for the lab's default. */
  schemaFile?: string;
  dashboardEquipment: EquipmentId[];
  /** Relative to the project root, or `none`. */
  modelPath: string;
};

export const PIPELINE_CONTEXT_KEYS = Object.keys(pipelineContextSchema.shape) as (keyof PipelineContext)[];

/**
 * Reads the pipeline's context values; `read(key)` is `node.tryGetContext`. The reading schema is
 * read too (`readingSchema`), and the values that name features or equipment are checked against it;
 * every problem is reported at once, naming its key and value.
 */
export function readPipelineConfig(read: (key: string) => unknown): PipelineConfig {
  const raw = rawContext(pipelineContextSchema, read);
  const parsed = pipelineContextSchema.safeParse(raw);
  const problems = parsed.success ? [] : describeIssues(parsed.error.issues, raw);
  const problem = (key: string, message: string) =>
    problems.push(`context value ${key}=${key in raw ? JSON.stringify(raw[key]) : '(not set)'}: ${message}`);

  let schema = LAB_SCHEMA;
  let schemaFile: string | undefined;
  if (typeof raw.readingSchema === 'string' && raw.readingSchema !== '') {
    schemaFile = path.resolve(PROJECT_ROOT, raw.readingSchema);
    try {
      schema = loadReadingSchema(schemaFile);
    } catch (error) {
      problem('readingSchema', (error as Error).message);
      throw configError(problems);
    }
  }
  if (!parsed.success) throw configError(problems);
  const context = parsed.data;

  const notFeatures = (names: string[]) => names.filter((name) => !schema.featureNames.includes(name));
  const featureProblem = (key: string, names: string[]) => {
    const unknown = notFeatures(names);
    if (unknown.length > 0)
      problem(
        key,
        `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a feature' : 'are not features'} of the reading schema ${schema.id} (${schema.featureNames.join(', ')})`,
      );
  };
  featureProblem(
    'featureScoreThresholds',
    context.featureScoreThresholds
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=')[0]),
  );
  featureProblem('featureLimits', Object.keys(parseValueLimits(context.featureLimits)));
  const equipment = checkEquipment(
    context.dashboardEquipment ?? schema.simulationEquipment.slice(0, MAX_DASHBOARD_EQUIPMENT),
    schema,
  );
  if (typeof equipment === 'string') problem('dashboardEquipment', equipment);
  if (problems.length > 0) throw configError(problems);

  return {
    ...context,
    schema,
    schemaFile,
    dashboardEquipment: equipment as EquipmentId[],
    modelPath: context.modelPath ?? (schema.isLab ? DEFAULT_MODEL_PATH : NO_MODEL),
    tableKeySuffixes:
      context.tableKeySuffixes ?? defaultKeySuffixes(context.streamMode, context.inputShardCount),
  };
}

/** CloudWatch takes dimension values of printable ASCII with something besides spaces, up to 1024 characters. */
const DIMENSION_VALUE = /^(?=.*[^ ])[\x20-\x7e]{1,1024}$/;

/**
 * The dashboard's equipment ids, as the reading schema's ids (integers in its range, or strings matching
 * its pattern, usable as CloudWatch dimension values): 1 to MAX_DASHBOARD_EQUIPMENT of them, distinct.
 * Returns what is wrong, as a message, when they are not.
 */
export function checkEquipment(ids: readonly EquipmentId[], schema: ReadingSchema): EquipmentId[] | string {
  const example = schema.simulationEquipment.slice(0, 3).join(',');
  const kind =
    schema.equipment.type === 'integer'
      ? `integers from ${schema.equipment.min} to ${schema.equipment.max}`
      : `strings matching ${schema.equipment.pattern.source}`;
  const usage = `must be 1 to ${MAX_DASHBOARD_EQUIPMENT} equipment ids (${kind}, the reading schema ${schema.id}'s) separated by commas, such as ${example}`;
  if (ids.length === 0 || ids.length > MAX_DASHBOARD_EQUIPMENT) return usage;
  const parsed: EquipmentId[] = [];
  for (const id of ids) {
    const text = String(id).trim();
    if (schema.equipment.type === 'integer') {
      const value = Number(text);
      if (!/^-?\d+$/.test(text) || value < schema.equipment.min || value > schema.equipment.max)
        return `${JSON.stringify(text)} is not an equipment id: ${usage}`;
      parsed.push(value);
    } else {
      if (!schema.equipment.pattern.test(text))
        return `${JSON.stringify(text)} is not an equipment id: ${usage}`;
      if (!DIMENSION_VALUE.test(text))
        return `${JSON.stringify(text)} cannot be a CloudWatch dimension value (printable ASCII, up to 1024 characters)`;
      parsed.push(text);
    }
  }
  if (new Set(parsed).size !== parsed.length) return 'lists an equipment id twice';
  return parsed;
}

/** An arm64 (Graviton) instance type, as the simulator's AMI is arm64: t4g.small, m7g.large, c6gn.xlarge, a1.medium. */
const GRAVITON_INSTANCE_TYPE = /^(a1|[a-z]+\d+g[a-z-]*)\.[a-z0-9]+$/;

/** True when the IPv4 CIDR block has no bit set past its prefix (203.0.113.0/24, not 203.0.113.7/24). */
function isNetworkAddress(cidr: string): boolean {
  const [address, prefix] = cidr.split('/');
  const bits = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const hostBits = 32 - Number(prefix);
  return bits % 2 ** hostBits === 0;
}

/** The simulator stack's settings (SensorSimulator): the EC2 instance that runs the simulator. */
export const simulatorContextSchema = z
  .object({
    /** Must be an arm64 (Graviton) type: the AMI is Amazon Linux 2023 for arm64. */
    simulatorInstanceType: z
      .string()
      .regex(
        GRAVITON_INSTANCE_TYPE,
        'must be an arm64 (Graviton) instance type, such as t4g.small or m7g.medium',
      )
      .default('t4g.small'),
    /** Readings per second the simulator sends (its --rate). */
    simulatorRate: z.coerce.number().positive().max(1_000_000).default(3_000),
    /** Start the simulator service at deploy time (and at every boot); false installs it stopped and disabled. */
    simulatorStart: bool.default(true),
    /** An existing EC2 key pair, for SSH besides Session Manager; needs simulatorSshCidr. */
    simulatorKeyPair: z
      .string()
      .regex(
        /^[\x20-\x7e]{1,255}$/,
        'must be the name of an existing EC2 key pair (1 to 255 ASCII characters)',
      )
      .optional(),
    /** The only IPv4 range allowed to reach port 22 when simulatorKeyPair is set. */
    simulatorSshCidr: z
      .cidrv4({ error: 'must be an IPv4 CIDR block, such as 203.0.113.7/32' })
      .refine((cidr) => !cidr.endsWith('/0'), {
        error: 'SSH from the whole internet is refused: give your own address range, such as 203.0.113.7/32',
      })
      .refine(isNetworkAddress, {
        error: 'has bits set past its prefix length (203.0.113.0/24, not 203.0.113.7/24)',
      })
      .optional(),
  })
  .superRefine((config, context) => {
    if (config.simulatorKeyPair !== undefined && config.simulatorSshCidr === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['simulatorSshCidr'],
        message:
          'is required with simulatorKeyPair: the address range allowed to reach port 22, such as 203.0.113.7/32',
      });
    }
    if (config.simulatorSshCidr !== undefined && config.simulatorKeyPair === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['simulatorKeyPair'],
        message:
          'is required with simulatorSshCidr: SSH needs a key pair (without both, Session Manager is the only way in)',
      });
    }
  });

export type SimulatorConfig = z.infer<typeof simulatorContextSchema>;

/** Reads the simulator stack's context values; `read(key)` is `node.tryGetContext`. */
export function readSimulatorConfig(read: (key: string) => unknown): SimulatorConfig {
  return readContext(simulatorContextSchema, read);
}

/** The context values of the schema's keys that are set. */
function rawContext(schema: z.ZodObject, read: (key: string) => unknown): Record<string, unknown> {
  const keys = Object.keys(schema.shape);
  return Object.fromEntries(keys.map((key) => [key, read(key)]).filter(([, v]) => v !== undefined));
}

function describeIssues(issues: z.core.$ZodIssue[], raw: Record<string, unknown>): string[] {
  return issues.map((issue) => {
    const key = String(issue.path[0]);
    const value = key in raw ? JSON.stringify(raw[key]) : '(not set)';
    return `context value ${issue.path.join('.')}=${value}: ${issue.message}`;
  });
}

const configError = (problems: string[]) => new Error(`invalid CDK context:\n  ${problems.join('\n  ')}`);

/** Parses the schema's keys from context; every bad value is reported at once, naming its key and value. */
function readContext<Schema extends z.ZodObject>(
  schema: Schema,
  read: (key: string) => unknown,
): z.output<Schema> {
  const raw = rawContext(schema, read);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw configError(describeIssues(parsed.error.issues, raw));
  return parsed.data;
}
