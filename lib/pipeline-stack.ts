import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config';
import { Alerts } from './constructs/alerts';
import { DataBucket } from './constructs/data-bucket';
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

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    const key = new kms.Key(this, 'PipelineKey', {
      description: 'Encrypts the sensor pipeline alert topic and dead-letter queues',
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

    const processedBucket = new DataBucket(this, 'ProcessedBucket', {
      retainData: config.retainData,
      expirationDays: config.dataExpirationDays,
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
      input: this.streams.input,
      anomalies: this.streams.anomalies,
      processedBucket,
      table: readings.table,
      key,
      modelPath: config.modelPath,
      scoreThreshold: config.scoreThreshold,
      readingsTtlDays: config.readingsTtlDays,
      windowLatenessSeconds: config.windowLatenessSeconds,
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
      readingsTtlDays: config.readingsTtlDays,
      logRetention,
    });

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
        'CSV objects under readings/, rejected readings under quarantine/',
      ],
      RawBucketName: [archive.bucket.bucketName, 'Raw records archived by Firehose under raw/'],
      AlertsTopicArn: [alerts.topic.topicArn, 'One message per anomaly episode'],
      TransformFunctionName: [transform.consumer.function.functionName, 'Logs: its log group below'],
      TransformLogGroupName: [transform.consumer.logGroup.logGroupName, 'Structured logs of the transform'],
      TransformDeadLetterQueueUrl: [
        transform.consumer.deadLetterQueue.queueUrl,
        'Batches the transform gave up on',
      ],
      AlerterDeadLetterQueueUrl: [alerts.consumer.deadLetterQueue.queueUrl, 'Batches the alerter gave up on'],
    };
    for (const [name, [value, description]] of Object.entries(outputs))
      new CfnOutput(this, name, { value, description });
  }
}
