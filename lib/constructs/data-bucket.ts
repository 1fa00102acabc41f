import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct, IDependable } from 'constructs';

export interface DataBucketProps {
  /** Keep the bucket and its objects when the stack is destroyed. */
  retainData: boolean;
  /** Objects are deleted this many days after they are written. */
  expirationDays: number;
  /**
   * Objects under these prefixes are deleted sooner (S3 applies the shorter of overlapping expirations):
   * the CSV lake once the curated zone holds its hours.
   */
  prefixExpirations?: { id: string; prefix: string; days: number }[];
}

/**
 * A private data bucket: public access blocked, TLS 1.2+ only, encrypted, objects expiring, and by
 * default emptied and deleted by `cdk destroy`.
 */
export class DataBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id, {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [
        { id: 'expire-data', expiration: Duration.days(props.expirationDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...(props.prefixExpirations ?? []).map(({ id, prefix, days }) => ({
          id,
          prefix,
          expiration: Duration.days(days),
        })),
      ],
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !props.retainData,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would need a log bucket of their own, which cdk destroy cannot reliably empty while late log deliveries keep arriving; object-level auditing is available through CloudTrail data events.',
    });
  }

  /**
   * What empties the bucket on `cdk destroy` (absent when data is retained). Writers of the bucket
   * should depend on it, so they are deleted before it runs and cannot refill the bucket.
   */
  get emptier(): IDependable | undefined {
    return this.node.tryFindChild('AutoDeleteObjectsCustomResource');
  }
}
