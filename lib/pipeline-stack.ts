import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { curatedPrefix, readingsPrefix } from '../lambdas/shared/object-keys';
import type { PipelineConfig } from './config';
import { Alerts } from './constructs/alerts';
import { Analytics } from './constructs/analytics';
import { Curation } from './constructs/curation';
import { DataBucket } from './constructs/data-bucket';
import { Monitoring } from './constructs/monitoring';
import { RawArchive } from './constructs/raw-archive';
import { ReadingsTable } from './constructs/readings-table';
import { SensorStreams } from './constructs/sensor-streams';
import { Transform } from './constructs/transform';

export interface PipelineStackProps extends StackProps {
  config: PipelineConfig;
}

/** The streaming pipeline: wiring only; each concern is a construct of its own. */
export class PipelineStack extends Stack {
  readonly streams: SensorStreams;
  readonly transform: Transform;
  readonly monitoring: Monitoring;
  readonly analytics: Analytics;
  readonly curation?: Curation;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    const key = new kms.Key(this, 'PipelineKey', {
      description: 'Encrypts the sensor pipeline alert and ops topics and dead-letter queues',
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.streams = new SensorStreams(this, 'Streams', {
      namePrefix: config.namePrefix,
      mode: config.streamMode,
      inputShardCount: config.inputShardCount,
      anomaliesShardCount: config.anomaliesShardCount,
      retentionHours: config.streamRetentionHours,
    });

    const archive = new RawArchive(this, 'RawArchive', {
      namePrefix: config.namePrefix,
      source: this.streams.input,
      retainData: config.retainData,
      expirationDays: config.dataExpirationDays,
      bufferInterval: Duration.seconds(config.rawBufferIntervalSeconds),
      bufferSizeMiB: config.rawBufferSizeMiB,
      logRetention,
    });

    // With the curated zone, the CSV lake is kept lakeRetentionDays; the curated zone, as the rest, dataExpirationDays.
    const processedBucket = new DataBucket(this, 'ProcessedBucket', {
      retainData: config.retainData,
      expirationDays: config.dataExpirationDays,
      prefixExpirations: config.curation
        ? [{ id: 'expire-csv-lake', prefix: readingsPrefix(config.schema), days: config.lakeRetentionDays }]
        : [],
    });

    const readings = new ReadingsTable(this, 'Readings', {
      namePrefix: config.namePrefix,
      billingMode: config.tableBillingMode,
      readCapacity: config.tableReadCapacity,
      writeCapacity: config.tableWriteCapacity,
      pointInTimeRecovery: config.pointInTimeRecovery,
      retainData: config.retainData,
    });

    const transform = new Transform(this, 'Transform', {
      schema: config.schema,
      schemaFile: config.schemaFile,
      input: this.streams.input,
      anomalies: this.streams.anomalies,
      processedBucket,
      table: readings.table,
      key,
      modelPath: config.modelPath,
      scoreThreshold: config.scoreThreshold,
      featureScoreThresholds: config.featureScoreThresholds,
      featureLimits: config.featureLimits,
      readingsTtlDays: config.readingsTtlDays,
      windowLatenessSeconds: config.windowLatenessSeconds,
      tableKeySuffixes: config.tableKeySuffixes,
      detectorStateSaveSeconds: config.detectorStateSaveSeconds,
      detectorHorizonMinutes: config.detectorHorizonMinutes,
      batchSize: config.transformBatchSize,
      batchingWindow: Duration.seconds(config.transformBatchingWindowSeconds),
      retryAttempts: config.transformRetryAttempts,
      maxRecordAge: Duration.seconds(config.transformMaxRecordAgeSeconds),
      memorySize: config.transformMemoryMb,
      logRetention,
    });

    const alerts = new Alerts(this, 'Alerts', {
      namePrefix: config.namePrefix,
      anomalies: this.streams.anomalies,
      table: readings.table,
      key,
      alertEmail: config.alertEmail,
      quietPeriod: Duration.seconds(config.alertQuietPeriodSeconds),
      alertBudgetPerMinute: config.alertBudgetPerMinute,
      readingsTtlDays: config.readingsTtlDays,
      logRetention,
    });

    const monitoring = new Monitoring(this, 'Monitoring', {
      namePrefix: config.namePrefix,
      key,
      input: this.streams.input,
      transform: transform.consumer,
      alerter: alerts.consumer,
      deliveryStream: archive.deliveryStream,
      schema: config.schema,
      equipment: config.dashboardEquipment,
      opsEmail: config.opsEmail,
      iteratorAgeAlarm: Duration.seconds(config.iteratorAgeAlarmSeconds),
      quarantineRateAlarm: config.quarantineRateAlarm,
      archiveFreshnessAlarm: Duration.seconds(config.archiveFreshnessAlarmSeconds),
    });

    const analytics = new Analytics(this, 'Analytics', {
      namePrefix: config.namePrefix,
      processedBucket,
      rawBucket: archive.bucket,
      bytesScannedCutoffPerQuery: Math.round(config.athenaScanLimitGb * 1e9),
      schema: config.schema,
    });
    const curation = config.curation
      ? new Curation(this, 'Curation', {
          namePrefix: config.namePrefix,
          processedBucket,
          workGroupName: analytics.workGroup.ref,
          resultsBucket: analytics.resultsBucket,
          databaseName: analytics.databaseName,
          opsTopic: monitoring.topic,
          key,
          curatedEmail: config.curatedEmail,
          delayMinutes: config.curationDelayMinutes,
          logRetention,
          schema: config.schema,
        })
      : undefined;
    this.curation = curation;
    this.transform = transform;
    this.monitoring = monitoring;
    this.analytics = analytics;

    const outputs: Record<string, [string, string]> = {
      InputStreamName: [
        this.streams.input.streamName,
        'Put sensor readings here (npm run simulate -- --target aws)',
      ],
      AnomaliesStreamName: [this.streams.anomalies.streamName, 'One event per anomalous reading'],
      ReadingsTableName: [
        readings.table.tableName,
        'JSON documents of the readings (npm run last3 -- --target aws)',
      ],
      ProcessedBucketName: [
        processedBucket.bucketName,
        `CSV objects under ${readingsPrefix(config.schema)}, rejected readings under quarantine/`,
      ],
      ReadingSchema: [
        config.schema.id,
        `The reading schema the readings follow (context readingSchema): ${config.schema.featureNames.length} features`,
      ],
      RawBucketName: [archive.bucket.bucketName, 'Raw records archived by Firehose under raw/'],
      AlertsTopicArn: [
        alerts.topic.topicArn,
        'One message per anomaly episode; past alertBudgetPerMinute, one summary a minute',
      ],
      TransformFunctionName: [transform.consumer.function.functionName, 'Logs: its log group below'],
      TransformLogGroupName: [transform.consumer.logGroup.logGroupName, 'Structured logs of the transform'],
      TransformDeadLetterQueueUrl: [
        transform.consumer.deadLetterQueue.queueUrl,
        'Batches the transform gave up on',
      ],
      AlerterDeadLetterQueueUrl: [alerts.consumer.deadLetterQueue.queueUrl, 'Batches the alerter gave up on'],
      DashboardUrl: [monitoring.dashboardUrl, 'The CloudWatch dashboard of the pipeline'],
      OpsTopicArn: [monitoring.topic.topicArn, 'The CloudWatch alarms notify this topic: subscribe to it'],
      GlueDatabaseName: [analytics.databaseName, 'Athena tables and views over the lakes (sql/)'],
      AthenaWorkGroupName: [analytics.workGroup.ref, 'Run the named queries in this workgroup'],
      AthenaQueryPolicyArn: [
        analytics.queryPolicy.managedPolicyArn,
        'Attach to whoever runs the named queries: enough for that, nothing more',
      ],
    };
    if (curation) {
      outputs.CurationStateMachineArn = [
        curation.stateMachine.stateMachineArn,
        `Curates an hour of the CSV lake into ${curatedPrefix(config.schema)} (Parquet), hourly; start it for any hour (docs/lake.md)`,
      ];
      outputs.CuratedTopicArn = [
        curation.topic.topicArn,
        '"New data curated" with the hour and its counts, once an hour: subscribe to it (context curatedEmail)',
      ];
    }
    for (const [name, [value, description]] of Object.entries(outputs))
      new CfnOutput(this, name, { value, description });
  }
}
