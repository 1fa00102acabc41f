/** Names of the local resources: those the stack deploys, with its default (empty) name prefix. */
export const LOCAL_NAMES = {
  inputStream: 'sensor-readings',
  anomaliesStream: 'anomalies',
  table: 'sensor-readings',
  processedBucket: 'processed-bucket',
  rawBucket: 'raw-bucket',
  deliveryStream: 'sensor-readings-archive',
  alertsTopicArn: 'arn:aws:sns:us-east-1:000000000000:anomaly-alerts',
} as const;

/** Failed batches go here, in the processed bucket: the local counterpart of the dead-letter queues. */
export const DEAD_LETTER_PREFIX = 'dead-letter/';
