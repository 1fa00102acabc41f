import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LATEST_PK } from '../documents';
import { backoff, DEFAULT_RETRY, RetriesExhaustedError, type RetryOptions } from './retry';

/** BatchWriteItem takes at most 25 items. */
const BATCH_WRITE_LIMIT = 25;

/**
 * Puts every item, retrying unprocessed ones with backoff; throws if any is still unwritten. The
 * items come marshalled (`marshallItem`), so they go out as the low-level BatchWriteItem, which the
 * document client sends unchanged.
 */
export async function putAllItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, AttributeValue>[],
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<void> {
  for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
    let pending: WriteRequest[] = items
      .slice(start, start + BATCH_WRITE_LIMIT)
      .map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > retry.maxAttempts) {
        throw new RetriesExhaustedError(
          `${pending.length} DynamoDB items still unprocessed after ${retry.maxAttempts} attempts`,
          pending.length,
        );
      }
      if (attempt > 1) await backoff(attempt - 1, retry);
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = result.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/** Raises the newest-reading marker of an equipment; older values never overwrite newer ones. */
export async function raiseLatest(
  client: DynamoDBDocumentClient,
  tableName: string,
  equipmentId: number,
  latestMs: number,
  expiresAt: number,
): Promise<void> {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: LATEST_PK, sk: String(equipmentId) },
        UpdateExpression: 'SET latest_ms = :latest, equipment_id = :equipment, expires_at = :expires',
        ConditionExpression: 'attribute_not_exists(latest_ms) OR latest_ms < :latest',
        ExpressionAttributeValues: { ':latest': latestMs, ':equipment': equipmentId, ':expires': expiresAt },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
