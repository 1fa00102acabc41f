import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import {
  ALERTER_METRICS,
  ALERTER_SERVICE,
  EQUIPMENT_DIMENSION,
  EQUIPMENT_METRICS,
  featureReadingsMetric,
  featureSumMetric,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
  TRANSFORM_METRICS,
  TRANSFORM_SERVICE,
} from '../../lambdas/shared/metrics-catalog';
import type { EquipmentId } from '../../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema, type SchemaFeature } from '../../lambdas/shared/reading-schema';
import type { StreamConsumerFunction } from './stream-consumer-function';

export interface MonitoringProps {
  namePrefix: string;
  /** The stack's key: encrypts the ops topic; CloudWatch is allowed to use it for alarm notifications. */
  key: kms.IKey;
  input: kinesis.IStream;
  transform: StreamConsumerFunction;
  alerter: StreamConsumerFunction;
  deliveryStream: firehose.IDeliveryStream;
  /** The reading schema: a graph per feature, with its label and unit (the lab's by default). */
  schema?: ReadingSchema;
  /** Equipment ids the per-equipment graphs draw a line for (the schema's kind: integers or strings). */
  equipment: readonly EquipmentId[];
  opsEmail?: string;
  /** Iterator age of either event source mapping above this raises an alarm. */
  iteratorAgeAlarm: Duration;
  /** Quarantined / (valid + quarantined) readings above this raises an alarm. */
  quarantineRateAlarm: number;
  /** Firehose DeliveryToS3.DataFreshness above this raises an alarm. */
  archiveFreshnessAlarm: Duration;
}

/**
 * Every graph uses 1-minute periods: the finest the Lambda, Kinesis, SQS and Firehose metrics have,
 * and what a dashboard refreshed every 10 seconds redraws usefully.
 */
export const DASHBOARD_PERIOD = Duration.minutes(1);
/** Alarms on counts and ratios look at 5 minutes, so one small batch cannot swing them. */
const ALARM_PERIOD = Duration.minutes(5);

/** Names of the alarms, after `${namePrefix}sensor-pipeline-`. */
export const ALARM_NAMES = {
  transformIteratorAge: 'transform-iterator-age',
  alerterIteratorAge: 'alerter-iterator-age',
  transformErrors: 'transform-errors',
  transformDeadLetters: 'transform-dead-letters',
  alerterDeadLetters: 'alerter-dead-letters',
  deliveryFailures: 'archive-delivery-failures',
  deliveryFreshness: 'archive-delivery-freshness',
  quarantineRate: 'quarantine-rate',
  inputWriteThrottling: 'input-write-throttling',
} as const;
export type AlarmKey = keyof typeof ALARM_NAMES;

/**
 * The CloudWatch dashboard of the pipeline and its operational alarms, which notify the `ops` topic
 * (not the anomaly alerts topic: those are for the plant, these for whoever runs the pipeline).
 *
 * The pipeline's own metrics are read under the names, namespace and dimensions of
 * lambdas/shared/metrics-catalog.ts, which the handlers emit with. The per-equipment averages are
 * metric math over those metrics: SUM(feature sum) / SUM(readings) per period, exact whatever the batch
 * sizes (for an optional feature of the reading schema, over the readings that had it): one graph per
 * feature of the schema, titled with its label and unit. A SEARCH expression would find every equipment
 * without a list, but it returns one array of series for the sums and another for the counts, and metric
 * math has no way to pair the two by equipment_id before dividing: the averages would not be exact. So
 * each equipment is named, from context `dashboardEquipment` (default: the schema's simulation
 * equipment), integers or strings as the schema's ids are.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: Record<AlarmKey, cloudwatch.Alarm>;
  /** The dashboard in the CloudWatch console. */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.topic = new sns.Topic(this, 'OpsTopic', {
      topicName: `${props.namePrefix}pipeline-ops`,
      displayName: 'Sensor pipeline operations',
      masterKey: props.key,
      enforceSSL: true,
    });
    if (props.opsEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.opsEmail));
    allowAlarmNotifications(this.topic, props.key, stack);

    this.alarms = this.createAlarms(props);
    const notify = new actions.SnsAction(this.topic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.namePrefix}sensor-pipeline`,
      defaultInterval: Duration.hours(1),
      widgets: this.widgets(props),
    });
    this.dashboardUrl = `https://console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  private createAlarms(props: MonitoringProps): Record<AlarmKey, cloudwatch.Alarm> {
    const alarm = (key: AlarmKey, alarmProps: Omit<cloudwatch.AlarmProps, 'alarmName'>) =>
      new cloudwatch.Alarm(this, `${key[0].toUpperCase()}${key.slice(1)}Alarm`, {
        alarmName: `${props.namePrefix}sensor-pipeline-${ALARM_NAMES[key]}`,
        ...alarmProps,
      });

    const iteratorAge = (consumer: StreamConsumerFunction, name: string) => ({
      alarmDescription: `The ${name} is more than ${props.iteratorAgeAlarm.toSeconds()} s behind its stream (IteratorAge, maximum, 3 minutes running).`,
      metric: iteratorAgeOf(consumer),
      threshold: props.iteratorAgeAlarm.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // IteratorAge exists only while the mapping invokes the function. No data is an idle stream (keep
      // the OK state) or a consumer that stopped being invoked (throttled, disabled), which must not
      // pass for OK either: keep whatever state the last data put the alarm in.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    const deadLetters = (consumer: StreamConsumerFunction, name: string) => ({
      alarmDescription: `A batch the ${name} gave up on is in its dead-letter queue: read it, then replay from the raw archive or the stream.`,
      metric: consumer.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: DASHBOARD_PERIOD,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // SQS stops publishing the metrics of a queue left without API calls for about six hours, even
      // with messages in it: no data must not clear the alarm. Keep the state until a data point
      // shows the queue empty (reading or purging it makes the queue active again).
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    return {
      transformIteratorAge: alarm('transformIteratorAge', iteratorAge(props.transform, 'transform')),
      alerterIteratorAge: alarm('alerterIteratorAge', iteratorAge(props.alerter, 'alerter')),
      transformErrors: alarm('transformErrors', {
        alarmDescription:
          'The transform failed whole invocations (Lambda Errors over 5 minutes): failed batches are retried, bisected, then dead-lettered. Its log group says why.',
        metric: props.transform.function.metricErrors({
          statistic: cloudwatch.Stats.SUM,
          period: ALARM_PERIOD,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Lambda publishes Errors only for periods with invocations: none means nothing failed.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      transformDeadLetters: alarm('transformDeadLetters', deadLetters(props.transform, 'transform')),
      alerterDeadLetters: alarm('alerterDeadLetters', deadLetters(props.alerter, 'alerter')),
      deliveryFailures: alarm('deliveryFailures', {
        alarmDescription:
          'Firehose failed S3 deliveries of the raw archive (DeliveryToS3.Success average below 1 over 5 minutes); it retries them. Its delivery log group says why.',
        metric: props.deliveryStream.metric('DeliveryToS3.Success', {
          statistic: cloudwatch.Stats.AVERAGE,
          period: ALARM_PERIOD,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Published only for periods with delivery attempts: none (no data buffered) is no failure,
        // and failed deliveries are retried, so a failing destination keeps publishing.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      deliveryFreshness: alarm('deliveryFreshness', {
        alarmDescription: `The oldest raw record not yet archived in S3 is more than ${props.archiveFreshnessAlarm.toSeconds()} s old (DeliveryToS3.DataFreshness, maximum over 5 minutes).`,
        metric: props.deliveryStream.metric('DeliveryToS3.DataFreshness', {
          statistic: cloudwatch.Stats.MAXIMUM,
          period: ALARM_PERIOD,
        }),
        threshold: props.archiveFreshnessAlarm.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Published while Firehose holds records: no data is nothing waiting to be delivered.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      quarantineRate: alarm('quarantineRate', {
        alarmDescription: `More than ${Number((props.quarantineRateAlarm * 100).toFixed(2))}% of the readings were quarantined over 5 minutes: their reasons are under quarantine/ in the processed bucket.`,
        metric: quarantineRate(ALARM_PERIOD),
        threshold: props.quarantineRateAlarm,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No readings (no batches, or 0 / 0) is no rate at all, not a bad one.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // Producers retry throttled puts (the simulator with backoff, slowing down), so throttling shows
      // nowhere else until records are late or lost: any throttled record is worth knowing of. Kinesis
      // publishes the metric in provisioned and on-demand mode alike.
      inputWriteThrottling: alarm('inputWriteThrottling', {
        alarmDescription:
          'Kinesis refused records put on the input stream for lack of write throughput (WriteProvisionedThroughputExceeded, sum over 5 minutes above 0): producers are retrying them, and may give up. Raise inputShardCount (or use streamMode=on-demand), or slow the producers; a single hot partition key also does this.',
        metric: throttledPuts(props.input, ALARM_PERIOD),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Published only for periods with puts: none is no throttling.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
  }

  private widgets(props: MonitoringProps): cloudwatch.IWidget[][] {
    const { transform, alerter, equipment } = props;
    const schema = props.schema ?? LAB_SCHEMA;
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      options: Partial<cloudwatch.GraphWidgetProps> = {},
    ) =>
      new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, period: DASHBOARD_PERIOD, ...options });

    const intro = new cloudwatch.TextWidget({
      width: 12,
      height: 6,
      markdown: [
        '## Sensor pipeline',
        `Per equipment (${equipment.join(', ')}: context \`dashboardEquipment\`), the average of each feature of the reading schema \`${schema.id}\` over each minute, and anomalies per minute; then what goes in and out, the transform, both stream consumers, the raw archive and the dead-letter queues.`,
        '',
        "**Refresh is the viewer's choice**: the refresh menu at the top right of the console, 10 seconds included. Every graph uses 1-minute periods; the handlers' metrics reach CloudWatch within about a minute of each batch, so a fast refresh shows the newest minute as it fills.",
        '',
        `Alarms notify the SNS topic \`${props.namePrefix}pipeline-ops\` (context \`opsEmail\` subscribes an address), not the anomaly alerts topic.`,
      ].join('\n'),
    });
    const alarmStatus = new cloudwatch.AlarmStatusWidget({
      title: 'Alarms (ops topic)',
      alarms: Object.values(this.alarms),
      width: 12,
      height: 6,
    });

    const featureGraphs = schema.features.map((feature) =>
      graph(
        `Average ${feature.label}${feature.unit ? ` (${feature.unit})` : ''} per equipment (per minute)${feature.optional ? ', of the readings that have it' : ''}`,
        equipment.map((equipmentId, i) => featureAverage(feature, equipmentId, i)),
        { liveData: true, ...(feature.unit ? { leftYAxis: { label: feature.unit, showUnits: false } } : {}) },
      ),
    );
    const featureRows: cloudwatch.IWidget[][] = [];
    for (let i = 0; i < featureGraphs.length; i += 2) featureRows.push(featureGraphs.slice(i, i + 2));
    const anomalies = graph(
      'Anomalies per minute, per equipment',
      equipment.map((equipmentId) =>
        equipmentMetric(EQUIPMENT_METRICS.anomalies, equipmentId, `equipment ${equipmentId}`),
      ),
    );
    const alertsSent = graph('Alerts: one per anomaly episode, a summary past the per-minute budget', [
      alerterMetric(ALERTER_METRICS.alertsSent, 'alerts sent'),
      alerterMetric(ALERTER_METRICS.alertsSuppressed, 'new episodes past the budget (no alert of their own)'),
      alerterMetric(ALERTER_METRICS.budgetSummariesSent, 'budget summaries sent'),
    ]);
    const recordsIn = graph(
      'Records in (Kinesis), throttled, and processed by the transform',
      [
        props.input.metricIncomingRecords({
          statistic: cloudwatch.Stats.SUM,
          period: DASHBOARD_PERIOD,
          label: 'records in (Kinesis IncomingRecords)',
        }),
        transformMetric(TRANSFORM_METRICS.recordsProcessed, 'records processed'),
        transformMetric(TRANSFORM_METRICS.recordsFailed, 'records failed (retried)'),
        throttledPuts(props.input, DASHBOARD_PERIOD, 'records throttled (put again by their producer)'),
      ],
      {
        right: [
          props.input.metricIncomingBytes({
            statistic: cloudwatch.Stats.SUM,
            period: DASHBOARD_PERIOD,
            label: 'bytes in (Kinesis IncomingBytes)',
          }),
        ],
      },
    );
    const readingsOut = graph('Readings out of the transform', [
      transformMetric(TRANSFORM_METRICS.readingsValid, 'valid'),
      transformMetric(TRANSFORM_METRICS.readingsQuarantined, 'quarantined'),
      transformMetric(TRANSFORM_METRICS.readingsAnomalous, 'anomalous'),
    ]);

    const lambdaMetric = (
      consumer: StreamConsumerFunction,
      metricName: string,
      statistic: string,
      label: string,
    ) => consumer.function.metric(metricName, { statistic, period: DASHBOARD_PERIOD, label });
    const duration = graph(
      'Transform duration (ms)',
      [
        lambdaMetric(transform, 'Duration', cloudwatch.Stats.AVERAGE, 'average'),
        lambdaMetric(transform, 'Duration', cloudwatch.Stats.p(99), 'p99'),
        lambdaMetric(transform, 'Duration', cloudwatch.Stats.MAXIMUM, 'maximum'),
      ],
      { width: 8, liveData: true },
    );
    const errors = graph(
      'Errors and throttles',
      [
        lambdaMetric(transform, 'Errors', cloudwatch.Stats.SUM, 'transform errors'),
        lambdaMetric(transform, 'Throttles', cloudwatch.Stats.SUM, 'transform throttles'),
        lambdaMetric(alerter, 'Errors', cloudwatch.Stats.SUM, 'alerter errors'),
        lambdaMetric(alerter, 'Throttles', cloudwatch.Stats.SUM, 'alerter throttles'),
      ],
      { width: 8 },
    );
    const iteratorAge = graph(
      'Iterator age of the stream consumers (ms)',
      [iteratorAgeOf(transform, 'transform'), iteratorAgeOf(alerter, 'alerter')],
      {
        width: 8,
        liveData: true,
        leftAnnotations: [this.alarms.transformIteratorAge.toAnnotation()],
      },
    );

    const firehoseMetric = (metricName: string, statistic: string, label: string) =>
      props.deliveryStream.metric(metricName, { statistic, period: DASHBOARD_PERIOD, label });
    const delivery = graph(
      'Raw archive delivery (Firehose to S3)',
      [firehoseMetric('DeliveryToS3.Success', cloudwatch.Stats.AVERAGE, 'success ratio')],
      {
        right: [firehoseMetric('DeliveryToS3.DataFreshness', cloudwatch.Stats.MAXIMUM, 'data freshness (s)')],
        leftYAxis: { min: 0, max: 1 },
        liveData: true,
      },
    );
    const deadLetters = graph(
      'Dead-letter queue depth (messages visible)',
      [transform, alerter].map((consumer, i) =>
        consumer.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: DASHBOARD_PERIOD,
          label: i === 0 ? 'transform DLQ' : 'alerter DLQ',
        }),
      ),
    );

    const detector = graph(
      'Detector: readings still in warm-up, states restored and saved',
      [
        transformMetric(TRANSFORM_METRICS.readingsWarmingUp, 'readings in warm-up (score 0)'),
        transformMetric(TRANSFORM_METRICS.detectorStatesRestored, 'states restored (new environment)'),
        transformMetric(TRANSFORM_METRICS.detectorStatesSaved, 'states saved'),
      ],
      { right: [transformMetric(TRANSFORM_METRICS.detectorStateBytes, 'bytes saved')] },
    );

    return [
      [intro, alarmStatus],
      ...featureRows,
      [anomalies, alertsSent],
      [recordsIn, readingsOut],
      [duration, errors, iteratorAge],
      [delivery, deadLetters],
      [detector],
    ];
  }
}

/** A metric of the pipeline's namespace (metrics-catalog.ts), summed per period. */
function pipelineMetric(
  metricName: string,
  dimensionsMap: Record<string, string>,
  label?: string,
  period = DASHBOARD_PERIOD,
) {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap,
    statistic: cloudwatch.Stats.SUM,
    period,
    label,
  });
}

const transformMetric = (metricName: string, label?: string, period?: Duration) =>
  pipelineMetric(metricName, { [SERVICE_DIMENSION]: TRANSFORM_SERVICE }, label, period);

const alerterMetric = (metricName: string, label?: string) =>
  pipelineMetric(metricName, { [SERVICE_DIMENSION]: ALERTER_SERVICE }, label);

const equipmentMetric = (metricName: string, equipmentId: EquipmentId, label?: string) =>
  pipelineMetric(
    metricName,
    { [SERVICE_DIMENSION]: TRANSFORM_SERVICE, [EQUIPMENT_DIMENSION]: String(equipmentId) },
    label,
  );

/**
 * A feature's average per period for one equipment: the sum of its values over the readings counted
 * (those that had it, for an optional feature). The metric IDs are numbered by the equipment's position
 * in the list: an ID is a letter then letters, digits and _, which string equipment ids need not be.
 */
function featureAverage(
  feature: SchemaFeature,
  equipmentId: EquipmentId,
  index: number,
): cloudwatch.MathExpression {
  const readings = feature.optional ? featureReadingsMetric(feature.name) : EQUIPMENT_METRICS.readings;
  return new cloudwatch.MathExpression({
    expression: `sum${index} / readings${index}`,
    usingMetrics: {
      [`sum${index}`]: equipmentMetric(featureSumMetric(feature.name), equipmentId),
      [`readings${index}`]: equipmentMetric(readings, equipmentId),
    },
    label: `equipment ${equipmentId}`,
    period: DASHBOARD_PERIOD,
  });
}

/** Quarantined readings over all readings the transform judged, per period. */
function quarantineRate(period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'quarantined / (valid + quarantined)',
    usingMetrics: {
      quarantined: transformMetric(TRANSFORM_METRICS.readingsQuarantined, undefined, period),
      valid: transformMetric(TRANSFORM_METRICS.readingsValid, undefined, period),
    },
    label: 'quarantine rate',
    period,
  });
}

/** Records Kinesis refused on a stream for lack of write throughput (PutRecord and PutRecords), per period. */
const throttledPuts = (stream: kinesis.IStream, period: Duration, label?: string) =>
  stream.metricWriteProvisionedThroughputExceeded({ statistic: cloudwatch.Stats.SUM, period, label });

/** How far behind its stream a consumer is: the Lambda IteratorAge of its event source mapping, in ms. */
const iteratorAgeOf = (consumer: StreamConsumerFunction, label?: string) =>
  consumer.function.metric('IteratorAge', {
    statistic: cloudwatch.Stats.MAXIMUM,
    period: DASHBOARD_PERIOD,
    label,
  });

/**
 * CloudWatch alarms publish to the encrypted topic as the CloudWatch service: the key must let it
 * encrypt (GenerateDataKey*, Decrypt), and the topic must let it publish, both only on behalf of
 * this account (and, on the topic, its alarms).
 */
function allowAlarmNotifications(topic: sns.Topic, key: kms.IKey, stack: Stack): void {
  const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  const fromThisAccount = { StringEquals: { 'aws:SourceAccount': stack.account } };
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToUseTheKeyForTheOpsTopic',
      principals: [cloudwatchService],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: fromThisAccount,
    }),
  );
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [cloudwatchService],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        ...fromThisAccount,
        ArnLike: {
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
}
