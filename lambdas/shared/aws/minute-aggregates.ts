import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import {
  type MinuteAggregate,
  mergeContributions,
  minutePartitionKey,
  type WindowContribution,
} from '../minute-windows';
import type { EquipmentId } from '../reading';
import type { ReadingSchema } from '../reading-schema';

/**
 * The per-minute aggregates of the windows in [fromMs, toMs] of the reading schema, by Query on their
 * minute partitions.
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
  },
): Promise<MinuteAggregate[]> {
  const minutes: number[] = [];
  for (let m = Math.floor(query.fromMs / 60_000) * 60_000; m <= query.toMs; m += 60_000) minutes.push(m);
  const contributions = (
    await Promise.all(
      minutes.map(async (minuteMs) => {
        const items: WindowContribution[] = [];
        const pages = paginateQuery(
          { client },
          {
            TableName: query.tableName,
            KeyConditionExpression:
              query.equipmentId === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :equipment)',
            ExpressionAttributeValues: {
              ':pk': minutePartitionKey(minuteMs),
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
