import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';

export interface SensorStreamsProps {
  namePrefix: string;
  mode: 'provisioned' | 'on-demand';
  inputShardCount: number;
  anomaliesShardCount: number;
  retentionHours: number;
}

/** The input stream of sensor readings and the output stream of anomaly events. */
export class SensorStreams extends Construct {
  readonly input: kinesis.Stream;
  readonly anomalies: kinesis.Stream;

  constructor(scope: Construct, id: string, props: SensorStreamsProps) {
    super(scope, id);
    const stream = (streamId: string, streamName: string, shardCount: number) =>
      new kinesis.Stream(this, streamId, {
        streamName,
        streamMode:
          props.mode === 'on-demand' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
        shardCount: props.mode === 'on-demand' ? undefined : shardCount,
        retentionPeriod: Duration.hours(props.retentionHours),
        // The AWS managed key: a customer key bills KMS calls that grow with producers and consumers.
        encryption: kinesis.StreamEncryption.MANAGED,
        // Streams are retained by default; a destroyed pipeline must not leave them billing.
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.input = stream('Input', `${props.namePrefix}sensor-readings`, props.inputShardCount);
    this.anomalies = stream('Anomalies', `${props.namePrefix}anomalies`, props.anomaliesShardCount);
  }
}
