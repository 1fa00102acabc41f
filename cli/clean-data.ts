import './sdk-warning';
import { createInterface } from 'node:readline';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, HeadBucketCommand, type ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Command, Option } from 'commander';
import { EPISODE_PK } from '../lambdas/alerter/episode-store';
import { DETECTOR_STATE_PK_PREFIX } from '../lambdas/shared/aws/detector-state';
import { writeAllRequests } from '../lambdas/shared/aws/dynamo-writes';
import { marshallItem } from '../lambdas/shared/aws/item-marshalling';
import {
  backoff,
  DEFAULT_RETRY,
  RetriesExhaustedError,
  type RetryOptions,
} from '../lambdas/shared/aws/retry';
import { LATEST_PK, READINGS_PK_PREFIX } from '../lambdas/shared/documents';
import { KEY_SUFFIXES_PK, KEY_SUFFIXES_SK } from '../lambdas/shared/key-suffixes';
import { withHyphen } from '../lib/name-prefix';
import { explainAwsError } from './aws-access';
import { objectPages } from './object-pages';
import { LOCAL_CREDENTIALS, readLocalEndpoints, resolveTableTarget, type Target } from './targets';
import { seeHelp } from './usage';

/**
 * `npm run clean-data`: the lab's "Data Cleanup". Empties the readings table and the raw and processed
 * buckets, and keeps them: nothing is destroyed, the pipeline goes on running. Asks first, unless --yes.
 */

interface CleanDataOptions {
  target: Target;
  yes: boolean;
  namePrefix: string;
  region?: string;
  table?: string;
}

/** What is emptied, and where. */
export interface DataLocation {
  target: Target;
  region?: string;
  tableName: string;
  buckets: { role: 'processed' | 'raw'; name: string }[];
  /** The local pipeline's endpoints (target local). */
  endpoints?: { dynamodb: string; s3: string };
  /** The CloudFormation stack the bucket names came from (target aws). */
  stackName?: string;
}

export interface CleanDataClients {
  documents: DynamoDBDocumentClient;
  s3: S3Client;
}

export interface TableCounts {
  /** Documents of readings (pk readings#<minute>[#<suffix>]), of either form. */
  readings: number;
  /** Newest-reading markers (pk latest). */
  latest: number;
  /** Alert episode state (pk episode). */
  episodes: number;
  /** What the detector learnt of each equipment (pk state#<equipment>): it learns again from scratch. */
  detectorStates: number;
  other: number;
}

export interface CleanDataResult {
  /** False when the answer to the prompt was not yes: nothing was deleted. */
  confirmed: boolean;
  items: TableCounts;
  objects: { bucket: string; objects: number; bytes: number }[];
}

export interface CleanDataIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Asks the question and resolves with the answer (default: a readline prompt on the terminal). */
  ask?: (question: string) => Promise<string>;
  /** Where `.local/endpoints.json` is looked for (default: the working directory). */
  cwd?: string;
  /** Builds the SDK clients; tests pass their own. */
  clients?: (location: DataLocation) => CleanDataClients;
  cloudFormation?: (region: string | undefined) => CloudFormationClient;
  /** Retries of unprocessed deletes; tests shorten the waits. */
  retry?: RetryOptions;
  /** Items per Scan page (default: as many as fit in 1 MB). */
  scanPageSize?: number;
  /** Sets the exit status: 1 when the answer was no (default: process.exitCode). */
  exitCode?: (code: number) => void;
}

/** The stack's outputs that name the buckets (lib/pipeline-stack.ts). */
const BUCKET_OUTPUTS = { processed: 'ProcessedBucketName', raw: 'RawBucketName' } as const;
/** DeleteObjects takes at most 1,000 keys. */
const DELETE_OBJECTS_LIMIT = 1_000;

export function pipelineStackName(namePrefix: string): string {
  return `${withHyphen(namePrefix)}SensorPipeline`;
}

/** Where the data is: the local pipeline's endpoints file, or the deployed stack's outputs. */
export async function locateData(options: CleanDataOptions, io: CleanDataIo): Promise<DataLocation> {
  if (options.target === 'local') {
    const local = readLocalEndpoints(io.cwd);
    return {
      target: 'local',
      region: local.region,
      tableName: options.table ?? local.tableName,
      buckets: [
        { role: 'processed', name: local.processedBucket },
        { role: 'raw', name: local.rawBucket },
      ],
      endpoints: { dynamodb: local.dynamodb, s3: local.s3 },
    };
  }
  const table = resolveTableTarget({ ...options, target: 'aws' });
  const stackName = pipelineStackName(options.namePrefix);
  const cloudFormation = (io.cloudFormation ?? ((region) => new CloudFormationClient({ region })))(
    options.region,
  );
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
    );
  } catch (error) {
    if ((error as Error).name === 'ValidationError')
      throw new Error(
        `stack ${stackName} not found${options.region ? ` in ${options.region}` : ''}: deployed with another --name-prefix or in another --region?`,
      );
    throw error;
  }
  const buckets = (['processed', 'raw'] as const).map((role) => {
    const name = outputs[BUCKET_OUTPUTS[role]];
    if (!name) throw new Error(`stack ${stackName} has no output ${BUCKET_OUTPUTS[role]}`);
    return { role, name };
  });
  return { target: 'aws', region: options.region, tableName: table.tableName, buckets, stackName };
}

export function clientsFor(location: DataLocation): CleanDataClients {
  const local = location.target === 'local';
  const base = {
    region: location.region,
    ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
  return {
    documents: DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...base, endpoint: location.endpoints?.dynamodb }),
    ),
    // s3rver answers path-style requests only.
    s3: new S3Client({ ...base, endpoint: location.endpoints?.s3, forcePathStyle: local }),
  };
}

function describe(location: DataLocation): string {
  const where =
    location.target === 'local'
      ? 'the local pipeline (npm start)'
      : `stack ${location.stackName}${location.region ? ` in ${location.region}` : ''}`;
  return [
    `This deletes, in ${where}:`,
    `  every item of the DynamoDB table ${location.tableName} (the detector's learnt state included: it learns again)`,
    ...location.buckets.map((b) => `  every object of the ${b.role} bucket ${b.name}`),
    'The table and the buckets themselves are kept. Readings still being sent are stored again: stop the',
    'simulator first for an empty pipeline.',
  ].join('\n');
}

/** Throws, before anything is deleted, if the table or a bucket does not exist. */
async function checkExists(location: DataLocation, clients: CleanDataClients): Promise<void> {
  await clients.documents.send(new DescribeTableCommand({ TableName: location.tableName })).catch((error) => {
    throw new Error(`table ${location.tableName}: ${(error as Error).name}: ${(error as Error).message}`);
  });
  for (const bucket of location.buckets) {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket.name })).catch((error) => {
      throw new Error(`bucket ${bucket.name}: ${(error as Error).name}`);
    });
  }
}

function kindOf(pk: unknown): keyof TableCounts {
  if (typeof pk === 'string' && pk.startsWith(READINGS_PK_PREFIX)) return 'readings';
  if (pk === LATEST_PK || (typeof pk === 'string' && pk.startsWith(`${LATEST_PK}#`))) return 'latest';
  if (pk === EPISODE_PK) return 'episodes';
  if (typeof pk === 'string' && pk.startsWith(DETECTOR_STATE_PK_PREFIX)) return 'detectorStates';
  return 'other';
}

/** Deletes every item: a Scan of the keys (the one whole-table operation), BatchWriteItem deletes. */
export async function emptyTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: { retry?: RetryOptions; pageSize?: number } = {},
): Promise<TableCounts> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const counts: TableCounts = { readings: 0, latest: 0, episodes: 0, detectorStates: 0, other: 0 };
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#pk, #sk',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExclusiveStartKey: startKey,
        Limit: options.pageSize,
      }),
    );
    // The table's record of its key suffixes is a setting, not data: a transform still running writes
    // under those suffixes without raising it again, and readers would miss what it writes.
    const keys = (page.Items ?? [])
      .map((item) => ({ pk: item.pk, sk: item.sk }))
      .filter((key) => !(key.pk === KEY_SUFFIXES_PK && key.sk === KEY_SUFFIXES_SK));
    await writeAllRequests(
      client,
      tableName,
      keys.map((key) => ({ DeleteRequest: { Key: marshallItem(key) } })),
      retry,
      `deletes from ${tableName}`,
    );
    for (const key of keys) counts[kindOf(key.pk)]++;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return counts;
}

/** Deletes every object, 1,000 keys per DeleteObjects, retrying the keys it reports failed. */
export async function emptyBucket(
  client: S3Client,
  bucket: string,
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  for await (const contents of objectPages(client, bucket, undefined, DELETE_OBJECTS_LIMIT)) {
    let pending: ObjectIdentifier[] = contents.map((object) => ({ Key: object.Key }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > retry.maxAttempts)
        throw new RetriesExhaustedError(
          `${pending.length} objects of ${bucket} still not deleted after ${retry.maxAttempts} attempts`,
          pending.length,
        );
      if (attempt > 1) await backoff(attempt - 1, retry);
      const result = await client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: pending, Quiet: true } }),
      );
      const failed = new Set((result.Errors ?? []).map((error) => error.Key));
      pending = pending.filter((object) => failed.has(object.Key));
    }
    objects += contents.length;
    bytes += contents.reduce((sum, object) => sum + (object.Size ?? 0), 0);
  }
  return { objects, bytes };
}

function askOnTerminal(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) => {
    let answered = false;
    // End of input (stdin closed or not a terminal) is a "no".
    prompt.once('close', () => {
      if (!answered) resolve('');
    });
    prompt.question(question, (answer) => {
      answered = true;
      prompt.close();
      resolve(answer);
    });
  });
}

const number = (n: number) => n.toLocaleString('en-US');
const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** Locates the data, asks (unless `yes`), empties the table and the buckets and says what it deleted. */
export async function cleanData(options: CleanDataOptions, io: CleanDataIo): Promise<CleanDataResult> {
  const location = await locateData(options, io);
  const clients = (io.clients ?? clientsFor)(location);
  await checkExists(location, clients);
  const nothing: CleanDataResult = {
    confirmed: false,
    items: { readings: 0, latest: 0, episodes: 0, detectorStates: 0, other: 0 },
    objects: [],
  };
  if (!options.yes) {
    io.out(describe(location));
    const answer = await (io.ask ?? askOnTerminal)('Type "yes" to delete it all: ');
    if (!['yes', 'y'].includes(answer.trim().toLowerCase())) {
      io.out('Nothing deleted.');
      return nothing;
    }
  }
  const items = await emptyTable(clients.documents, location.tableName, {
    retry: io.retry,
    pageSize: io.scanPageSize,
  });
  const total = items.readings + items.latest + items.episodes + items.detectorStates + items.other;
  io.out(
    `Deleted ${number(total)} items from table ${location.tableName}: ${number(items.readings)} readings documents, ` +
      `${number(items.latest)} latest-reading markers, ${number(items.episodes)} alert episodes, ` +
      `${number(items.detectorStates)} detector states, ${number(items.other)} other.`,
  );
  const objects: CleanDataResult['objects'] = [];
  for (const bucket of location.buckets) {
    const deleted = await emptyBucket(clients.s3, bucket.name, io.retry);
    objects.push({ bucket: bucket.name, ...deleted });
    io.out(
      `Deleted ${number(deleted.objects)} objects (${megabytes(deleted.bytes)}) from the ${bucket.role} bucket ${bucket.name}.`,
    );
  }
  io.out('The table and the buckets are kept.');
  return { confirmed: true, items, objects };
}

export function cleanDataCommand(io: CleanDataIo): Command {
  return new Command('clean-data')
    .description(
      'Empty the readings table and the raw and processed buckets (the lab\'s "Data Cleanup"), keeping them: nothing is destroyed.',
    )
    .addOption(
      new Option(
        '--target <target>',
        'aws: the deployed stack, with your AWS credentials and region; local: the pipeline `npm start` runs here (required: no default)',
      )
        .choices(['aws', 'local'])
        .makeOptionMandatory(),
    )
    .option('--yes', 'do not ask for confirmation', false)
    .option('--name-prefix <prefix>', 'the namePrefix the stack was deployed with', '')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--table <name>', 'readings table name (default: <name-prefix>sensor-readings)')
    .showHelpAfterError(seeHelp('npm run clean-data'))
    .action(async (options: CleanDataOptions) => {
      const result = await cleanData(options, io);
      if (!result.confirmed) (io.exitCode ?? ((code) => (process.exitCode = code)))(1);
    });
}

if (require.main === module) {
  cleanDataCommand({ out: (text) => console.log(text), err: (text) => console.error(text) })
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(`clean-data: ${explainAwsError(error)}`);
      process.exitCode = 1;
    });
}
