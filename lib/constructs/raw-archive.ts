import { type Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
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

/** Where Firehose writes in the raw bucket: records under raw/, those it could not deliver under raw-errors/. */
const RAW_DATA_ROOT = 'raw/';
const RAW_ERROR_ROOT = 'raw-errors/';
/** Keys of the raw archive, partitioned by arrival date and hour (UTC) like the processed bucket. */
export const RAW_DATA_PREFIX = `${RAW_DATA_ROOT}dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/`;
export const RAW_ERROR_PREFIX = `${RAW_ERROR_ROOT}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/`;

/**
 * The S3 actions Firehose needs to deliver to a bucket, as the Firehose developer guide lists them
 * ("Grant Firehose access to an Amazon S3 destination"): nothing that deletes, nothing on the bucket's
 * settings. Those on the bucket, then those on its objects.
 */
const FIREHOSE_S3_BUCKET_ACTIONS = ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'];
const FIREHOSE_S3_OBJECT_ACTIONS = ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'];

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
    // The role Firehose delivers to S3 with. The S3 destination of aws-cdk-lib grants its role
    // bucket.grantReadWrite (s3:DeleteObject*, s3:PutObject* and more, on every key), so it is given
    // this role without policy updates, which drops that grant (and its logging grant); the role gets
    // the documented delivery actions here instead, on raw/ and raw-errors/ only. The archive holds the
    // only copy of every input: what writes it must not be able to delete it.
    const deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com'),
      description: 'Firehose raw archive: write raw records to the raw bucket, never delete them',
    });
    deliveryRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LocateAndListArchiveBucket',
        actions: FIREHOSE_S3_BUCKET_ACTIONS,
        resources: [this.bucket.bucketArn],
      }),
    );
    deliveryRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteRawObjects',
        actions: FIREHOSE_S3_OBJECT_ACTIONS,
        resources: [RAW_DATA_ROOT, RAW_ERROR_ROOT].map((root) => this.bucket.arnForObjects(`${root}*`)),
      }),
    );
    logGroup.grantWrite(deliveryRole);

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
        role: deliveryRole.withoutPolicyUpdates(),
      }),
    });
    // Firehose checks its role's permissions when the stream is created: the policy must exist first.
    this.deliveryStream.node.addDependency(deliveryRole);
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
    for (const root of [RAW_DATA_ROOT, RAW_ERROR_ROOT]) {
      acknowledge(
        deliveryRole,
        `IAM5[Resource::${arnFinding(this.bucket)}/${root}*]`,
        `Firehose writes objects under ${root} of its own archive bucket, with keys known only at delivery time.`,
      );
    }
  }
}
