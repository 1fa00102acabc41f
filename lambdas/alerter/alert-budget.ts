import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The topic's budget of new-episode alerts per minute of wall-clock time, shared by every alerter
 * environment (shards, cold starts): one item per minute in the readings table, whose counters are
 * only ever changed by an atomic ADD, so two environments can never both take the last alert of a minute.
 */
export const ALERT_BUDGET_PK = 'alert-budget';

/** The count is worth a day to whoever looks into a storm; the item is a few bytes. */
const BUDGET_ITEM_TTL_SECONDS = 86_400;

const COUNTERS = {
  /** New episodes of the minute, alerted or not: their order decides which ones get a message. */
  newEpisodes: 'new_episodes',
  /** Summary messages claimed in the minute: only the first claim sends one. */
  summaries: 'summaries',
} as const;

/** The UTC minute a wall-clock time falls in, as the budget item's sort key: `2026-11-23T19:47Z`. */
export function budgetMinute(nowMs: number): string {
  return `${new Date(nowMs).toISOString().slice(0, 16)}Z`;
}

export interface AlertReservation {
  minute: string;
  /** How many of the episodes asked for may send their own alert: the first ones, in order. */
  granted: number;
  /** New episodes of the minute past the budget so far, these included, from every environment. */
  pastBudget: number;
}

/**
 * Counts `episodes` new episodes into the minute's budget. Each reservation gets its own range of the
 * minute's count, so the alerts granted in a minute never exceed the budget, whoever asks. A retried
 * record reserves again: under failures the budget errs toward fewer messages, never more.
 */
export async function reserveAlerts(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: { nowMs: number; episodes: number; budget: number },
): Promise<AlertReservation> {
  const minute = budgetMinute(options.nowMs);
  const total = await addToCounter(client, tableName, minute, COUNTERS.newEpisodes, options.episodes);
  // Without a count back, grant nothing: the budget fails closed.
  const before = total === undefined ? options.budget : total - options.episodes;
  const granted = Math.max(0, Math.min(options.episodes, options.budget - before));
  return { minute, granted, pastBudget: Math.max(0, before + options.episodes - options.budget) };
}

/** True for the one caller that may send the minute's summary of the alerts past its budget. */
export async function claimSummary(
  client: DynamoDBDocumentClient,
  tableName: string,
  minute: string,
): Promise<boolean> {
  return (await addToCounter(client, tableName, minute, COUNTERS.summaries, 1)) === 1;
}

async function addToCounter(
  client: DynamoDBDocumentClient,
  tableName: string,
  minute: string,
  counter: string,
  amount: number,
): Promise<number | undefined> {
  const minuteEndSeconds = Date.parse(minute) / 1000 + 60;
  const result = await client.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { pk: ALERT_BUDGET_PK, sk: minute },
      UpdateExpression: 'ADD #counter :amount SET expires_at = :expiresAt',
      ExpressionAttributeNames: { '#counter': counter },
      ExpressionAttributeValues: {
        ':amount': amount,
        ':expiresAt': minuteEndSeconds + BUDGET_ITEM_TTL_SECONDS,
      },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const value = result?.Attributes?.[counter];
  return typeof value === 'number' ? value : undefined;
}
