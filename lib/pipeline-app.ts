import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readPipelineConfig } from './config';
import { PipelineStack } from './pipeline-stack';

/** The CDK app: the stacks, and the cdk-nag AwsSolutions checks that run on every synth. */
export function buildApp(props: AppProps = {}): { app: App; pipeline: PipelineStack } {
  const app = new App(props);
  const config = readPipelineConfig((key) => app.node.tryGetContext(key));
  const pipeline = new PipelineStack(app, `${config.namePrefix}SensorPipeline`, {
    description: 'Streaming anomaly detection for manufacturing sensor data (sensor-anomaly-pipeline)',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    config,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, pipeline };
}
