import { z } from 'zod';
import { parseValueLimits } from '../lambdas/shared/detector/value-limits';
import { FEATURES } from '../lambdas/shared/features';

/**
 * Every deployment setting, read from CDK context (`cdk.json` or `-c key=value`), with its default.
 * The README's table of context values is this list.
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

/** At most this many equipment on the dashboard: a line each on the per-equipment graphs, which more would crowd. */
export const MAX_DASHBOARD_EQUIPMENT = 30;
/** Equipment ids as `101,102,103` (from -c) or [101, 102, 103] (cdk.json): distinct positive integers. */
const equipmentList = z.preprocess(
  (value) => (Array.isArray(value) || typeof value === 'number' ? String(value) : value),
  z
    .string()
    .transform((list) => list.replace(/\s+/g, ''))
    .pipe(
      z
        .string()
        .regex(
          new RegExp(`^[1-9]\\d{0,9}(,[1-9]\\d{0,9}){0,${MAX_DASHBOARD_EQUIPMENT - 1}}$`),
          `must be 1 to ${MAX_DASHBOARD_EQUIPMENT} equipment ids (positive integers) separated by commas, such as 101,102,103`,
        ),
    )
    .transform((list) => list.split(',').map(Number))
    .refine((ids) => ids.every((id) => id <= 2_147_483_647), {
      error: 'equipment ids are at most 2147483647',
    })
    .refine((ids) => new Set(ids).size === ids.length, { error: 'lists an equipment id twice' }),
);

const pipelineContextFields = z.object({
  /** Prefix of every named resource, to deploy several copies in one account and region. */
  namePrefix: z
    .string()
    .regex(/^[a-z0-9-]*$/, 'lower-case letters, digits and hyphens only')
    .max(20)
    .default(''),
  /** `provisioned` (fixed shards, about $11/shard/month) or `on-demand` (scales itself, about $29/stream/month minimum). */
  streamMode: z.enum(['provisioned', 'on-demand']).default('provisioned'),
  inputShardCount: int(1, 500).default(1),
  anomaliesShardCount: int(1, 500).default(1),
  streamRetentionHours: int(24, 8760).default(24),
  transformBatchSize: int(1, 10_000).default(100),
  transformBatchingWindowSeconds: int(0, 300).default(1),
  transformRetryAttempts: int(0, 10_000).default(3),
  transformMaxRecordAgeSeconds: int(60, 604_800).default(3_600),
  transformMemoryMb: int(128, 10_240).default(1_024),
  tableBillingMode: z.enum(['on-demand', 'provisioned']).default('on-demand'),
  tableReadCapacity: int(1, 40_000).default(50),
  tableWriteCapacity: int(1, 40_000).default(150),
  pointInTimeRecovery: bool.default(true),
  readingsTtlDays: int(1, 3_650).default(7),
  /** Readings older than their record's arrival by more than this count as late in the per-minute windows. */
  windowLatenessSeconds: int(1, 86_400).default(120),
  /** A lasting change is the new normal after at most this many minutes (the detector's horizon). */
  detectorHorizonMinutes: int(1, 7 * 24 * 60).default(180),
  /** At most one save of an equipment's detector state this often (DynamoDB writes of a few KB). */
  detectorStateSaveSeconds: int(1, 3_600).default(10),
  dataExpirationDays: int(1, 36_500).default(90),
  /** Athena cancels a query of the workgroup past this many GB scanned (10^9 bytes; Athena's minimum is 0.01). */
  athenaScanLimitGb: z.coerce.number().min(0.01).max(1_000_000).default(100),
  rawBufferIntervalSeconds: int(0, 900).default(60),
  rawBufferSizeMiB: int(1, 128).default(5),
  alertEmail: z.email().optional(),
  alertQuietPeriodSeconds: int(1, 86_400).default(60),
  /** New-episode alerts the whole topic sends per minute; past it, one summary message (never a storm). */
  alertBudgetPerMinute: int(1, 10_000).default(20),
  /** Equipment the dashboard draws a line for: `-c dashboardEquipment=101,102,103`, or an array in cdk.json. */
  dashboardEquipment: equipmentList.default([101, 102, 103]),
  /** Subscribe this address to the ops topic, which the CloudWatch alarms notify. */
  opsEmail: z.email().optional(),
  /** Alarm when either stream consumer is this far behind its stream. */
  iteratorAgeAlarmSeconds: int(10, 604_800).default(300),
  /** Alarm when more than this fraction of the readings is quarantined over 5 minutes. */
  quarantineRateAlarm: z.coerce.number().gt(0).lt(1).default(0.05),
  /** Alarm when the oldest raw record not yet in S3 is older than this; must exceed rawBufferIntervalSeconds. */
  archiveFreshnessAlarmSeconds: int(60, 86_400).default(900),
  scoreThreshold: z.coerce.number().gt(0).lt(1).default(0.5),
  /** Per-feature score thresholds overriding scoreThreshold, as `temperature=0.7,humidity=0.6`. */
  featureScoreThresholds: z
    .string()
    .regex(
      /^((vibration_amplitude|vibration_frequency|temperature|humidity)=(0?\.\d+),?)*$/,
      'feature=threshold pairs separated by commas, each threshold between 0 and 1, e.g. temperature=0.7,humidity=0.6',
    )
    .default(''),
  /** Absolute limits, as `temperature=40:80,humidity=:95`: a reading outside them is always anomalous. */
  featureLimits: z
    .string()
    .default('')
    .superRefine((text, context) => {
      try {
        for (const feature of Object.keys(parseValueLimits(text))) {
          if (!(FEATURES as readonly string[]).includes(feature))
            throw new Error(`${feature} is not a feature`);
        }
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** A trained model artifact bundled with the transform, or `none`: the detector learns every feature online. */
  modelPath: z.string().min(1).default('model/default-model.json'),
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
  if (config.archiveFreshnessAlarmSeconds <= config.rawBufferIntervalSeconds) {
    context.addIssue({
      code: 'custom',
      path: ['archiveFreshnessAlarmSeconds'],
      message: `must be more than rawBufferIntervalSeconds (${config.rawBufferIntervalSeconds}), which Firehose may hold records for`,
    });
  }
});

export type PipelineConfig = z.infer<typeof pipelineContextSchema>;

export const PIPELINE_CONTEXT_KEYS = Object.keys(pipelineContextSchema.shape) as (keyof PipelineConfig)[];

/** Reads the pipeline's context values; `read(key)` is `node.tryGetContext`. */
export function readPipelineConfig(read: (key: string) => unknown): PipelineConfig {
  return readContext(pipelineContextSchema, read);
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

/** Parses the schema's keys from context; every bad value is reported at once, naming its key and value. */
function readContext<Schema extends z.ZodObject>(
  schema: Schema,
  read: (key: string) => unknown,
): z.output<Schema> {
  const keys = Object.keys(schema.shape);
  const raw = Object.fromEntries(keys.map((key) => [key, read(key)]).filter(([, v]) => v !== undefined));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const value = key in raw ? JSON.stringify(raw[key]) : '(not set)';
      return `context value ${issue.path.join('.')}=${value}: ${issue.message}`;
    });
    throw new Error(`invalid CDK context:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
