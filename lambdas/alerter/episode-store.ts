import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EpisodeState } from '../shared/episodes';
import type { EquipmentId } from '../shared/reading';

/** Items holding each equipment's current anomaly episode, so a cold start does not alert twice. */
export const EPISODE_PK = 'episode';

export async function loadEpisode(
  client: DynamoDBDocumentClient,
  tableName: string,
  equipmentId: EquipmentId,
): Promise<EpisodeState | undefined> {
  const result = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: EPISODE_PK, sk: String(equipmentId) },
      ConsistentRead: true,
    }),
  );
  return result.Item?.state as EpisodeState | undefined;
}

export async function saveEpisode(
  client: DynamoDBDocumentClient,
  tableName: string,
  state: EpisodeState,
  expiresAt: number,
): Promise<void> {
  await putState(client, tableName, { pk: EPISODE_PK, sk: String(state.equipmentId) }, state, expiresAt);
}

/** An item holding an episode's state, expiring with it. */
async function putState(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: { pk: string; sk: string },
  state: EpisodeState,
  expiresAt: number,
): Promise<void> {
  await client.send(new PutCommand({ TableName: tableName, Item: { ...key, state, expires_at: expiresAt } }));
}

/**
 * The alert history: one item per episode, pk `alerts#<UTC day of its start>`, sk `<start epoch ms,
 * 15 digits>#<equipment id>` (newest first is a Query in reverse), holding the episode as it grows (its
 * reasons, end so far, count, peak score). Alerts are rare, one per episode: a day's fit one partition.
 * It expires as the episode items do; the dashboard lists it (GET /api/alerts).
 */
export const ALERT_HISTORY_PK_PREFIX = 'alerts#';

export function alertHistoryPartitionKey(epochMs: number): string {
  return `${ALERT_HISTORY_PK_PREFIX}${new Date(epochMs).toISOString().slice(0, 10)}`;
}

export function alertHistoryKey(state: Pick<EpisodeState, 'startedMs' | 'equipmentId'>): {
  pk: string;
  sk: string;
} {
  return {
    pk: alertHistoryPartitionKey(state.startedMs),
    sk: `${String(state.startedMs).padStart(15, '0')}#${state.equipmentId}`,
  };
}

export async function saveAlertHistory(
  client: DynamoDBDocumentClient,
  tableName: string,
  state: EpisodeState,
  expiresAt: number,
): Promise<void> {
  await putState(client, tableName, alertHistoryKey(state), state, expiresAt);
}
