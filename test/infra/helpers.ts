import { type App, CfnElement, type PolicyValidationPluginReport, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/pipeline-app';
import type { PipelineStack } from '../../lib/pipeline-stack';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
export type Json = any;

export interface Synthesized {
  app: App;
  stack: PipelineStack;
  template: Template;
  /** The synthesized CloudFormation template as plain JSON. */
  json: Json;
}

const synthesized = new Map<string, Synthesized>();

/**
 * The pipeline app as `cdk synth -c key=value` would build it, with esbuild bundling switched off.
 * Memoized per context, so each variation is synthesized once per test file.
 *
 * The cdk-nag plugin that buildApp registers is passed over for this synth only, so a new cdk-nag
 * finding fails the cdk-nag tests (which list it) rather than every template test at once.
 */
export function synthPipeline(overrides: Record<string, unknown> = {}): Synthesized {
  const cacheKey = JSON.stringify(overrides);
  const cached = synthesized.get(cacheKey);
  if (cached) return cached;
  const { app, pipeline } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...overrides } });
  const nag = jest
    .spyOn(AwsSolutionsChecks.prototype, 'validate')
    .mockReturnValue({ success: true, violations: [] });
  let template: Template;
  try {
    template = Template.fromStack(pipeline);
  } finally {
    nag.mockRestore();
  }
  const result = { app, stack: pipeline, template, json: template.toJSON() };
  synthesized.set(cacheKey, result);
  return result;
}

/** Logical ID of the CloudFormation resource at a construct path under the stack ('Transform/Consumer/Role'). */
export function logicalIdAt(stack: Stack, path: string): string {
  let node: IConstruct = stack;
  for (const id of path.split('/')) node = node.node.findChild(id);
  const element = CfnElement.isCfnElement(node) ? node : node.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element))
    throw new Error(`${path} is not a CloudFormation resource`);
  return stack.getLogicalId(element);
}

export const ref = (logicalId: string) => ({ Ref: logicalId });
export const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/**
 * Asserts, with the assertion library's diff on failure, that the resource with this logical ID is of
 * `type` and matches `pattern` (a `hasResource` pattern: Properties, DeletionPolicy, DependsOn...).
 */
export function expectResource(json: Json, logicalId: string, type: string, pattern: Json): void {
  const resource = json.Resources?.[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId} in the template`);
  Template.fromJSON(
    { Resources: { [logicalId]: resource } },
    { skipCyclicalDependenciesCheck: true },
  ).hasResource(type, pattern);
}

/** Logical IDs of the resources of a type, with their resource JSON. */
export function resourcesOfType(json: Json, type: string): [string, Json][] {
  return Object.entries(json.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

export const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export interface IamStatement {
  /** Where the statement is: `<policy logical ID>` or `<role logical ID>.Policies[<name>]`. */
  source: string;
  /** Logical IDs of the roles the statement applies to. */
  roles: string[];
  statement: Json;
}

/** Every statement of every IAM policy of the template: AWS::IAM::Policy, managed policies and role inline policies. */
export function iamStatements(json: Json): IamStatement[] {
  const statements: IamStatement[] = [];
  const roleIds = (roles: Json) =>
    asArray<Json>(roles)
      .map((role) => role?.Ref)
      .filter((id): id is string => typeof id === 'string');
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, policy] of resourcesOfType(json, type)) {
      for (const statement of asArray<Json>(policy.Properties.PolicyDocument?.Statement)) {
        statements.push({ source: id, roles: roleIds(policy.Properties.Roles), statement });
      }
    }
  }
  for (const [id, role] of resourcesOfType(json, 'AWS::IAM::Role')) {
    for (const inline of asArray<Json>(role.Properties?.Policies)) {
      for (const statement of asArray<Json>(inline.PolicyDocument?.Statement)) {
        statements.push({ source: `${id}.Policies[${inline.PolicyName}]`, roles: [id], statement });
      }
    }
  }
  return statements;
}

/** The IAM statements granted to one role. */
export const statementsOfRole = (json: Json, roleId: string): Json[] =>
  iamStatements(json)
    .filter((s) => s.roles.includes(roleId))
    .map((s) => s.statement);

/** Actions of a statement, as an array. */
export const actionsOf = (statement: Json): string[] => asArray<string>(statement.Action);

/** The violations of a cdk-nag report, one line per rule and resource, for readable failure messages. */
export function describeViolations(report: PolicyValidationPluginReport): string[] {
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) =>
        `${violation.ruleName} at ${resource.constructPath ?? resource.resourceLogicalId}: ${violation.description}`,
    ),
  );
}
