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
  await client.send(
    new PutCommand({
      TableName: tableName,
      Item: { pk: EPISODE_PK, sk: String(state.equipmentId), state, expires_at: expiresAt },
    }),
  );
}
