import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface SimulatorNetworkProps {
  logRetention: logs.RetentionDays;
}

/**
 * The simulator's network: one public subnet in one availability zone, no NAT gateway (the instance
 * reaches Kinesis, S3 and Systems Manager through the internet gateway, over HTTPS), and flow logs to a
 * log group that `cdk destroy` deletes.
 */
export class SimulatorNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly flowLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SimulatorNetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/24'),
      maxAzs: 1,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26 }],
      // Restricting the default security group deploys a custom-resource Lambda function whose log group
      // outlives `cdk destroy`; nothing here uses the default group (the instance has its own).
      restrictDefaultSecurityGroup: false,
    });

    this.flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // One instance with a few long-lived HTTPS connections: a handful of flow records per 10 minutes.
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
      maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
    });
  }
}
