import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface ReadingsTableProps {
  namePrefix: string;
  billingMode: 'on-demand' | 'provisioned';
  readCapacity: number;
  writeCapacity: number;
  pointInTimeRecovery: boolean;
  retainData: boolean;
}

/** Name of the attribute holding each item's expiry (epoch seconds); DynamoDB deletes expired items. */
export const TTL_ATTRIBUTE = 'expires_at';

/**
 * The JSON documents of the readings (one per Kinesis record), the newest-reading markers and the
 * alerter's episode state. Keys are generic (pk, sk): see lambdas/shared/documents.ts for their layout.
 */
export class ReadingsTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: ReadingsTableProps) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: `${props.namePrefix}sensor-readings`,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      billing:
        props.billingMode === 'on-demand'
          ? dynamodb.Billing.onDemand()
          : dynamodb.Billing.provisioned({
              readCapacity: dynamodb.Capacity.fixed(props.readCapacity),
              writeCapacity: dynamodb.Capacity.autoscaled({
                maxCapacity: props.writeCapacity * 4,
                minCapacity: props.writeCapacity,
              }),
            }),
      encryption: dynamodb.TableEncryptionV2.dynamoOwnedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery },
      deletionProtection: props.retainData,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}
