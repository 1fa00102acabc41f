import { type Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, arnFinding } from '../nag';
import { DataBucket } from './data-bucket';

export interface RawArchiveProps {
  namePrefix: string;
  source: kinesis.IStream;
  retainData: boolean;
  expirationDays: number;
  bufferInterval: Duration;
  bufferSizeMiB: number;
  logRetention: logs.RetentionDays;
}

/** Keys of the raw archive, partitioned by arrival date and hour (UTC) like the processed bucket. */
export const RAW_DATA_PREFIX = 'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/';
export const RAW_ERROR_PREFIX =
  'raw-errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/';

/** Firehose copying every raw record of the input stream, GZIP-compressed, one per line, into S3. */
export class RawArchive extends Construct {
  readonly bucket: DataBucket;
  readonly deliveryStream: firehose.DeliveryStream;

  constructor(scope: Construct, id: string, props: RawArchiveProps) {
    super(scope, id);
    this.bucket = new DataBucket(this, 'Bucket', {
      retainData: props.retainData,
      expirationDays: props.expirationDays,
    });
    // Created here rather than by the destination, which would leave a retained log group behind.
    const logGroup = new logs.LogGroup(this, 'DeliveryLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deliveryStream = new firehose.DeliveryStream(this, 'DeliveryStream', {
      deliveryStreamName: `${props.namePrefix}sensor-readings-archive`,
      source: new firehose.KinesisStreamSource(props.source),
      destination: new firehose.S3Bucket(this.bucket, {
        dataOutputPrefix: RAW_DATA_PREFIX,
        errorOutputPrefix: RAW_ERROR_PREFIX,
        compression: firehose.Compression.GZIP,
        bufferingInterval: props.bufferInterval,
        bufferingSize: Size.mebibytes(props.bufferSizeMiB),
        processors: [new firehose.AppendDelimiterToRecordProcessor()],
        loggingConfig: new firehose.EnableLogging(logGroup),
      }),
    });
    // Delete the delivery stream before the bucket is emptied, or its last deliveries can refill it.
    if (this.bucket.emptier) this.deliveryStream.node.addDependency(this.bucket.emptier);

    // The Firehose module adds a mapping of its service CIDR blocks, used by destinations in a VPC only.
    Validations.of(Stack.of(this)).acknowledge({
      id: 'CloudFormation-Validate::W7001',
      reason:
        'Unused mapping of Firehose CIDR blocks that aws-cdk-lib adds to every stack with a delivery stream.',
    });
    acknowledge(
      this.deliveryStream,
      'KDF1',
      'Firehose server-side encryption applies to Direct PUT only; with a Kinesis stream source the data is encrypted by the stream and in the bucket (SSE-S3).',
    );
    const grantReason =
      'The S3 destination grant of aws-cdk-lib: delivering needs these on the archive bucket, and only there.';
    for (const action of ['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*']) {
      acknowledge(this.deliveryStream, `IAM5[Action::${action}]`, grantReason);
    }
    acknowledge(
      this.deliveryStream,
      `IAM5[Resource::${arnFinding(this.bucket)}/*]`,
      'Firehose writes objects under its own archive bucket, with keys known only at delivery time.',
    );
  }
}
