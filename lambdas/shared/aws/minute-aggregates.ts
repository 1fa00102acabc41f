import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import {
  type MinuteAggregate,
  mergeContributions,
  minutePartitionKeys,
  type WindowContribution,
} from '../minute-windows';
import type { EquipmentId } from '../reading';
import type { ReadingSchema } from '../reading-schema';
import { readKeySuffixes } from './key-suffix-setting';

/**
 * The per-minute aggregates of the windows in [fromMs, toMs] of the reading schema, by Query on their
 * minute partitions: each minute's K keys (key-suffixes.ts, K read from the table).
 */
export async function queryMinuteAggregates(
  client: DynamoDBDocumentClient,
  query: {
    tableName: string;
    fromMs: number;
    toMs: number;
    equipmentId?: EquipmentId;
    /** The deployed reading schema (the lab's by default): windows written for another are left out. */
    schema?: ReadingSchema;
    /** K, when the caller has read it already (readKeySuffixes); read from the table otherwise. */
    keySuffixes?: number;
  },
): Promise<MinuteAggregate[]> {
  const suffixes = query.keySuffixes ?? (await readKeySuffixes(client, query.tableName));
  const keys: string[] = [];
  for (let m = Math.floor(query.fromMs / 60_000) * 60_000; m <= query.toMs; m += 60_000)
    keys.push(...minutePartitionKeys(m, suffixes));
  const contributions = (
    await Promise.all(
      keys.map(async (pk) => {
        const items: WindowContribution[] = [];
        const pages = paginateQuery(
          { client },
          {
            TableName: query.tableName,
            KeyConditionExpression:
              query.equipmentId === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :equipment)',
            ExpressionAttributeValues: {
              ':pk': pk,
              ...(query.equipmentId === undefined ? {} : { ':equipment': `${query.equipmentId}#` }),
            },
          },
        );
        for await (const page of pages) items.push(...((page.Items ?? []) as WindowContribution[]));
        return items;
      }),
    )
  ).flat();
  return mergeContributions(contributions, query.schema);
}
