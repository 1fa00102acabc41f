import { App, type AppProps, AspectPriority, Aspects, Validations } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readPipelineConfig, readSimulatorConfig } from './config';
import {
  BOOTSTRAP_QUALIFIER_CONTEXT,
  GITHUB_DEPLOY_ROLE_STACK,
  GithubDeployRoleStack,
  readGithubDeployRoleConfig,
} from './github-deploy-role-stack';
import { PipelineStack } from './pipeline-stack';
import { ProviderLogGroups } from './provider-log-groups';
import { SimulatorStack } from './simulator-stack';

/** The CDK app: the stacks, and the cdk-nag AwsSolutions checks that run on every synth. */
export function buildApp(props: AppProps = {}): {
  app: App;
  pipeline: PipelineStack;
  simulator: SimulatorStack;
  /** Only with the context value githubRepository: see lib/github-deploy-role-stack.ts. */
  deployRole?: GithubDeployRoleStack;
} {
  const app = new App(props);
  const read = (key: string) => app.node.tryGetContext(key);
  const config = readPipelineConfig(read);
  const simulatorConfig = readSimulatorConfig(read);
  const github = readGithubDeployRoleConfig(read);
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
  const deployRole =
    github &&
    new GithubDeployRoleStack(app, GITHUB_DEPLOY_ROLE_STACK, {
      description: 'GitHub OIDC provider and the role GitHub Actions deploys with (sensor-anomaly-pipeline)',
      env,
      ...github,
      bootstrapQualifier: read(BOOTSTRAP_QUALIFIER_CONTEXT),
    });
  // The log groups of the CDK's own custom resource functions, deleted with their stacks.
  Aspects.of(app).add(new ProviderLogGroups(config.logRetentionDays as logs.RetentionDays), {
    priority: AspectPriority.MUTATING,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, pipeline, simulator, deployRole };
}
