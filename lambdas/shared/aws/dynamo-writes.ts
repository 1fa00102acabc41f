import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LATEST_PK } from '../documents';
import { keySuffix, suffixedKey } from '../key-suffixes';
import type { EquipmentId } from '../reading';
import { backoff, DEFAULT_RETRY, RetriesExhaustedError, type RetryOptions } from './retry';

/** BatchWriteItem takes at most 25 items. */
const BATCH_WRITE_LIMIT = 25;

/**
 * Sends every write request, 25 per BatchWriteItem, retrying the ones DynamoDB leaves unprocessed
 * with backoff; throws if any is still unwritten. `what` names the requests in that error.
 */
export async function writeAllRequests(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  retry: RetryOptions = DEFAULT_RETRY,
  what = 'DynamoDB items',
): Promise<void> {
  for (let start = 0; start < requests.length; start += BATCH_WRITE_LIMIT) {
    let pending = requests.slice(start, start + BATCH_WRITE_LIMIT);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > retry.maxAttempts) {
        throw new RetriesExhaustedError(
          `${pending.length} ${what} still unprocessed after ${retry.maxAttempts} attempts`,
          pending.length,
        );
      }
      if (attempt > 1) await backoff(attempt - 1, retry);
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = result.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/**
 * Puts every item (see writeAllRequests). The items come marshalled (`marshallItem`), so they go out
 * as the low-level BatchWriteItem, which the document client sends unchanged.
 */
export function putAllItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, AttributeValue>[],
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<void> {
  return writeAllRequests(
    client,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
    retry,
  );
}

/**
 * Raises the newest-reading marker of an equipment; older values never overwrite newer ones. The
 * markers spread over K keys (`latest`, `latest#1`...) by a hash of the equipment id, as the
 * documents do by sort key (key-suffixes.ts): each batch updates one per equipment it holds.
 */
export async function raiseLatest(
  client: DynamoDBDocumentClient,
  tableName: string,
  equipmentId: EquipmentId,
  latestMs: number,
  expiresAt: number,
  keySuffixes = 1,
): Promise<void> {
  const sk = String(equipmentId);
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: suffixedKey(LATEST_PK, keySuffix(sk, keySuffixes)), sk },
        UpdateExpression: 'SET latest_ms = :latest, equipment_id = :equipment, expires_at = :expires',
        ConditionExpression: 'attribute_not_exists(latest_ms) OR latest_ms < :latest',
        ExpressionAttributeValues: { ':latest': latestMs, ':equipment': equipmentId, ':expires': expiresAt },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
