import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { withHyphen } from '../lib/name-prefix';

/**
 * Where the CLIs find the pipeline. `aws`: the deployed stack, with the caller's own credentials and
 * region (the SDK's standard chain, or --region). `local`: the pipeline `npm start` runs on this
 * machine, which writes its endpoints to .local/endpoints.json while it runs.
 */
export type Target = 'aws' | 'local';

export const LOCAL_ENDPOINTS_FILE = join('.local', 'endpoints.json');

export interface LocalEndpoints {
  region: string;
  dynamodb: string;
  kinesis: string;
  s3: string;
  sns: string;
  tableName: string;
  inputStream: string;
  anomaliesStream: string;
  processedBucket: string;
  rawBucket: string;
  /** The dashboard's URL, when it runs. */
  dashboard?: string;
}

export interface DynamoTarget {
  region?: string;
  endpoint?: string;
  tableName: string;
  /** The local pipeline's emulator: it checks no signature, but the SDK needs a key pair to sign. */
  local: boolean;
}

/** The options every CLI that reads the readings table takes. */
export interface TableTargetOptions {
  target: Target;
  table?: string;
  namePrefix: string;
  region?: string;
  endpoint?: string;
}

/** The emulators accept any key pair; this one is s3rver's default, which S3 requires. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function readLocalEndpoints(cwd = process.cwd()): LocalEndpoints {
  const file = join(cwd, LOCAL_ENDPOINTS_FILE);
  if (!existsSync(file)) {
    throw new Error(
      `no local pipeline is running here (${LOCAL_ENDPOINTS_FILE} not found): start one with \`npm start\``,
    );
  }
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints & { pid?: number };
  if (endpoints.pid !== undefined && !processRuns(endpoints.pid)) {
    throw new Error(
      `no local pipeline is running here (the one that wrote ${LOCAL_ENDPOINTS_FILE}, process ${endpoints.pid}, has stopped): start one with \`npm start\``,
    );
  }
  return endpoints;
}

/** Whether the process runs (EPERM: it does, as another user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Default physical name of the readings table (see lib/constructs/readings-table.ts). */
export function defaultTableName(namePrefix = ''): string {
  return `${withHyphen(namePrefix)}sensor-readings`;
}

export function resolveTableTarget(options: TableTargetOptions): DynamoTarget {
  if (options.target === 'local' && !options.endpoint) {
    const local = readLocalEndpoints();
    return {
      local: true,
      region: local.region,
      endpoint: local.dynamodb,
      tableName: options.table ?? local.tableName,
    };
  }
  return {
    local: options.target === 'local',
    region: options.region,
    endpoint: options.endpoint,
    tableName: options.table ?? defaultTableName(options.namePrefix),
  };
}

export function documentClientFor(target: DynamoTarget): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: target.region,
      endpoint: target.endpoint,
      ...(target.local ? { credentials: LOCAL_CREDENTIALS } : {}),
    }),
  );
}
