import { CfnOutput, DefaultStackSynthesizer, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { z } from 'zod';

/**
 * The role GitHub Actions deploys with (.github/workflows/deploy.yml and destroy.yml), and the GitHub
 * OIDC identity provider it is trusted through. An administrator deploys this stack once, with their own
 * credentials:
 *
 *   npx cdk deploy GithubDeployRole -c githubRepository=owner/name
 *
 * It exists only when the context value `githubRepository` is set, so `cdk deploy --all` and
 * `cdk destroy --all` (as the workflows run them, without it) never touch the role they run as.
 *
 * The role can do one thing: assume the CDK bootstrap roles of this account and region (deploy,
 * file-publishing, image-publishing, lookup), which hold the permissions a CDK deployment needs; no
 * credential of the workflow can reach anything else directly.
 */

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
export const GITHUB_OIDC_URL = `https://${GITHUB_OIDC_HOST}`;
/** The audience configure-aws-credentials asks GitHub's tokens for. */
export const STS_AUDIENCE = 'sts.amazonaws.com';
/** The roles `cdk bootstrap` creates, which the CDK CLI assumes: cdk-<qualifier>-<name>-role-<account>-<region>. */
export const CDK_BOOTSTRAP_ROLES = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;
/** Context key of a custom bootstrap qualifier (`cdk bootstrap --qualifier`), as the CDK itself reads it. */
export const BOOTSTRAP_QUALIFIER_CONTEXT = '@aws-cdk/core:bootstrapQualifier';

export const GITHUB_DEPLOY_ROLE_STACK = 'GithubDeployRole';

const BRANCH = /^(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*\/$)[A-Za-z0-9._/-]{1,255}$/;

export const githubDeployRoleContextSchema = z.object({
  /** owner/name of the only repository whose workflows may assume the role. */
  githubRepository: z
    .string()
    .regex(
      /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/,
      'must be owner/name, such as octo-org/sensor-anomaly-pipeline',
    ),
  /** The only branch whose workflow runs may assume the role (the token's sub is matched exactly). */
  githubBranch: z
    .string()
    .regex(BRANCH, 'must be a branch name such as main or release/1.x (no wildcards)')
    .default('main'),
  /**
   * The account's existing GitHub OIDC provider (an account holds one per URL): when set, the stack
   * trusts it instead of creating one.
   */
  githubOidcProviderArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/,
      'must be the ARN of an IAM OIDC provider for token.actions.githubusercontent.com',
    )
    .optional(),
});

export type GithubDeployRoleConfig = z.infer<typeof githubDeployRoleContextSchema>;

/**
 * The deploy role's settings from context, or undefined when `githubRepository` is not set (no stack).
 * Bad values stop the synth with a message naming them, as lib/config.ts does.
 */
export function readGithubDeployRoleConfig(
  read: (key: string) => unknown,
): GithubDeployRoleConfig | undefined {
  const keys = Object.keys(githubDeployRoleContextSchema.shape);
  const raw = Object.fromEntries(keys.map((key) => [key, read(key)]).filter(([, v]) => v !== undefined));
  if (raw.githubRepository === undefined) {
    const orphans = Object.keys(raw);
    if (orphans.length > 0)
      throw new Error(`invalid CDK context:\n  ${orphans.join(', ')} given without githubRepository`);
    return undefined;
  }
  const parsed = githubDeployRoleContextSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      return `context value ${key}=${JSON.stringify(raw[key])}: ${issue.message}`;
    });
    throw new Error(`invalid CDK context:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

export interface GithubDeployRoleStackProps extends StackProps, GithubDeployRoleConfig {
  /** Qualifier of the CDK bootstrap roles (default hnb659fds, as `cdk bootstrap` creates them). */
  bootstrapQualifier?: string;
}

export class GithubDeployRoleStack extends Stack {
  readonly provider: iam.IOidcProvider;
  readonly role: iam.Role;
  /** The token subject the role trusts: `repo:<owner/name>:ref:refs/heads/<branch>`. */
  readonly subject: string;

  constructor(scope: Construct, id: string, props: GithubDeployRoleStackProps) {
    super(scope, id, props);
    const qualifier = props.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;

    // Native AWS::IAM::OIDCProvider (no custom resource); IAM trusts GitHub's certificate authority
    // itself, so no thumbprint is pinned.
    this.provider = props.githubOidcProviderArn
      ? iam.OidcProviderNative.fromOidcProviderArn(this, 'GithubOidcProvider', props.githubOidcProviderArn)
      : new iam.OidcProviderNative(this, 'GithubOidcProvider', {
          url: GITHUB_OIDC_URL,
          clientIds: [STS_AUDIENCE],
        });

    // A push to the branch, or a run started by hand on it. A job with a GitHub `environment:` gets
    // another subject (repo:<owner/name>:environment:<name>) and is refused: the workflows use none.
    this.subject = `repo:${props.githubRepository}:ref:refs/heads/${props.githubBranch}`;
    const bootstrapRoleArns = CDK_BOOTSTRAP_ROLES.map((name) =>
      this.formatArn({
        service: 'iam',
        region: '',
        resource: 'role',
        resourceName: `cdk-${qualifier}-${name}-role-${this.account}-${this.region}`,
      }),
    );
    this.role = new iam.Role(this, 'DeployRole', {
      description: `GitHub Actions of ${props.githubRepository} (${props.githubBranch}): assumes the CDK bootstrap roles to deploy`,
      assumedBy: new iam.WebIdentityPrincipal(this.provider.openIdConnectProviderArn, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: STS_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: this.subject,
        },
      }),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        AssumeCdkBootstrapRoles: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'AssumeCdkBootstrapRoles',
              // TagSession: the bootstrap roles trust it too, and the CLI tags its sessions when a
              // stack synthesizer asks for session tags.
              actions: ['sts:AssumeRole', 'sts:TagSession'],
              resources: bootstrapRoleArns,
            }),
          ],
        }),
      },
    });

    new CfnOutput(this, 'DeployRoleArn', {
      value: this.role.roleArn,
      description: 'Set it as the repository variable AWS_DEPLOY_ROLE_ARN',
    });
    new CfnOutput(this, 'OidcProviderArn', {
      value: this.provider.openIdConnectProviderArn,
      description: 'The GitHub OIDC provider of the account',
    });
    new CfnOutput(this, 'TrustedSubject', {
      value: this.subject,
      description: 'The only GitHub token subject the role accepts',
    });
  }
}
