/**
 * List prices of every service the pipeline uses, in one region on one date, with where each was read.
 * `npm run cost` multiplies these by quantities measured from the project's own code (cost/measure.ts);
 * nothing else in cost/ is a price. Check the pages for your region: most regions cost a little more.
 */

export const PRICES_REGION = 'us-east-1';
export const PRICES_DATE = 'November 2026';

/** Hours and seconds in the month AWS bills by (730 hours). */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3_600;
/** AWS's GB in storage and transfer prices is 2^30 bytes. */
export const GB = 2 ** 30;

export const PRICES = {
  kinesis: {
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    /** Provisioned mode. */
    shardHour: 0.015,
    /** Per million PUT payload units of 25 KB (a record is rounded up to whole units). */
    putUnitPerMillion: 0.014,
    putUnitBytes: 25 * 1024,
    /** On-demand mode. */
    onDemandStreamHour: 0.04,
    onDemandIngestedGb: 0.08,
    onDemandRetrievedGb: 0.04,
    /** A shard's write limits. */
    shardBytesPerSecond: 1024 * 1024,
    shardRecordsPerSecond: 1_000,
  },
  lambda: {
    source: 'https://aws.amazon.com/lambda/pricing/',
    requestPerMillion: 0.2,
    /** Arm (Graviton), the pipeline's functions' architecture. */
    gbSecondArm: 0.0000133334,
    /** Lambda gives a function one vCPU's worth of CPU at 1,769 MB, proportionally less below. */
    mbPerVcpu: 1_769,
    cpuSource: 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html',
  },
  dynamodb: {
    source: 'https://aws.amazon.com/dynamodb/pricing/',
    onDemandWritePerMillion: 0.625,
    onDemandReadPerMillion: 0.125,
    provisionedWcuHour: 0.00065,
    provisionedRcuHour: 0.00013,
    storageGbMonth: 0.25,
    pitrGbMonth: 0.2,
    /** A write unit is an item's first KB and each KB after (1 KB = 1,024 bytes). */
    writeUnitBytes: 1024,
    /** Target utilisation of the CDK's autoscaled capacity (Capacity.autoscaled's default). */
    autoscalingTargetUtilization: 0.7,
  },
  s3: {
    source: 'https://aws.amazon.com/s3/pricing/',
    standardGbMonth: 0.023,
    putPerThousand: 0.005,
    getPerThousand: 0.0004,
  },
  firehose: {
    source: 'https://aws.amazon.com/firehose/pricing/',
    /** Per GB ingested, each record rounded up to 5 KB. */
    ingestedGb: 0.029,
    recordRoundingBytes: 5 * 1024,
  },
  athena: {
    source: 'https://aws.amazon.com/athena/pricing/',
    scannedTb: 5,
    /** Bytes: a query is billed at least 10 MB. */
    minimumScanBytes: 10 * 1024 * 1024,
  },
  cloudwatch: {
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    /** Per metric a month (first 10,000), prorated by the hours it is published. */
    metricMonth: 0.3,
    /** A standard-resolution alarm, per metric it watches. */
    alarmMetricMonth: 0.1,
    /** A dashboard a month beyond an account's first 3. */
    dashboardMonth: 3,
    logsIngestedGb: 0.5,
    logsStoredGbMonth: 0.03,
  },
  sns: {
    source: 'https://aws.amazon.com/sns/pricing/',
    publishPerMillion: 0.5,
    emailPerHundredThousand: 2,
  },
  sqs: {
    source: 'https://aws.amazon.com/sqs/pricing/',
    requestPerMillion: 0.4,
  },
  stepFunctions: {
    source: 'https://aws.amazon.com/step-functions/pricing/',
    /** Standard workflows, beyond the free 4,000 a month. */
    transitionPerThousand: 0.025,
    freeTransitionsPerMonth: 4_000,
  },
  eventBridge: {
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    /** Scheduled rules on the default bus are free; EventBridge Scheduler $1 per million beyond 14 million free. */
    scheduledInvocationPerMillion: 0,
  },
  kms: {
    source: 'https://aws.amazon.com/kms/pricing/',
    keyMonth: 1,
  },
  ec2: {
    source: 'https://aws.amazon.com/ec2/pricing/on-demand/',
    instanceHour: { 't4g.small': 0.0168 } as Record<string, number>,
    ebsSource: 'https://aws.amazon.com/ebs/pricing/',
    gp3GbMonth: 0.08,
    ipv4Source: 'https://aws.amazon.com/vpc/pricing/',
    publicIpv4Hour: 0.005,
  },
} as const;
