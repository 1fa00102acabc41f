import { z } from 'zod';
import { parseEnv } from '../shared/env';

/**
 * New-episode alerts the topic sends per minute, whatever the number of equipment: a person can still
 * read 20 messages in a minute, and with the 60 s quiet period a fleet of 20 equipment can each announce
 * an episode every minute without meeting it. Past it, one summary message.
 */
export const DEFAULT_ALERT_BUDGET_PER_MINUTE = 20;

const alerterEnv = z.object({
  ALERTS_TOPIC_ARN: z.string().min(1),
  READINGS_TABLE: z.string().min(1),
  QUIET_PERIOD_SECONDS: z.coerce.number().int().positive().default(60),
  READINGS_TTL_DAYS: z.coerce.number().int().positive().default(7),
  ALERT_BUDGET_PER_MINUTE: z.coerce.number().int().positive().default(DEFAULT_ALERT_BUDGET_PER_MINUTE),
});

export interface AlerterConfig {
  topicArn: string;
  /** Episode state lives in the readings table, beside the documents. */
  stateTable: string;
  quietMs: number;
  stateTtlSeconds: number;
  /** New-episode alerts per minute for the whole topic; past it, one summary message (alert-budget.ts). */
  alertBudgetPerMinute: number;
}

export function loadAlerterConfig(env: NodeJS.ProcessEnv): AlerterConfig {
  const parsed = parseEnv(alerterEnv, env);
  return {
    topicArn: parsed.ALERTS_TOPIC_ARN,
    stateTable: parsed.READINGS_TABLE,
    quietMs: parsed.QUIET_PERIOD_SECONDS * 1000,
    stateTtlSeconds: parsed.READINGS_TTL_DAYS * 86_400,
    alertBudgetPerMinute: parsed.ALERT_BUDGET_PER_MINUTE,
  };
}
