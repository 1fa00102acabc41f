import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import {
  equipmentSortKeyPrefix,
  flattenDocument,
  LATEST_PK,
  type ReadingDocument,
  readingsPartitionKey,
} from '../documents';
import { compareIds } from '../minute-windows';
import type { ReadingRow } from '../processed-reading';
import type { EquipmentId } from '../reading';

/**
 * "The last 3 minutes" (the lab's STREAMDATA_LAST3_VIEW), answered by Query on the minute partitions
 * that overlap the window, never by Scan, and flattened to one row per reading.
 */

export type RelativeTo = 'now' | 'latest';

export interface LastMinutesQuery {
  tableName: string;
  equipmentId?: EquipmentId;
  /** `now`: the window ends at the current time. `latest`: at the newest reading stored (the lab's view). */
  relativeTo: RelativeTo;
  windowMs?: number;
  nowMs?: number;
}

export interface LastMinutesResult {
  /** Window bounds, inclusive; undefined when `latest` finds no reading at all. */
  fromMs?: number;
  toMs?: number;
  rows: ReadingRow[];
}

export const DEFAULT_WINDOW_MS = 3 * 60_000;

export async function queryLastMinutes(
  client: DynamoDBDocumentClient,
  query: LastMinutesQuery,
): Promise<LastMinutesResult> {
  const windowMs = query.windowMs ?? DEFAULT_WINDOW_MS;
  const toMs =
    query.relativeTo === 'now'
      ? (query.nowMs ?? Date.now())
      : await latestReadingMs(client, query.tableName, query.equipmentId);
  if (toMs === undefined) return { rows: [] };
  const fromMs = toMs - windowMs;

  const minutes: number[] = [];
  for (let minute = Math.floor(fromMs / 60_000) * 60_000; minute <= toMs; minute += 60_000)
    minutes.push(minute);
  const documents = (
    await Promise.all(minutes.map((minute) => queryMinute(client, query, minute, fromMs, toMs)))
  ).flat();

  const rows = documents
    .flatMap(flattenDocument)
    .filter((row) => {
      const time = Date.parse(row.timestamp);
      return time >= fromMs && time <= toMs;
    })
    .sort(
      (a, b) =>
        a.timestamp.localeCompare(b.timestamp) ||
        compareIds(a.equipment_id, b.equipment_id) ||
        a.sequence_number.localeCompare(b.sequence_number) ||
        a.reading_index - b.reading_index,
    );
  return { fromMs, toMs, rows };
}

async function queryMinute(
  client: DynamoDBDocumentClient,
  query: LastMinutesQuery,
  minuteMs: number,
  fromMs: number,
  toMs: number,
): Promise<ReadingDocument[]> {
  const byEquipment = query.equipmentId !== undefined;
  const pages = paginateQuery(
    { client },
    {
      TableName: query.tableName,
      KeyConditionExpression: byEquipment ? 'pk = :pk AND begins_with(sk, :equipment)' : 'pk = :pk',
      FilterExpression: 'last_ms >= :from AND first_ms <= :to',
      ExpressionAttributeValues: {
        ':pk': readingsPartitionKey(minuteMs),
        ':from': fromMs,
        ':to': toMs,
        ...(byEquipment ? { ':equipment': equipmentSortKeyPrefix(query.equipmentId as number) } : {}),
      },
    },
  );
  const documents: ReadingDocument[] = [];
  for await (const page of pages) documents.push(...((page.Items ?? []) as ReadingDocument[]));
  return documents;
}

/** The newest reading time stored, for one equipment or over all of them. */
export async function latestReadingMs(
  client: DynamoDBDocumentClient,
  tableName: string,
  equipmentId?: EquipmentId,
): Promise<number | undefined> {
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: equipmentId === undefined ? 'pk = :pk' : 'pk = :pk AND sk = :sk',
      ExpressionAttributeValues: {
        ':pk': LATEST_PK,
        ...(equipmentId === undefined ? {} : { ':sk': String(equipmentId) }),
      },
    },
  );
  let latest: number | undefined;
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const value = Number(item.latest_ms);
      if (latest === undefined || value > latest) latest = value;
    }
  }
  return latest;
}
