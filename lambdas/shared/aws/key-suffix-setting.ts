import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { checkKeySuffixes, KEY_SUFFIXES_PK, KEY_SUFFIXES_SK } from '../key-suffixes';

/**
 * The table's record of K, the largest number of key suffixes any transform has written with
 * (key-suffixes.ts). The transform raises it before its first write with K > 1; readers read it
 * before they fan out. Without the item, K is 1: the layout before key suffixes.
 */

/** Raises the recorded K to `suffixes` (never lowers it): idempotent, one conditional write. */
export async function raiseKeySuffixes(
  client: DynamoDBDocumentClient,
  tableName: string,
  suffixes: number,
): Promise<void> {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: KEY_SUFFIXES_PK, sk: KEY_SUFFIXES_SK },
        UpdateExpression: 'SET suffixes = :suffixes',
        ConditionExpression: 'attribute_not_exists(suffixes) OR suffixes < :suffixes',
        ExpressionAttributeValues: { ':suffixes': suffixes },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** K as recorded in the table (1 when nothing is), checked: a reader fans out over this many keys. */
export async function readKeySuffixes(client: DynamoDBDocumentClient, tableName: string): Promise<number> {
  const { Item } = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: KEY_SUFFIXES_PK, sk: KEY_SUFFIXES_SK },
      ConsistentRead: true,
    }),
  );
  if (Item?.suffixes === undefined) return 1;
  return checkKeySuffixes(Item.suffixes, `table ${tableName}, item ${KEY_SUFFIXES_PK}/${KEY_SUFFIXES_SK}`);
}
