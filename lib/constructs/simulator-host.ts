import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { simulatorUserData } from './simulator-user-data';

export interface SimulatorHostProps {
  vpc: ec2.IVpc;
  /** The stream the simulator puts readings on: the only data the instance may write. */
  stream: kinesis.IStream;
  /** The simulator bundle: the only object the instance may read. */
  bundle: s3assets.Asset;
  /** An arm64 (Graviton) instance type: t4g.small. */
  instanceType: string;
  /** Readings per second. */
  rate: number;
  /** Start the service at deploy time and at every boot. */
  start: boolean;
  /** The reading schema's file, when the deployment has one: the simulator sends readings of it. */
  schemaFile?: string;
  /** An existing key pair, for SSH from `sshCidr`; without it there is no inbound rule at all. */
  keyPairName?: string;
  sshCidr?: string;
}

/**
 * The EC2 instance that runs the simulator as the `sensor-simulator` systemd service: Amazon Linux 2023
 * on arm64, IMDSv2 only, an encrypted root volume, reached through Session Manager (no inbound rule
 * unless SSH is asked for), and a role that may put records on one stream and read one object.
 */
export class SimulatorHost extends Construct {
  readonly instance: ec2.Instance;
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SimulatorHostProps) {
    super(scope, id);
    if ((props.keyPairName === undefined) !== (props.sshCidr === undefined)) {
      throw new Error('SimulatorHost: keyPairName and sshCidr go together (SSH needs both)');
    }
    if (props.sshCidr?.endsWith('/0')) {
      throw new Error(`SimulatorHost: SSH from ${props.sshCidr} (the whole internet) is refused`);
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Sensor simulator instance: Session Manager, put records on the input stream',
    });
    // Session Manager, and nothing else of Systems Manager: the statement AWS documents for a
    // Session-Manager-only instance profile (the AWSCloud9SSMInstanceProfile managed policy), written
    // inline instead of attaching AmazonSSMManagedInstanceCore, which would also let the instance read
    // every parameter of the account (ssm:GetParameter/GetParameters on *) and take Run Command, State
    // Manager, Inventory and Patch Manager work (ec2messages:*, ssm:*Association*, ssm:PutInventory...).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SessionManager',
        actions: [
          'ssm:UpdateInstanceInformation',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        resources: ['*'],
      }),
    );
    acknowledge(
      this.role,
      'IAM5[Resource::*]',
      'Session Manager agent actions only: the ssmmessages channel actions have no resource type to scope to, ' +
        'and ssm:UpdateInstanceInformation names this instance, whose ARN its own role cannot reference ' +
        '(the instance depends on the role).',
    );
    // The simulator calls PutRecords only (lambdas/shared/aws/kinesis-writes.ts); PutRecord is for a
    // one-off `aws kinesis put-record` from a session. No read action: the stream name is given.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PutReadings',
        actions: ['kinesis:PutRecord', 'kinesis:PutRecords'],
        resources: [props.stream.streamArn],
      }),
    );
    // The bundle object alone: Asset.grantRead would grant reading (and listing) the whole CDK assets
    // bucket, which holds every app's Lambda code in this account and region.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSimulatorBundle',
        actions: ['s3:GetObject'],
        resources: [props.bundle.bucket.arnForObjects(props.bundle.s3ObjectKey)],
      }),
    );

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Sensor simulator: no inbound rule unless SSH is configured; outbound HTTPS only',
      allowAllOutbound: false,
    });
    // Kinesis, S3, Systems Manager and the Amazon Linux repositories are all HTTPS. DNS, NTP and the
    // instance metadata service are link-local or the VPC resolver, which security groups do not filter.
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to Kinesis, S3, Systems Manager and the Amazon Linux repositories',
    );
    if (props.sshCidr) {
      this.securityGroup.addIngressRule(
        ec2.Peer.ipv4(props.sshCidr),
        ec2.Port.tcp(22),
        'SSH from simulatorSshCidr only',
      );
    }

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...simulatorUserData({
        bundleUrl: props.bundle.s3ObjectUrl,
        streamName: props.stream.streamName,
        region: Stack.of(this).region,
        rate: props.rate,
        start: props.start,
        schema: props.schemaFile
          ? { fileName: path.basename(props.schemaFile), text: readFileSync(props.schemaFile, 'utf8') }
          : undefined,
      }),
    );

    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      role: this.role,
      securityGroup: this.securityGroup,
      keyPair: props.keyPairName
        ? ec2.KeyPair.fromKeyPairName(this, 'KeyPair', props.keyPairName)
        : undefined,
      requireImdsv2: true,
      blockDevices: [
        {
          // The AL2023 AMI's root device, 8 GiB as in the AMI.
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(8, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
      userData,
      // User data runs at first boot only: a new bundle, rate or stream needs a new instance.
      userDataCausesReplacement: true,
    });
    acknowledge(
      this.instance,
      'EC28',
      'A disposable load generator: its progress is in its journal and in the input stream metrics; ' +
        '1-minute EC2 metrics would bill 7 metrics a month for nothing anyone reads.',
    );
    acknowledge(
      this.instance,
      'EC29',
      'A single disposable instance that `cdk destroy` must terminate: termination protection would fail the ' +
        "stack's deletion, and an Auto Scaling group would replace the instance ID the outputs name.",
    );
  }
}
