import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  GITHUB_DEPLOY_ROLE_STACK,
  type GithubDeployRoleStack,
  readGithubDeployRoleConfig,
} from '../../lib/github-deploy-role-stack';
import { buildApp } from '../../lib/pipeline-app';
import {
  describeViolations,
  iamStatements,
  type Json,
  logicalIdAt,
  resourcesOfType,
  synthApp,
} from './helpers';

const REPOSITORY = 'octo-org/sensor-anomaly-pipeline';
const WITH_ROLE = { githubRepository: REPOSITORY };
const EXISTING_PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';

function deployRoleOf(context: Record<string, unknown>) {
  const { app, deployRole } = synthApp(context);
  if (!deployRole) throw new Error('no GithubDeployRole stack');
  return { app, stack: deployRole, json: Template.fromStack(deployRole).toJSON() as Json };
}

/** A CloudFormation string value as text: Refs as ${Name}, Fn::Join joined. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value?.Ref) return `\${${value.Ref}}`;
  if (value?.['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return (parts as Json[]).map(render).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function roleOf(stack: GithubDeployRoleStack, json: Json): { id: string; role: Json } {
  const id = logicalIdAt(stack, 'DeployRole');
  return { id, role: json.Resources[id] };
}

describe('the GithubDeployRole stack', () => {
  test('is not created without the githubRepository context value: cdk deploy --all holds the pipeline and the simulator only', () => {
    const { app, deployRole } = synthApp();
    expect(deployRole).toBeUndefined();
    expect(app.node.tryFindChild(GITHUB_DEPLOY_ROLE_STACK)).toBeUndefined();
    expect(
      app
        .synth()
        .stacks.map((s) => s.stackName)
        .sort(),
    ).toEqual(['SensorPipeline', 'SensorSimulator']);
  });

  test('with githubRepository, is a stack of its own, independent of the pipeline stacks', () => {
    const { app, stack } = deployRoleOf(WITH_ROLE);
    expect(stack.stackName).toBe('GithubDeployRole');
    const assembly = app.synth();
    const stackIds = assembly.stacks.map((s) => s.id);
    const dependencies = assembly.getStackArtifact(stack.artifactId).dependencies.map((d) => d.id);
    expect(dependencies.filter((id) => stackIds.includes(id))).toEqual([]);
  });

  test('holds exactly the GitHub OIDC provider and the role: no custom resource, no Lambda function', () => {
    const { json } = deployRoleOf(WITH_ROLE);
    const types = Object.values(json.Resources as Record<string, Json>)
      .map((r) => r.Type)
      .sort();
    expect(types).toEqual(['AWS::IAM::OIDCProvider', 'AWS::IAM::Role']);
    const [[, provider]] = resourcesOfType(json, 'AWS::IAM::OIDCProvider');
    // IAM trusts GitHub's certificate authority itself: no thumbprint pinned.
    expect(provider.Properties).toEqual({
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
  });

  test('the trust policy accepts only tokens for sts.amazonaws.com from the repository main branch, exactly', () => {
    const { stack, json } = deployRoleOf(WITH_ROLE);
    const { role } = roleOf(stack, json);
    const [[providerId]] = resourcesOfType(json, 'AWS::IAM::OIDCProvider');
    expect(role.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRoleWithWebIdentity',
          Principal: { Federated: { Ref: providerId } },
          Condition: {
            StringEquals: {
              'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
              'token.actions.githubusercontent.com:sub': `repo:${REPOSITORY}:ref:refs/heads/main`,
            },
          },
        },
      ],
    });
    expect(role.Properties.MaxSessionDuration).toBe(3600);
  });

  test('its only permission is to assume (and tag sessions of) the four CDK bootstrap roles of its account and region', () => {
    const { stack, json } = deployRoleOf(WITH_ROLE);
    const { id, role } = roleOf(stack, json);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.PermissionsBoundary).toBeUndefined();
    // Every IAM statement of the template: the role's inline policy, nothing else anywhere.
    const statements = iamStatements(json);
    expect(statements.map((s) => s.roles)).toEqual([[id]]);
    const [{ statement }] = statements;
    const account = render(stack.resolve(stack.account));
    const region = render(stack.resolve(stack.region));
    expect(statement.Effect).toBe('Allow');
    expect(statement.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    expect(statement.Condition).toBeUndefined();
    expect(statement.NotResource).toBeUndefined();
    expect((statement.Resource as Json[]).map(render)).toEqual(
      ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(
        (name) =>
          `arn:\${AWS::Partition}:iam::${account}:role/cdk-hnb659fds-${name}-role-${account}-${region}`,
      ),
    );
    // Named one by one: no wildcard that the cfn-exec role (CloudFormation's own) would match.
    expect(JSON.stringify(statement.Resource)).not.toContain('*');
  });

  test('githubBranch sets the trusted subject; a custom bootstrap qualifier names the bootstrap roles', () => {
    const { stack, json } = deployRoleOf({
      ...WITH_ROLE,
      githubBranch: 'release/1.x',
      '@aws-cdk/core:bootstrapQualifier': 'custom123',
    });
    const { role } = roleOf(stack, json);
    expect(
      role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals[
        'token.actions.githubusercontent.com:sub'
      ],
    ).toBe(`repo:${REPOSITORY}:ref:refs/heads/release/1.x`);
    const [{ statement }] = iamStatements(json);
    for (const arn of (statement.Resource as Json[]).map(render))
      expect(arn).toContain(':role/cdk-custom123-');
    expect(json.Outputs.TrustedSubject.Value).toBe(`repo:${REPOSITORY}:ref:refs/heads/release/1.x`);
  });

  test("with githubOidcProviderArn it trusts the account's existing provider and creates none", () => {
    const { stack, json } = deployRoleOf({ ...WITH_ROLE, githubOidcProviderArn: EXISTING_PROVIDER });
    expect(resourcesOfType(json, 'AWS::IAM::OIDCProvider')).toEqual([]);
    const { role } = roleOf(stack, json);
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Federated: EXISTING_PROVIDER,
    });
  });

  test('outputs the role ARN for the AWS_DEPLOY_ROLE_ARN repository variable', () => {
    const { stack, json } = deployRoleOf(WITH_ROLE);
    expect(json.Outputs.DeployRoleArn.Value).toEqual({ 'Fn::GetAtt': [roleOf(stack, json).id, 'Arn'] });
  });

  test.each<[string, Record<string, string>]>([
    ['a new OIDC provider', {}],
    ['the existing OIDC provider', { githubOidcProviderArn: EXISTING_PROVIDER }],
  ])('passes every cdk-nag AwsSolutions rule (%s)', (_name, extra) => {
    const { app } = deployRoleOf({ ...WITH_ROLE, ...extra });
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(describeViolations(report)).toEqual([]);
  });
});

describe('context validation', () => {
  const read = (context: Record<string, unknown>) => (key: string) => context[key];

  test('no githubRepository, no stack; the branch defaults to main', () => {
    expect(readGithubDeployRoleConfig(read({}))).toBeUndefined();
    expect(readGithubDeployRoleConfig(read(WITH_ROLE))).toEqual({
      githubRepository: REPOSITORY,
      githubBranch: 'main',
    });
  });

  test.each([
    ['githubRepository', 'octo-org'],
    ['githubRepository', 'https://github.com/octo-org/sensor-anomaly-pipeline'],
    ['githubRepository', 'octo-org/sensor/extra'],
    ['githubRepository', 'octo-org/*'],
    ['githubBranch', '*'],
    ['githubBranch', 'feature/*'],
    ['githubBranch', '../main'],
    ['githubOidcProviderArn', 'arn:aws:iam::123456789012:oidc-provider/example.com'],
  ])('rejects %s=%p with an error naming the key and the value', (key, value) => {
    expect(() => readGithubDeployRoleConfig(read({ ...WITH_ROLE, [key]: value }))).toThrow(
      `${key}=${JSON.stringify(value)}`,
    );
  });

  test('githubBranch without githubRepository stops the synth rather than being ignored', () => {
    expect(() => buildApp({ context: { githubBranch: 'main' } })).toThrow(
      'githubBranch given without githubRepository',
    );
  });
});
