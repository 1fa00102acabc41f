import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { curatedPrefix, readingsPrefix } from '../../lambdas/shared/object-keys';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { acknowledge, arnFinding } from '../nag';
import { RESULTS_PREFIX } from './analytics';
import { curationStatement, substitutePlaceholders } from './analytics-sql';

export interface CurationProps {
  namePrefix: string;
  /** The CSV lake (readings/) and the curated zone (curated/). */
  processedBucket: s3.IBucket;
  /** The Athena workgroup the queries run in, its results bucket, and the Glue database. */
  workGroupName: string;
  resultsBucket: s3.IBucket;
  databaseName: string;
  /** Failures are published here (the ops topic), and the alarm on failed executions notifies it. */
  opsTopic: sns.ITopic;
  /** The stack's key: encrypts the curated-data topic (and the ops topic). */
  key: kms.IKey;
  /** Subscribed to the curated-data topic by e-mail. */
  curatedEmail?: string;
  /** The run for an hour starts this many minutes after it closes. */
  delayMinutes: number;
  logRetention: logs.RetentionDays;
  schema?: ReadingSchema;
}

/** How long a curation may run (two Athena queries over two hours of CSV). */
export const CURATION_TIMEOUT = Duration.minutes(30);

/** The hour's values, as the curation statements name them (`{DT}`), and the JSONata variable holding each. */
const HOUR_VARIABLES = {
  PREVIOUS_DT: 'previousDt',
  PREVIOUS_HOUR: 'previousHour',
  DT: 'dt',
  HOUR: 'hour',
} as const;

/** A JSONata expression writing the hour's variables into the statement held by `$variable`. */
const fillHourExpression = (variable: string) =>
  `{% ${Object.entries(HOUR_VARIABLES).reduce(
    (expression, [placeholder, name]) => `$replace(${expression}, '{${placeholder}}', $${name})`,
    `$${variable}`,
  )} %}`;

/**
 * The curated zone, orchestrated (docs/lake.md): a few minutes past each hour an EventBridge rule
 * starts a Step Functions state machine which moves the last closed hour of the CSV lake into the
 * Parquet table curated_readings with Athena (sql/curation/curate_hour.sql), after emptying the
 * hour's folder so a re-run replaces it; checks the row count against the lake's
 * (sql/curation/check_counts.sql); and publishes "new data curated" with the hour and its counts to
 * the curated-data topic. A failure (a query's, or counts that differ) is published to the ops topic,
 * and an alarm on failed or timed-out executions notifies it too.
 *
 * Start it for any hour: `aws stepfunctions start-execution --state-machine-arn <CurationStateMachineArn>
 * --input '{"hour":"2026-11-28T17:00:00Z"}'` (or `npm run curate -- --target aws --hour ...`).
 */
export class Curation extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly topic: sns.Topic;
  readonly role: iam.Role;
  readonly rule: events.Rule;
  readonly failureAlarm: cloudwatch.Alarm;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CurationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const schema = props.schema ?? LAB_SCHEMA;
    const bucket = props.processedBucket;
    const lakePrefix = readingsPrefix(schema);
    const curated = curatedPrefix(schema);

    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${props.namePrefix}curated-data`,
      displayName: 'Sensor pipeline: new data curated',
      masterKey: props.key,
      enforceSSL: true,
    });
    if (props.curatedEmail)
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.curatedEmail));

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.namePrefix}sensor-pipeline-curation`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description:
        'The curation state machine: Athena in its workgroup, the lake read, the curated zone written',
    });
    this.addRolePolicy(stack, props, lakePrefix, curated);

    const sql = (file: 'curate_hour.sql' | 'check_counts.sql') =>
      substitutePlaceholders(
        curationStatement(file, schema),
        // The curation reads no raw archive: ${RAW_BUCKET}, never written in these files, stays as it is.
        { DATABASE: props.databaseName, PROCESSED_BUCKET: bucket.bucketName, RAW_BUCKET: 'RAW_BUCKET' },
        ['RAW_BUCKET'],
      );
    const athena = {
      queryExecutionContext: { databaseName: props.databaseName },
      workGroup: props.workGroupName,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    };
    const hourMs = '$states.input.hourMs';
    const format = (offsetMs: number, picture: string) =>
      `{% $fromMillis(${hourMs}${offsetMs ? ` - ${offsetMs}` : ''}, '${picture}') %}`;

    // The hour: {"hour": "<ISO time>"} when started by hand, else the last closed hour before the
    // scheduled event's time (the event's `time` is a few minutes past the hour).
    const lastClosedHour = sfn.Pass.jsonata(this, 'LastClosedHour', {
      comment: 'The hour to curate: input.hour, or the hour before the scheduled event time',
      outputs: {
        hourMs:
          '{% $floor(($exists($states.input.hour) ? $toMillis($states.input.hour) : $toMillis($states.input.time) - 3600000) / 3600000) * 3600000 %}',
      },
    });
    const statements = sfn.Pass.jsonata(this, 'Statements', {
      comment: 'The hour, the hour before, the folder of the curated zone, the statements of sql/curation/',
      assign: {
        dt: format(0, '[Y0001]-[M01]-[D01]'),
        hour: format(0, '[H01]'),
        previousDt: format(3_600_000, '[Y0001]-[M01]-[D01]'),
        previousHour: format(3_600_000, '[H01]'),
        folder: `{% '${curated}dt=' & $fromMillis(${hourMs}, '[Y0001]-[M01]-[D01]') & '/hour=' & $fromMillis(${hourMs}, '[H01]') & '/' %}`,
        curateSql: sql('curate_hour.sql'),
        countSql: sql('check_counts.sql'),
      },
    });
    const listCurated = tasks.CallAwsService.jsonata(this, 'ListCurated', {
      comment: 'What an earlier run of this hour wrote: UNLOAD writes into an empty folder only',
      service: 's3',
      action: 'listObjectsV2',
      parameters: { Bucket: bucket.bucketName, Prefix: '{% $folder %}' },
      iamResources: [bucket.bucketArn],
      iamAction: 's3:ListBucket',
      outputs: { keys: '{% [$states.result.Contents.Key] %}' },
    });
    const deleteCurated = sfn.Map.jsonata(this, 'DeleteCurated', {
      comment: 'Empties the folder, then lists it again',
      items: sfn.ProvideItems.jsonata('{% $states.input.keys %}'),
      maxConcurrency: 10,
    }).itemProcessor(
      tasks.CallAwsService.jsonata(this, 'DeleteObject', {
        service: 's3',
        action: 'deleteObject',
        parameters: { Bucket: bucket.bucketName, Key: '{% $states.input %}' },
        iamResources: [bucket.arnForObjects(`${curated}*`)],
        iamAction: 's3:DeleteObject',
      }),
    );
    const curate = tasks.AthenaStartQueryExecution.jsonata(this, 'Curate', {
      comment: 'sql/curation/curate_hour.sql: UNLOAD the hour, deduplicated, as Parquet (ZSTD)',
      queryString: fillHourExpression('curateSql'),
      ...athena,
      assign: { curateScannedBytes: '{% $states.result.QueryExecution.Statistics.DataScannedInBytes %}' },
    });
    const countRows = tasks.AthenaStartQueryExecution.jsonata(this, 'CountRows', {
      comment: 'sql/curation/check_counts.sql: the hour in the lake, deduplicated, and in curated_readings',
      queryString: fillHourExpression('countSql'),
      ...athena,
      outputs: { queryExecutionId: '{% $states.result.QueryExecution.QueryExecutionId %}' },
    });
    const readCounts = tasks.AthenaGetQueryResults.jsonata(this, 'ReadCounts', {
      queryExecutionId: '{% $states.input.queryExecutionId %}',
      maxResults: 2,
      outputs: {
        lakeReadings: '{% $number($states.result.ResultSet.Rows[1].Data[0].VarCharValue) %}',
        curatedReadings: '{% $number($states.result.ResultSet.Rows[1].Data[1].VarCharValue) %}',
        anomalies: '{% $number($states.result.ResultSet.Rows[1].Data[2].VarCharValue) %}',
        equipment: '{% $number($states.result.ResultSet.Rows[1].Data[3].VarCharValue) %}',
      },
    });
    const notifyCurated = tasks.SnsPublish.jsonata(this, 'NotifyCurated', {
      comment: 'New data curated: the hour and its counts',
      topic: this.topic,
      subject: "{% 'New data curated: ' & $dt & ' ' & $hour & ':00 UTC' %}",
      message: sfn.TaskInput.fromText(
        `{% $string({'event': 'new data curated', 'dt': $dt, 'hour': $hour, 'readings': $states.input.curatedReadings, 'lakeReadings': $states.input.lakeReadings, 'anomalies': $states.input.anomalies, 'equipment': $states.input.equipment, 'scannedBytes': $curateScannedBytes, 'location': 's3://' & '${bucket.bucketName}' & '/' & $folder}) %}`,
      ),
    });
    const failed = sfn.Fail.jsonata(this, 'CurationFailed', {
      error: 'CurationFailed',
      cause: 'The curation of the hour failed: see the message on the ops topic and the execution history',
    });
    const notifyFailure = tasks.SnsPublish.jsonata(this, 'NotifyFailure', {
      comment: 'A failure, to the ops topic',
      topic: props.opsTopic,
      subject: "{% 'Curation failed: ' & $dt & ' ' & $hour & ':00 UTC' %}",
      message: sfn.TaskInput.fromText(
        "{% $string({'event': 'curation failed', 'dt': $dt, 'hour': $hour, 'error': $states.input.Error, 'cause': $states.input.Cause, 'execution': $states.context.Execution.Id}) %}",
      ),
    }).next(failed);
    const countsDiffer = sfn.Pass.jsonata(this, 'CountsDiffer', {
      outputs: {
        Error: 'CountMismatch',
        Cause:
          "{% 'curated_readings holds ' & $states.input.curatedReadings & ' readings of the hour, the lake ' & $states.input.lakeReadings %}",
      },
    }).next(notifyFailure);

    const throttled = ['Athena.TooManyRequestsException', 'S3.SdkClientException'];
    for (const task of [listCurated, curate, countRows, readCounts]) {
      task.addRetry({ errors: throttled, interval: Duration.seconds(10), maxAttempts: 3, backoffRate: 2 });
      task.addCatch(notifyFailure, { errors: ['States.ALL'] });
    }
    deleteCurated.addCatch(notifyFailure, { errors: ['States.ALL'] });
    notifyCurated.addRetry({ maxAttempts: 3 });

    const definition = lastClosedHour
      .next(statements)
      .next(listCurated)
      .next(
        sfn.Choice.jsonata(this, 'AnythingCurated')
          .when(
            sfn.Condition.jsonata('{% $count($states.input.keys) > 0 %}'),
            deleteCurated.next(listCurated),
          )
          .otherwise(
            curate
              .next(countRows)
              .next(readCounts)
              .next(
                sfn.Choice.jsonata(this, 'CountsMatch')
                  .when(
                    sfn.Condition.jsonata('{% $states.input.curatedReadings = $states.input.lakeReadings %}'),
                    notifyCurated,
                  )
                  .otherwise(countsDiffer),
              ),
          ),
      );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${props.namePrefix}sensor-pipeline-curation`,
      comment: 'Moves the last closed hour of the CSV lake into curated_readings (Parquet), checks, notifies',
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      role: this.role.withoutPolicyUpdates(),
      timeout: CURATION_TIMEOUT,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    // A few minutes past each hour, for the hour before: the event's `time` is the input.
    this.rule = new events.Rule(this, 'Schedule', {
      ruleName: `${props.namePrefix}sensor-pipeline-curation`,
      description: `Curates the last closed hour, ${props.delayMinutes} minutes past each hour`,
      schedule: events.Schedule.cron({ minute: String(props.delayMinutes) }),
      targets: [new targets.SfnStateMachine(this.stateMachine, { retryAttempts: 3 })],
    });

    // Failed, timed-out or aborted executions: the catch above publishes most failures itself; this
    // alarm covers the others (an input the first states cannot read, a timeout).
    const metric = (name: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName: name,
        dimensionsMap: { StateMachineArn: this.stateMachine.stateMachineArn },
        statistic: 'Sum',
        period: Duration.hours(1),
      });
    this.failureAlarm = new cloudwatch.Alarm(this, 'FailedAlarm', {
      alarmName: `${props.namePrefix}sensor-pipeline-curation-failed`,
      alarmDescription:
        'An hourly curation failed, timed out or was aborted: its hour is still read from the CSV lake, which expires after lakeRetentionDays. Re-run it (docs/lake.md).',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: {
          failed: metric('ExecutionsFailed'),
          timedOut: metric('ExecutionsTimedOut'),
          aborted: metric('ExecutionsAborted'),
        },
        period: Duration.hours(1),
        label: 'Curation executions failed',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureAlarm.addAlarmAction(new actions.SnsAction(props.opsTopic));
  }

  /**
   * The role's statements, every one written here (the state machine gets the role without policy
   * updates, so no task adds a wider one): Athena in the workgroup; the catalog of the two tables; the
   * CSV lake read; the curated zone listed, written and emptied; the query results; the two topics and
   * their key; the log delivery and X-Ray tracing of the state machine.
   */
  private addRolePolicy(stack: Stack, props: CurationProps, lakePrefix: string, curated: string): void {
    const bucket = props.processedBucket;
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName });
    const statements = [
      new iam.PolicyStatement({
        sid: 'RunTheCurationQueriesInTheWorkGroup',
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
        ],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workGroupName }),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheCatalogOfTheTwoTables',
        actions: ['glue:GetDatabase', 'glue:GetTable'],
        resources: [
          glueArn('catalog'),
          glueArn('database', props.databaseName),
          glueArn('table', `${props.databaseName}/processed_readings`),
          glueArn('table', `${props.databaseName}/curated_readings`),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheCsvLake',
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${lakePrefix}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'WriteAndEmptyTheCuratedZone',
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: [bucket.arnForObjects(`${curated}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ListTheLakeAndTheCuratedZone',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${lakePrefix}*`, `${curated}*`] } },
      }),
      new iam.PolicyStatement({
        sid: 'WriteAndReadTheQueryResults',
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [props.resultsBucket.arnForObjects(`${RESULTS_PREFIX}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ListTheQueryResults',
        actions: ['s3:ListBucket'],
        resources: [props.resultsBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RESULTS_PREFIX}*`] } },
      }),
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation'],
        resources: [bucket.bucketArn, props.resultsBucket.bucketArn],
      }),
      new iam.PolicyStatement({
        sid: 'NotifyTheTwoTopics',
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn, props.opsTopic.topicArn],
      }),
      new iam.PolicyStatement({
        sid: 'EncryptForTheTopics',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } },
      }),
      new iam.PolicyStatement({
        sid: 'DeliverTheLogs',
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'TraceWithXRay',
        actions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        resources: ['*'],
      }),
    ];
    const policy = new iam.Policy(this, 'RolePolicy', { statements });
    policy.attachToRole(this.role);

    for (const [finding, reason] of Object.entries({
      [`Resource::${arnFinding(bucket)}/${lakePrefix}*`]:
        'Athena reads every CSV object of the hour and the hour before, under readings/: keys known only when the query runs.',
      [`Resource::${arnFinding(bucket)}/${curated}*`]:
        "UNLOAD writes the hour's Parquet under curated/ with names Athena chooses; the state machine deletes what an earlier run of the hour wrote.",
      [`Resource::${arnFinding(props.resultsBucket)}/${RESULTS_PREFIX}*`]:
        'Athena writes each query result under results/ of the results bucket, with a key known only when the query runs.',
      'Resource::*':
        'Log delivery to CloudWatch Logs and X-Ray tracing of a state machine take no resource-level permissions (Step Functions documentation).',
    })) {
      acknowledge(policy, `IAM5[${finding}]`, reason);
    }
  }
}
