import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readPipelineConfig, readSimulatorConfig } from './config';
import { PipelineStack } from './pipeline-stack';
import { SimulatorStack } from './simulator-stack';

/** The CDK app: the stacks, and the cdk-nag AwsSolutions checks that run on every synth. */
export function buildApp(props: AppProps = {}): {
  app: App;
  pipeline: PipelineStack;
  simulator: SimulatorStack;
} {
  const app = new App(props);
  const read = (key: string) => app.node.tryGetContext(key);
  const config = readPipelineConfig(read);
  const simulatorConfig = readSimulatorConfig(read);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const pipeline = new PipelineStack(app, `${config.namePrefix}SensorPipeline`, {
    description: 'Streaming anomaly detection for manufacturing sensor data (sensor-anomaly-pipeline)',
    env,
    config,
  });
  const simulator = new SimulatorStack(app, `${config.namePrefix}SensorSimulator`, {
    description: 'Sensor simulator on EC2 feeding the SensorPipeline input stream (sensor-anomaly-pipeline)',
    env,
    config: { ...config, ...simulatorConfig },
    stream: pipeline.streams.input,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, pipeline, simulator };
}
