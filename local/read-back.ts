import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { parse } from 'csv-parse/sync';
import { objectPages } from '../cli/object-pages';
import { parseAnomalyRecord } from '../lambdas/shared/anomaly-events';
import { csvObjectText, isCsvObjectKey } from '../lambdas/shared/csv-object';
import { parseJsonLenient } from '../lambdas/shared/decode';
import { documentReadingCount, READINGS_PK_PREFIX, type ReadingDocument } from '../lambdas/shared/documents';
import { QUARANTINE_PREFIX, RAW_PREFIX, READINGS_PREFIX } from '../lambdas/shared/object-keys';
import type { LocalClients } from './clients';
import { DEAD_LETTER_PREFIX, LOCAL_NAMES } from './names';
import { ShardReader } from './shard-reader';

const gunzipAsync = promisify(gunzip);

/**
 * What the pipeline stored, counted from the services themselves (objects listed and read, documents
 * read, the anomalies stream read), never from the counters of the code that wrote it.
 */
export interface StoredCounts {
  /** Distinct readings (shard, sequence number, index) in the CSV lake. */
  valid: number;
  /** Rows in the CSV objects, duplicates included. */
  csvRows: number;
  csvObjects: number;
  /** Readings the quarantine objects' entries stand for (a record's summary entry counts several). */
  quarantined: number;
  /** Readings in the DynamoDB documents. */
  dynamoReadings: number;
  documents: number;
  /** Readings in the raw archive's GZIP objects. */
  archivedReadings: number;
  archiveObjects: number;
  /** Distinct anomaly events on the anomalies stream. */
  anomalies: number;
  /** Records in the failure destination. */
  deadLettered: number;
}

export async function readBackCounts(clients: LocalClients): Promise<StoredCounts> {
  const [csv, quarantined, dynamo, archive, anomalies, deadLettered] = await Promise.all([
    countCsv(clients),
    countQuarantined(clients),
    countDocuments(clients),
    countArchive(clients),
    countAnomalyEvents(clients),
    countDeadLettered(clients),
  ]);
  return { ...csv, quarantined, ...dynamo, ...archive, anomalies, deadLettered };
}

async function* objects(
  clients: LocalClients,
  bucket: string,
  prefix: string,
): AsyncGenerator<{ key: string; body: Buffer }> {
  for await (const page of objectPages(clients.s3, bucket, prefix)) {
    for (const object of page) {
      const result = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const body = result.Body as { transformToByteArray(): Promise<Uint8Array> };
      yield { key: object.Key as string, body: Buffer.from(await body.transformToByteArray()) };
    }
  }
}

async function countCsv(clients: LocalClients) {
  const ids = new Set<string>();
  let csvRows = 0;
  let csvObjects = 0;
  for await (const { key, body } of objects(clients, LOCAL_NAMES.processedBucket, READINGS_PREFIX)) {
    // `.csv.gz` (GZIP, as the transform writes them) or `.csv` (an earlier version's, in a --data-dir).
    if (!isCsvObjectKey(key)) continue;
    csvObjects++;
    const [header, ...rows] = parseCsv(key, csvObjectText(key, body));
    if (!header) continue;
    const [shard, sequence, index] = ['shard_id', 'sequence_number', 'reading_index'].map((name) => {
      const column = header.indexOf(name);
      if (column < 0) throw new Error(`CSV object ${key} has no ${name} column`);
      return column;
    });
    for (const row of rows) {
      ids.add(`${row[shard]}/${row[sequence]}/${row[index]}`);
      csvRows++;
    }
  }
  return { valid: ids.size, csvRows, csvObjects };
}

/**
 * RFC 4180 rows: a quoted cell (a partition key, a reason) may hold commas, quotes and line breaks,
 * so neither rows nor cells can be found by splitting. A row of another width is an error, not a count.
 */
function parseCsv(key: string, body: string): string[][] {
  try {
    return parse(body);
  } catch (error) {
    throw new Error(`CSV object ${key} is not valid CSV: ${(error as Error).message}`);
  }
}

async function countQuarantined(clients: LocalClients): Promise<number> {
  let readings = 0;
  for await (const { body } of objects(clients, LOCAL_NAMES.processedBucket, QUARANTINE_PREFIX)) {
    // JSON Lines: JSON escapes line breaks inside strings, so each line is one entry.
    for (const line of body.toString('utf8').split('\n')) {
      if (line === '') continue;
      const entry = JSON.parse(line) as { readings?: number };
      readings += entry.readings ?? 1;
    }
  }
  return readings;
}

async function countDocuments(clients: LocalClients) {
  let dynamoReadings = 0;
  let documents = 0;
  // Counting everything stored is a whole-table read; the pipeline's own queries never scan.
  for await (const page of paginateScan(
    { client: clients.documents },
    {
      TableName: LOCAL_NAMES.table,
      FilterExpression: 'begins_with(pk, :readings)',
      ExpressionAttributeValues: { ':readings': READINGS_PK_PREFIX },
    },
  )) {
    for (const item of page.Items ?? []) {
      documents++;
      // Either form: the rows of form 1, the decoded columns of form 2.
      dynamoReadings += documentReadingCount(item as ReadingDocument);
    }
  }
  return { dynamoReadings, documents };
}

async function countArchive(clients: LocalClients) {
  let archivedReadings = 0;
  let archiveObjects = 0;
  for await (const { body } of objects(clients, LOCAL_NAMES.rawBucket, RAW_PREFIX)) {
    archiveObjects++;
    const lines = (await gunzipAsync(body))
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '');
    for (const line of lines) {
      let value: unknown;
      try {
        value = parseJsonLenient(line);
      } catch {
        value = undefined;
      }
      // A record that is not a JSON array still held one (malformed) reading.
      archivedReadings += Array.isArray(value) ? value.length : 1;
    }
  }
  return { archivedReadings, archiveObjects };
}

async function countAnomalyEvents(clients: LocalClients): Promise<number> {
  const shards = await clients.kinesis.send(
    new ListShardsCommand({ StreamName: LOCAL_NAMES.anomaliesStream }),
  );
  const ids = new Set<string>();
  for (const shard of shards.Shards ?? []) {
    const reader = new ShardReader(
      clients.kinesis,
      LOCAL_NAMES.anomaliesStream,
      shard.ShardId as string,
      undefined,
    );
    for (
      let records = await reader.read();
      records.length > 0 || !reader.caughtUp;
      records = await reader.read()
    ) {
      for (const record of records)
        for (const event of parseAnomalyRecord(record.Data)) ids.add(event.event_id);
    }
  }
  return ids.size;
}

async function countDeadLettered(clients: LocalClients): Promise<number> {
  let records = 0;
  for await (const { body } of objects(clients, LOCAL_NAMES.processedBucket, DEAD_LETTER_PREFIX)) {
    records += (JSON.parse(body.toString('utf8')) as { records: unknown[] }).records.length;
  }
  return records;
}
