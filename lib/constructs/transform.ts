import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DETECTOR_STATE_PK_PREFIX } from '../../lambdas/shared/aws/detector-state';
import { parseDetectorModel } from '../../lambdas/shared/detector/model';
import { KEY_SUFFIXES_PK } from '../../lambdas/shared/key-suffixes';
import { TRANSFORM_SERVICE } from '../../lambdas/shared/metrics-catalog';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { NO_MODEL } from '../config';
import { acknowledge, arnFinding } from '../nag';
import type { DataBucket } from './data-bucket';
import { PROJECT_ROOT, StreamConsumerFunction } from './stream-consumer-function';

export interface TransformProps {
  input: kinesis.IStream;
  anomalies: kinesis.IStream;
  processedBucket: DataBucket;
  table: dynamodb.ITableV2;
  key: kms.IKey;
  /** Model artifact bundled with the function, relative to the project root; `none` for no model. */
  modelPath: string;
  /** The reading schema the readings follow (the lab's by default): the model is checked against it. */
  schema?: ReadingSchema;
  /** The schema's file, bundled beside the handler; none for the lab's built-in schema. */
  schemaFile?: string;
  /** At most one save of an equipment's detector state this often. */
  detectorStateSaveSeconds: number;
  /** A lasting change is the new normal after at most this long. */
  detectorHorizonMinutes: number;
  scoreThreshold: number;
  /** `feature=threshold` pairs, comma-separated; empty for none. */
  featureScoreThresholds: string;
  /** `feature=low:high` pairs, comma-separated; empty for none. */
  featureLimits: string;
  readingsTtlDays: number;
  windowLatenessSeconds: number;
  /** K: the partition keys a minute's documents and window contributions spread over (TABLE_KEY_SUFFIXES). */
  tableKeySuffixes: number;
  batchSize: number;
  batchingWindow: Duration;
  retryAttempts: number;
  maxRecordAge: Duration;
  memorySize: number;
  logRetention: logs.RetentionDays;
}

/**
 * Prefixes of the processed bucket the transform writes (see lambdas/shared/object-keys.ts): readings/
 * holds the CSV objects of every reading schema (readings/<name>-v<version>/ for any but the lab's).
 */
export const PROCESSED_PREFIXES = ['readings/', 'quarantine/'];
/** Where the bundle holds the model and the reading schema (the function's code is in /var/task). */
export const BUNDLED_MODEL = 'model.json';
export const BUNDLED_SCHEMA = 'reading-schema';
const TASK_ROOT = '/var/task';

/**
 * Partition keys of the table the transform writes (lambdas/shared/documents.ts, minute-windows.ts
 * and aws/detector-state.ts), and the ones it reads: only its detector states.
 */
export const TRANSFORM_LEADING_KEYS = [
  'readings#*',
  'minutes#*',
  'latest',
  'latest#*',
  KEY_SUFFIXES_PK,
  `${DETECTOR_STATE_PK_PREFIX}*`,
];
export const TRANSFORM_READ_LEADING_KEYS = [`${DETECTOR_STATE_PK_PREFIX}*`];

/**
 * The transform Lambda on the input stream: readings to CSV objects, DynamoDB documents and anomaly
 * events, with the model artifact bundled beside the code.
 */
export class Transform extends Construct {
  readonly consumer: StreamConsumerFunction;
  /** Files copied beside the handler: project-relative source -> name in the bundle. */
  readonly bundledFiles: Record<string, string>;

  constructor(scope: Construct, id: string, props: TransformProps) {
    super(scope, id);
    const schema = props.schema ?? LAB_SCHEMA;
    const modelFile = props.modelPath === NO_MODEL ? undefined : path.resolve(PROJECT_ROOT, props.modelPath);
    if (modelFile) checkModelArtifact(modelFile, schema);
    // The schema file as written (JSON or YAML: the extension says which to the loader).
    const schemaName = props.schemaFile && `${BUNDLED_SCHEMA}${path.extname(props.schemaFile).toLowerCase()}`;
    this.bundledFiles = {
      ...(modelFile ? { [path.relative(PROJECT_ROOT, modelFile)]: BUNDLED_MODEL } : {}),
      ...(props.schemaFile && schemaName
        ? { [path.relative(PROJECT_ROOT, props.schemaFile)]: schemaName }
        : {}),
    };

    this.consumer = new StreamConsumerFunction(this, 'Consumer', {
      handlerFolder: 'transform',
      description: 'Sensor readings: validate, score, write CSV, documents and anomaly events',
      stream: props.input,
      environment: {
        POWERTOOLS_SERVICE_NAME: TRANSFORM_SERVICE,
        PROCESSED_BUCKET: props.processedBucket.bucketName,
        READINGS_TABLE: props.table.tableName,
        ANOMALIES_STREAM: props.anomalies.streamName,
        ...(modelFile ? { MODEL_PATH: `${TASK_ROOT}/${BUNDLED_MODEL}` } : {}),
        ...(schemaName ? { READING_SCHEMA_PATH: `${TASK_ROOT}/${schemaName}` } : {}),
        DETECTOR_STATE_SAVE_SECONDS: String(props.detectorStateSaveSeconds),
        DETECTOR_HORIZON_MINUTES: String(props.detectorHorizonMinutes),
        SCORE_THRESHOLD: String(props.scoreThreshold),
        FEATURE_SCORE_THRESHOLDS: props.featureScoreThresholds,
        FEATURE_LIMITS: props.featureLimits,
        READINGS_TTL_DAYS: String(props.readingsTtlDays),
        WINDOW_LATENESS_SECONDS: String(props.windowLatenessSeconds),
        TABLE_KEY_SUFFIXES: String(props.tableKeySuffixes),
      },
      batchSize: props.batchSize,
      batchingWindow: props.batchingWindow,
      retryAttempts: props.retryAttempts,
      maxRecordAge: props.maxRecordAge,
      memorySize: props.memorySize,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      key: props.key,
      bundledFiles: this.bundledFiles,
    });
    const role = this.consumer.role;

    for (const prefix of PROCESSED_PREFIXES) props.processedBucket.grantPut(role, `${prefix}*`);
    props.anomalies.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': TRANSFORM_LEADING_KEYS } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': TRANSFORM_READ_LEADING_KEYS } },
      }),
    );
    // Delete the function before the bucket is emptied, so it cannot write into it meanwhile.
    if (props.processedBucket.emptier)
      this.consumer.function.node.addDependency(props.processedBucket.emptier);

    for (const prefix of PROCESSED_PREFIXES) {
      acknowledge(
        role,
        `IAM5[Resource::${arnFinding(props.processedBucket)}/${prefix}*]`,
        `The transform writes one object per batch under ${prefix}, with keys known only at run time.`,
      );
    }
    acknowledge(role, 'IAM5[Action::s3:Abort*]', 'Part of the S3 put grant, limited to the prefixes above.');
  }
}

/**
 * Fails synth early, with the path, when the model artifact is missing, not a model, or names features
 * the reading schema does not have (the transform's detector would refuse it at every cold start).
 */
function checkModelArtifact(file: string, schema: ReadingSchema): void {
  let json: { formatVersion?: unknown; modelVersion?: unknown };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`modelPath: cannot read a JSON model artifact at ${file}: ${(error as Error).message}`);
  }
  if (typeof json.formatVersion !== 'number' || typeof json.modelVersion !== 'string') {
    throw new Error(`modelPath: ${file} is not a detector model (no formatVersion/modelVersion)`);
  }
  let features: readonly string[];
  try {
    features = parseDetectorModel(json).features;
  } catch (error) {
    throw new Error(`modelPath: ${file}: ${(error as Error).message}`);
  }
  const unknown = features.filter((feature) => !schema.featureNames.includes(feature));
  if (unknown.length > 0) {
    throw new Error(
      `modelPath: ${file} names features the reading schema ${schema.id} does not have: ${unknown.join(', ')} (its features: ${schema.featureNames.join(', ')}). Deploy with -c modelPath=none (the detector learns every feature online) or with a model trained on the schema's features (npm run train -- --input FILE.csv --schema SCHEMA --out MODEL).`,
    );
  }
}
