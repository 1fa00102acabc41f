import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag AwsSolutions finding on a construct, with the reason it is acceptable.
 * Findings of granular rules name what they apply to: `IAM5[Action::kms:ReEncrypt*]`.
 */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${finding}`, reason });
}

/** How cdk-nag names a resource's ARN in IAM5 findings: `<LogicalId.Arn>`. */
export function arnFinding(resource: IConstruct): string {
  const element = resource.node.defaultChild as CfnElement;
  return `<${Stack.of(resource).getLogicalId(element)}.Arn>`;
}
