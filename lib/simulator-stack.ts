import { CfnOutput, CrossStackReferences, Fn, ReferenceStrength, Stack, type StackProps } from 'aws-cdk-lib';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig, SimulatorConfig } from './config';
import { SimulatorBundle } from './constructs/simulator-bundle';
import { SimulatorHost } from './constructs/simulator-host';
import { SimulatorNetwork } from './constructs/simulator-network';
import { SIMULATOR_SERVICE } from './constructs/simulator-user-data';

export interface SimulatorStackProps extends StackProps {
  config: PipelineConfig & SimulatorConfig;
  /** The pipeline's input stream (a cross-stack reference: this stack is deployed after it, destroyed before it). */
  stream: kinesis.IStream;
}

/** The sensor simulator on EC2, feeding the pipeline's input stream: wiring only. */
export class SimulatorStack extends Stack {
  readonly host: SimulatorHost;

  constructor(scope: Construct, id: string, props: SimulatorStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Export and import: CloudFormation itself refuses to delete the pipeline (and its stream) while
    // this stack uses it; `cdk destroy --all` removes this stack first.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);

    const network = new SimulatorNetwork(this, 'Network', {
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    const bundle = new SimulatorBundle(this, 'Bundle');
    this.host = new SimulatorHost(this, 'Simulator', {
      vpc: network.vpc,
      stream: props.stream,
      bundle: bundle.asset,
      instanceType: config.simulatorInstanceType,
      rate: config.simulatorRate,
      start: config.simulatorStart,
      schemaFile: config.schemaFile,
      keyPairName: config.simulatorKeyPair,
      sshCidr: config.simulatorSshCidr,
    });

    const instanceId = this.host.instance.instanceId;
    const outputs: Record<string, [string, string]> = {
      SimulatorInstanceId: [instanceId, 'The EC2 instance running the sensor-simulator service'],
      SessionCommand: [
        `aws ssm start-session --target ${instanceId} --region ${this.region}`,
        'Open a shell on the instance (AWS CLI with the Session Manager plugin); no inbound port needed',
      ],
      StartCommand: [`sudo systemctl start ${SIMULATOR_SERVICE}`, 'In the session: start sending readings'],
      WatchCommand: [
        `sudo journalctl -fu ${SIMULATOR_SERVICE}`,
        'In the session: follow its SENT lines (the journal of a system service needs sudo)',
      ],
      StopCommand: [
        `sudo systemctl stop ${SIMULATOR_SERVICE}`,
        'In the session: stop it; it sends what is buffered and logs its summary',
      ],
    };
    for (const [name, [value, description]] of Object.entries(outputs))
      new CfnOutput(this, name, { value, description });
  }

  /**
   * The zones as CloudFormation resolves them (Fn::GetAZs), also when the account and region are known:
   * no availability-zone lookup at synth, so synth needs no credentials and writes no cdk.context.json.
   */
  override get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }
}
