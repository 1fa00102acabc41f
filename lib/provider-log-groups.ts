import { CfnResource, CustomResourceProviderBase, type IAspect, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/** Construct id of the log group given to each provider (under the provider). */
export const PROVIDER_LOG_GROUP_ID = 'Logs';

/**
 * Gives the Lambda function of each of the CDK's own custom resource providers (such as the one that
 * empties the buckets on `cdk destroy`, Custom::S3AutoDeleteObjectsCustomResourceProvider) a log group of
 * the stack, deleted with it.
 *
 * Such a function is a bare CfnResource with no LoggingConfig: at its first invocation Lambda creates
 * /aws/lambda/<function name>, outside the stack, and `cdk destroy` leaves it behind (it even writes to
 * it while the stack is being deleted). Its name is CloudFormation-generated, so rather than naming the
 * function, this points the function's LoggingConfig at a log group the stack owns. The function then
 * references the log group: CloudFormation creates the group first and deletes it last, after the
 * custom resources whose deletion invoked the function.
 */
export class ProviderLogGroups implements IAspect {
  constructor(private readonly retention: logs.RetentionDays) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CustomResourceProviderBase)) return;
    const handler = node.node.tryFindChild('Handler');
    if (!CfnResource.isCfnResource(handler) || handler.cfnResourceType !== 'AWS::Lambda::Function') return;
    if (node.node.tryFindChild(PROVIDER_LOG_GROUP_ID)) return;
    const logGroup = new logs.LogGroup(node, PROVIDER_LOG_GROUP_ID, {
      retention: this.retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The provider's role has AWSLambdaBasicExecutionRole, which may write to any log group.
    handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
  }
}
