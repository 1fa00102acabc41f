import { Aws, Stack, Token } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { acknowledge, arnFinding } from '../nag';
import {
  type ExternalTableDdl,
  loadSqlFiles,
  parseExternalTable,
  SQL_DIR,
  type SqlFile,
  type SqlPlaceholder,
  substitutePlaceholders,
} from './analytics-sql';
import { DataBucket } from './data-bucket';

export interface AnalyticsProps {
  namePrefix: string;
  /** The CSV lake: `${PROCESSED_BUCKET}` in the SQL files. */
  processedBucket: s3.IBucket;
  /** The raw archive: `${RAW_BUCKET}` in the SQL files. */
  rawBucket: s3.IBucket;
  /** Athena cancels a query of the workgroup once it has scanned this many bytes. */
  bytesScannedCutoffPerQuery: number;
  /** Where the SQL files are (`sql/`). */
  sqlDir?: string;
  /** The deployment's reading schema, which the SQL files are expanded for (the lab's by default). */
  schema?: ReadingSchema;
}

/** Query results are kept this long: they can be read again from the console's history until then. */
export const RESULTS_EXPIRATION_DAYS = 7;
export const RESULTS_PREFIX = 'results/';

/** The Glue database name for a name prefix: Glue wants lower case, digits and underscores. */
export function glueDatabaseName(namePrefix: string): string {
  return `${namePrefix}sensor_pipeline`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** The comment's sentences that fit in `max` characters, and where to read the rest. */
export function shortDescription(comment: string, file: string, max: number): string {
  const more = ` (more in sql/${file}.sql)`;
  if (comment.length <= max) return comment;
  let text = '';
  for (const sentence of comment.split(/(?<=\.)\s+/)) {
    const longer = text === '' ? sentence : `${text} ${sentence}`;
    if (longer.length + more.length > max) break;
    text = longer;
  }
  return `${text}${more}`;
}

/** How cdk-nag writes a region or account in a finding: the value when known, else the pseudo parameter. */
const pseudo = (value: string, name: string) => (Token.isUnresolved(value) ? `<AWS::${name}>` : value);

/** `processed_readings` -> `ProcessedReadings`, for construct IDs. */
const pascal = (name: string) =>
  name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/**
 * SQL over the lakes, with nothing pasted by hand: a Glue database with one table per
 * `CREATE EXTERNAL TABLE` file of `sql/` (partition projection, so no crawler), an Athena workgroup that
 * writes encrypted results to a bucket of its own, one named query per view or reference query file, and
 * a managed policy that lets whoever it is attached to run them and nothing more.
 */
export class Analytics extends Construct {
  readonly databaseName: string;
  readonly database: glue.CfnDatabase;
  readonly tables: Record<string, glue.CfnTable> = {};
  readonly tableDefinitions: Record<string, ExternalTableDdl> = {};
  readonly workGroup: athena.CfnWorkGroup;
  readonly resultsBucket: DataBucket;
  readonly namedQueries: Record<string, athena.CfnNamedQuery> = {};
  readonly files: SqlFile[];
  readonly queryPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.databaseName = glueDatabaseName(props.namePrefix);
    const buckets: Partial<Record<SqlPlaceholder, s3.IBucket>> = {
      PROCESSED_BUCKET: props.processedBucket,
      RAW_BUCKET: props.rawBucket,
    };
    const values: Record<SqlPlaceholder, string> = {
      PROCESSED_BUCKET: props.processedBucket.bucketName,
      RAW_BUCKET: props.rawBucket.bucketName,
      DATABASE: this.databaseName,
    };
    this.files = loadSqlFiles(props.sqlDir ?? SQL_DIR, props.schema ?? LAB_SCHEMA);

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: this.databaseName,
        description:
          'Sensor pipeline: the CSV lake and the raw archive (tables from sql/ of sensor-anomaly-pipeline)',
      },
    });

    // Tables: the DDL parsed, placeholders replaced in the location and the properties.
    const tableReads: { bucket: s3.IBucket; prefix: string }[] = [];
    for (const file of this.files.filter((f) => f.kind === 'table')) {
      const ddl = parseExternalTable(file.statement);
      this.tableDefinitions[ddl.name] = ddl;
      const sub = (text: string) => substitutePlaceholders(text, values);
      const substituted = (record: Record<string, string>) =>
        Object.fromEntries(Object.entries(record).map(([key, value]) => [key, sub(value)]));
      const table = new glue.CfnTable(this, `${pascal(ddl.name)}Table`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name: ddl.name,
          description: shortDescription(ddl.comment ?? file.comment, file.name, 2048),
          tableType: 'EXTERNAL_TABLE',
          parameters: { EXTERNAL: 'TRUE', ...substituted(ddl.properties) },
          partitionKeys: ddl.partitionKeys.map(({ name, type, comment }) => ({ name, type, comment })),
          storageDescriptor: {
            columns: ddl.columns.map(({ name, type, comment }) => ({ name, type, comment })),
            location: sub(ddl.location),
            inputFormat: ddl.inputFormat,
            outputFormat: ddl.outputFormat,
            serdeInfo: {
              serializationLibrary: ddl.serde.library,
              parameters: substituted(ddl.serde.parameters),
            },
          },
        },
      });
      table.node.addDependency(this.database);
      this.tables[ddl.name] = table;
      // What the table reads, for the query policy: the location must be s3://${<BUCKET>}/<prefix>/.
      const location = /^s3:\/\/\$\{([A-Z_]+)\}\/([A-Za-z0-9._/-]+\/)$/.exec(ddl.location);
      const bucket = location && buckets[location[1] as SqlPlaceholder];
      if (!location || !bucket)
        throw new Error(
          `${file.path}: LOCATION must be s3://\${PROCESSED_BUCKET}/<prefix>/ or s3://\${RAW_BUCKET}/<prefix>/`,
        );
      tableReads.push({ bucket, prefix: location[2] });
    }

    // The workgroup: results encrypted (SSE-S3, as every bucket of the stack) in a bucket of their own,
    // kept a week; its settings override the client's; a query stops at the bytes-scanned cutoff.
    this.resultsBucket = new DataBucket(this, 'ResultsBucket', {
      retainData: false,
      expirationDays: RESULTS_EXPIRATION_DAYS,
    });
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${props.namePrefix}sensor-pipeline`,
      description: 'Queries of the sensor pipeline lakes (named queries from sql/)',
      state: 'ENABLED',
      // Deletes the workgroup with the named queries and query history users added, on cdk destroy.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/${RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });
    // Deleted before the results bucket is emptied, so no query can write into it afterwards.
    if (this.resultsBucket.emptier) this.workGroup.node.addDependency(this.resultsBucket.emptier);

    // Named queries: the views as CREATE OR REPLACE VIEW (to run once), the reference queries as SELECTs.
    for (const file of this.files.filter((f) => f.kind !== 'table')) {
      const query = new athena.CfnNamedQuery(
        this,
        `${pascal(file.name)}${file.kind === 'view' ? 'View' : 'Query'}`,
        {
          name: file.name,
          description: shortDescription(file.comment, file.name, 1024),
          database: this.databaseName,
          workGroup: this.workGroup.ref,
          queryString: substitutePlaceholders(file.statement, values),
        },
      );
      query.node.addDependency(this.database);
      this.namedQueries[file.name] = query;
    }

    this.queryPolicy = this.createQueryPolicy(stack, tableReads);
  }

  /**
   * What running the named queries takes: the workgroup's query actions, reading the Glue catalog of the
   * database and creating its views (those of `sql/`, by name), reading the tables' prefixes, and writing
   * and reading the workgroup's results. Attach it to the users or roles who query the lakes.
   */
  private createQueryPolicy(
    stack: Stack,
    tableReads: { bucket: s3.IBucket; prefix: string }[],
  ): iam.ManagedPolicy {
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName });
    const catalog = glueArn('catalog');
    const database = glueArn('database', this.databaseName);
    const views = this.files
      .filter((f) => f.kind === 'view')
      .map((f) => glueArn('table', `${this.databaseName}/${f.name}`));
    const statements = [
      new iam.PolicyStatement({
        sid: 'RunQueriesInTheWorkGroup',
        actions: [
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:GetQueryRuntimeStatistics',
          'athena:ListQueryExecutions',
          'athena:BatchGetQueryExecution',
          'athena:GetWorkGroup',
          'athena:ListNamedQueries',
          'athena:GetNamedQuery',
          'athena:BatchGetNamedQuery',
        ],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroup.ref }),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheCatalogOfTheDatabase',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables'],
        resources: [catalog, database, glueArn('table', `${this.databaseName}/*`)],
      }),
      new iam.PolicyStatement({
        sid: 'CreateTheViewsOfSqlFiles',
        actions: ['glue:CreateTable', 'glue:UpdateTable'],
        resources: [catalog, database, ...views],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheTables',
        actions: ['s3:GetObject'],
        resources: tableReads.map(({ bucket, prefix }) => bucket.arnForObjects(`${prefix}*`)),
      }),
      ...[...new Set(tableReads.map((read) => read.bucket))].map(
        (bucket) =>
          new iam.PolicyStatement({
            actions: ['s3:ListBucket'],
            resources: [bucket.bucketArn],
            conditions: {
              StringLike: {
                's3:prefix': tableReads
                  .filter((read) => read.bucket === bucket)
                  .map(({ prefix }) => `${prefix}*`),
              },
            },
          }),
      ),
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation'],
        resources: [...new Set([...tableReads.map((read) => read.bucket), this.resultsBucket])].map(
          (b) => b.bucketArn,
        ),
      }),
      new iam.PolicyStatement({
        sid: 'WriteAndReadTheResults',
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [this.resultsBucket.arnForObjects(`${RESULTS_PREFIX}*`)],
      }),
      new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.resultsBucket.bucketArn],
      }),
    ];
    const policy = new iam.ManagedPolicy(this, 'QueryPolicy', {
      description: `Run the Athena named queries of the ${this.databaseName} database in its workgroup, nothing more`,
      statements,
    });

    const tableReasons: Record<string, string> = {};
    for (const { bucket, prefix } of tableReads)
      tableReasons[`${arnFinding(bucket)}/${prefix}*`] =
        `Athena reads every object under ${prefix} of this bucket: the table's data.`;
    for (const [resource, reason] of Object.entries({
      ...tableReasons,
      [`${arnFinding(this.resultsBucket)}/${RESULTS_PREFIX}*`]:
        'Athena writes each query result under results/ of the results bucket, with a key known only when the query runs.',
      [`arn:${pseudo(stack.partition, 'Partition')}:glue:${pseudo(stack.region, 'Region')}:${pseudo(stack.account, 'AccountId')}:table/${this.databaseName}/*`]:
        'Reading the catalog of this database only: the tables of sql/ and the views users create from the named queries.',
    })) {
      acknowledge(policy, `IAM5[Resource::${resource}]`, reason);
    }
    return policy;
  }
}
