import { type App, CfnElement, type PolicyValidationPluginReport, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/pipeline-app';
import type { PipelineStack } from '../../lib/pipeline-stack';
import type { SimulatorStack } from '../../lib/simulator-stack';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
export type Json = any;

export interface Synthesized<S extends Stack = PipelineStack> {
  app: App;
  stack: S;
  template: Template;
  /** The synthesized CloudFormation template as plain JSON. */
  json: Json;
}

type BuiltApp = ReturnType<typeof buildApp>;

const synthesizedApps = new Map<string, BuiltApp>();

/**
 * The app as `cdk synth -c key=value` would build it, with asset bundling (esbuild) switched off.
 * Memoized per context, so each variation is synthesized once per test file.
 *
 * The cdk-nag plugin that buildApp registers is passed over for this synth only, so a new cdk-nag
 * finding fails the cdk-nag tests (which list it) rather than every template test at once.
 */
export function synthApp(overrides: Record<string, unknown> = {}): BuiltApp {
  const cacheKey = JSON.stringify(overrides);
  const cached = synthesizedApps.get(cacheKey);
  if (cached) return cached;
  const built = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...overrides } });
  const nag = jest
    .spyOn(AwsSolutionsChecks.prototype, 'validate')
    .mockReturnValue({ success: true, violations: [] });
  try {
    built.app.synth();
  } finally {
    nag.mockRestore();
  }
  synthesizedApps.set(cacheKey, built);
  return built;
}

const templates = new Map<Stack, Synthesized<Stack>>();

function synthesized<S extends Stack>(app: App, stack: S): Synthesized<S> {
  const cached = templates.get(stack);
  if (cached) return cached as Synthesized<S>;
  // From the assembly synthApp made: Template.fromStack reuses it (no second synth, no cdk-nag run).
  const template = Template.fromStack(stack);
  const result = { app, stack, template, json: template.toJSON() };
  templates.set(stack, result);
  return result;
}

/** The pipeline stack of synthApp(overrides). */
export function synthPipeline(overrides: Record<string, unknown> = {}): Synthesized<PipelineStack> {
  const { app, pipeline } = synthApp(overrides);
  return synthesized(app, pipeline);
}

/** The simulator stack of synthApp(overrides). */
export function synthSimulator(overrides: Record<string, unknown> = {}): Synthesized<SimulatorStack> {
  const { app, simulator } = synthApp(overrides);
  return synthesized(app, simulator);
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
