import { z } from 'zod';

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

export const pipelineContextSchema = z.object({
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
  dataExpirationDays: int(1, 36_500).default(90),
  rawBufferIntervalSeconds: int(0, 900).default(60),
  rawBufferSizeMiB: int(1, 128).default(5),
  alertEmail: z.email().optional(),
  alertQuietPeriodSeconds: int(1, 86_400).default(60),
  scoreThreshold: z.coerce.number().gt(0).lt(1).default(0.5),
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

export type PipelineConfig = z.infer<typeof pipelineContextSchema>;

export const PIPELINE_CONTEXT_KEYS = Object.keys(pipelineContextSchema.shape) as (keyof PipelineConfig)[];

/** Reads the pipeline's context values; `read(key)` is `node.tryGetContext`. */
export function readPipelineConfig(read: (key: string) => unknown): PipelineConfig {
  const raw = Object.fromEntries(
    PIPELINE_CONTEXT_KEYS.map((key) => [key, read(key)]).filter(([, v]) => v !== undefined),
  );
  const parsed = pipelineContextSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) =>
        `context value ${issue.path.join('.')}=${JSON.stringify(raw[issue.path[0] as string])}: ${issue.message}`,
    );
    throw new Error(`invalid CDK context:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
