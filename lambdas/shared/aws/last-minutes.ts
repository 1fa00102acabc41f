import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import {
  equipmentSortKeyPrefix,
  flattenDocument,
  LATEST_PK,
  type ReadingDocument,
  readingsPartitionKeys,
} from '../documents';
import { suffixedKeys } from '../key-suffixes';
import { compareIds } from '../minute-windows';
import type { ReadingRow } from '../processed-reading';
import type { EquipmentId } from '../reading';
import { readKeySuffixes } from './key-suffix-setting';

/**
 * "The last 3 minutes" (the lab's STREAMDATA_LAST3_VIEW), answered by Query on the minute partitions
 * that overlap the window, each minute's K keys (key-suffixes.ts, K read from the table), never by
 * Scan, and flattened to one row per reading, from documents of either form. A reading found twice
 * (a record retried under another K, or rewritten in the other form) is kept once.
 */

export type RelativeTo = 'now' | 'latest';

export interface LastMinutesQuery {
  tableName: string;
  equipmentId?: EquipmentId;
  /** `now`: the window ends at the current time. `latest`: at the newest reading stored (the lab's view). */
  relativeTo: RelativeTo;
  windowMs?: number;
  nowMs?: number;
  /** K, when the caller has read it already (readKeySuffixes); read from the table otherwise. */
  keySuffixes?: number;
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
  const suffixes = query.keySuffixes ?? (await readKeySuffixes(client, query.tableName));
  const toMs =
    query.relativeTo === 'now'
      ? (query.nowMs ?? Date.now())
      : await latestReadingMs(client, query.tableName, query.equipmentId, suffixes);
  if (toMs === undefined) return { rows: [] };
  const fromMs = toMs - windowMs;

  const keys: string[] = [];
  for (let minute = Math.floor(fromMs / 60_000) * 60_000; minute <= toMs; minute += 60_000)
    keys.push(...readingsPartitionKeys(minute, suffixes));
  const documents = (await Promise.all(keys.map((pk) => queryKey(client, query, pk, fromMs, toMs)))).flat();

  const seen = new Set<string>();
  const rows = documents
    .flatMap(flattenDocument)
    .filter((row) => {
      const time = Date.parse(row.timestamp);
      if (time < fromMs || time > toMs) return false;
      const id = `${row.shard_id}#${row.sequence_number}#${row.reading_index}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
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

async function queryKey(
  client: DynamoDBDocumentClient,
  query: LastMinutesQuery,
  pk: string,
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
        ':pk': pk,
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

/**
 * The newest reading time stored, for one equipment or over all of them: the newest-reading items
 * spread over the K keys `latest`, `latest#1`... (an equipment's key may have moved when K changed).
 */
export async function latestReadingMs(
  client: DynamoDBDocumentClient,
  tableName: string,
  equipmentId?: EquipmentId,
  keySuffixes?: number,
): Promise<number | undefined> {
  const suffixes = keySuffixes ?? (await readKeySuffixes(client, tableName));
  let latest: number | undefined;
  await Promise.all(
    suffixedKeys(LATEST_PK, suffixes).map(async (pk) => {
      const pages = paginateQuery(
        { client },
        {
          TableName: tableName,
          KeyConditionExpression: equipmentId === undefined ? 'pk = :pk' : 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: {
            ':pk': pk,
            ...(equipmentId === undefined ? {} : { ':sk': String(equipmentId) }),
          },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          const value = Number(item.latest_ms);
          if (latest === undefined || value > latest) latest = value;
        }
      }
    }),
  );
  return latest;
}
