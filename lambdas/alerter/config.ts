import { z } from 'zod';
import { parseEnv } from '../shared/env';

const alerterEnv = z.object({
  ALERTS_TOPIC_ARN: z.string().min(1),
  READINGS_TABLE: z.string().min(1),
  QUIET_PERIOD_SECONDS: z.coerce.number().int().positive().default(60),
  READINGS_TTL_DAYS: z.coerce.number().int().positive().default(7),
});

export interface AlerterConfig {
  topicArn: string;
  /** Episode state lives in the readings table, beside the documents. */
  stateTable: string;
  quietMs: number;
  stateTtlSeconds: number;
}

export function loadAlerterConfig(env: NodeJS.ProcessEnv): AlerterConfig {
  const parsed = parseEnv(alerterEnv, env);
  return {
    topicArn: parsed.ALERTS_TOPIC_ARN,
    stateTable: parsed.READINGS_TABLE,
    quietMs: parsed.QUIET_PERIOD_SECONDS * 1000,
    stateTtlSeconds: parsed.READINGS_TTL_DAYS * 86_400,
  };
}
