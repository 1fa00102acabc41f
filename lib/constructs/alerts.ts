import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ALERTER_SERVICE } from '../../lambdas/shared/metrics-catalog';
import { StreamConsumerFunction } from './stream-consumer-function';

export interface AlertsProps {
  namePrefix: string;
  anomalies: kinesis.IStream;
  table: dynamodb.ITableV2;
  key: kms.IKey;
  alertEmail?: string;
  quietPeriod: Duration;
  /** New-episode alerts per minute for the whole topic; past it, one summary message. */
  alertBudgetPerMinute: number;
  readingsTtlDays: number;
  logRetention: logs.RetentionDays;
}

/** Partition key of the alerter's episode state in the table (lambdas/alerter/episode-store.ts). */
export const ALERTER_EPISODE_LEADING_KEYS = ['episode'];
/** Partition key of the alert budget's per-minute counters (lambdas/alerter/alert-budget.ts). */
export const ALERTER_BUDGET_LEADING_KEYS = ['alert-budget'];
/** Partition keys of the alert history, one a day (lambdas/alerter/episode-store.ts): only ever put. */
export const ALERTER_HISTORY_LEADING_KEYS = ['alerts#*'];

/**
 * The `alerts` topic and the alerter Lambda that publishes one message per anomaly episode, at most
 * `alertBudgetPerMinute` a minute for the whole topic and then one summary.
 */
export class Alerts extends Construct {
  readonly topic: sns.Topic;
  readonly consumer: StreamConsumerFunction;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${props.namePrefix}anomaly-alerts`,
      displayName: 'Sensor anomaly alerts',
      masterKey: props.key,
      enforceSSL: true,
    });
    if (props.alertEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));

    this.consumer = new StreamConsumerFunction(this, 'Consumer', {
      handlerFolder: 'alerter',
      description: 'Anomaly events: one alert per anomaly episode per equipment, within a per-minute budget',
      stream: props.anomalies,
      environment: {
        POWERTOOLS_SERVICE_NAME: ALERTER_SERVICE,
        ALERTS_TOPIC_ARN: this.topic.topicArn,
        READINGS_TABLE: props.table.tableName,
        QUIET_PERIOD_SECONDS: String(props.quietPeriod.toSeconds()),
        ALERT_BUDGET_PER_MINUTE: String(props.alertBudgetPerMinute),
        READINGS_TTL_DAYS: String(props.readingsTtlDays),
      },
      batchSize: 100,
      batchingWindow: Duration.seconds(1),
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      memorySize: 256,
      timeout: Duration.minutes(1),
      logRetention: props.logRetention,
      key: props.key,
    });
    this.topic.grantPublish(this.consumer.role);
    this.consumer.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ALERTER_EPISODE_LEADING_KEYS } },
      }),
    );
    // The budget's counters only ever take an atomic ADD: no read or overwrite of them is needed.
    this.consumer.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ALERTER_BUDGET_LEADING_KEYS } },
      }),
    );
    this.consumer.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ALERTER_HISTORY_LEADING_KEYS } },
      }),
    );
  }
}
