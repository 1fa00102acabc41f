import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
  tableName: string;
}

export interface DynamoTarget {
  region?: string;
  endpoint?: string;
  tableName: string;
}

export function readLocalEndpoints(cwd = process.cwd()): LocalEndpoints {
  const file = join(cwd, LOCAL_ENDPOINTS_FILE);
  if (!existsSync(file)) {
    throw new Error(
      `no local pipeline is running here (${LOCAL_ENDPOINTS_FILE} not found): start one with \`npm start\``,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
}

/** Default physical name of the readings table (see lib/constructs/readings-table.ts). */
export function defaultTableName(namePrefix = ''): string {
  return `${namePrefix}sensor-readings`;
}
