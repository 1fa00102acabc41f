import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readPipelineConfig } from '../../lib/config';
import { buildApp } from '../../lib/pipeline-app';
import {
  actionsOf,
  arnOf,
  asArray,
  describeViolations,
  expectResource,
  iamStatements,
  type Json,
  logicalIdAt,
  ref,
  resourcesOfType,
  type Synthesized,
  statementsOfRole,
  synthPipeline,
} from './helpers';

/** Every context value the tests change at once, given as `-c key=value` would (strings), or as cdk.json numbers. */
const OVERRIDES = {
  namePrefix: 'dev-',
  streamRetentionHours: '48',
  inputShardCount: '3',
  anomaliesShardCount: 2,
  transformBatchSize: '250',
  transformBatchingWindowSeconds: '5',
  transformRetryAttempts: '7',
  transformMaxRecordAgeSeconds: '7200',
  alertQuietPeriodSeconds: '300',
  alertBudgetPerMinute: '5',
  logRetentionDays: '30',
  dataExpirationDays: '30',
  alertEmail: 'ops@example.com',
};
const ON_DEMAND_STREAMS = { streamMode: 'on-demand' };
const RETAINED_DATA = { retainData: 'true' };
const PROVISIONED_TABLE = { tableBillingMode: 'provisioned' };

/** Logical IDs of the stack's resources, found from the construct tree. */
function idsOf({ stack }: Synthesized) {
  return {
    key: logicalIdAt(stack, 'PipelineKey'),
    input: logicalIdAt(stack, 'Streams/Input'),
    anomalies: logicalIdAt(stack, 'Streams/Anomalies'),
    rawBucket: logicalIdAt(stack, 'RawArchive/Bucket'),
    deliveryStream: logicalIdAt(stack, 'RawArchive/DeliveryStream'),
    deliveryLogs: logicalIdAt(stack, 'RawArchive/DeliveryLogs'),
    processedBucket: logicalIdAt(stack, 'ProcessedBucket'),
    table: logicalIdAt(stack, 'Readings/Table'),
    transformFunction: logicalIdAt(stack, 'Transform/Consumer/Function'),
    transformRole: logicalIdAt(stack, 'Transform/Consumer/Role'),
    transformLogs: logicalIdAt(stack, 'Transform/Consumer/Logs'),
    transformDlq: logicalIdAt(stack, 'Transform/Consumer/DeadLetterQueue'),
    topic: logicalIdAt(stack, 'Alerts/Topic'),
    alerterFunction: logicalIdAt(stack, 'Alerts/Consumer/Function'),
    alerterRole: logicalIdAt(stack, 'Alerts/Consumer/Role'),
    alerterLogs: logicalIdAt(stack, 'Alerts/Consumer/Logs'),
    alerterDlq: logicalIdAt(stack, 'Alerts/Consumer/DeadLetterQueue'),
  };
}
type Ids = ReturnType<typeof idsOf>;

/** The Custom::S3AutoDeleteObjects resources emptying a bucket (by its logical ID). */
const autoDeletersOf = (json: Json, bucketId: string) =>
  resourcesOfType(json, 'Custom::S3AutoDeleteObjects')
    .filter(([, r]) => r.Properties?.BucketName?.Ref === bucketId)
    .map(([id]) => id);

/** The event source mapping reading a stream (by the stream's logical ID); fails unless exactly one. */
function mappingOf(json: Json, streamId: string): [string, Json] {
  const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(
    ([, r]) => JSON.stringify(r.Properties.EventSourceArn) === JSON.stringify(arnOf(streamId)),
  );
  expect(mappings).toHaveLength(1);
  return mappings[0];
}

const DATA_SERVICES = ['s3:', 'dynamodb:', 'kinesis:', 'sns:', 'sqs:', 'firehose:'];

let base: Synthesized;
let ids: Ids;
let json: Json;

beforeAll(() => {
  base = synthPipeline();
  ids = idsOf(base);
  json = base.json;
});

describe('Kinesis streams', () => {
  test('sensor-readings and anomalies are KMS-encrypted with the AWS managed key, kept 24 h, one shard each, deleted with the stack', () => {
    for (const [id, name] of [
      [ids.input, 'sensor-readings'],
      [ids.anomalies, 'anomalies'],
    ]) {
      expectResource(json, id, 'AWS::Kinesis::Stream', {
        Properties: {
          Name: name,
          StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
          RetentionPeriodHours: 24,
          ShardCount: 1,
          StreamModeDetails: { StreamMode: 'PROVISIONED' },
        },
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Delete',
      });
    }
    base.template.resourceCountIs('AWS::Kinesis::Stream', 2);
  });

  test('namePrefix, streamRetentionHours and the shard counts from context shape both streams', () => {
    const variant = synthPipeline(OVERRIDES);
    const v = idsOf(variant);
    expectResource(variant.json, v.input, 'AWS::Kinesis::Stream', {
      Properties: {
        Name: 'dev-sensor-readings',
        RetentionPeriodHours: 48,
        ShardCount: 3,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      },
      DeletionPolicy: 'Delete',
    });
    expectResource(variant.json, v.anomalies, 'AWS::Kinesis::Stream', {
      Properties: { Name: 'dev-anomalies', RetentionPeriodHours: 48, ShardCount: 2 },
      DeletionPolicy: 'Delete',
    });
  });

  test('namePrefix also prefixes the table, the alerts topic and the delivery stream names', () => {
    const variant = synthPipeline(OVERRIDES);
    const v = idsOf(variant);
    expectResource(variant.json, v.table, 'AWS::DynamoDB::GlobalTable', {
      Properties: { TableName: 'dev-sensor-readings' },
    });
    expectResource(variant.json, v.topic, 'AWS::SNS::Topic', {
      Properties: { TopicName: 'dev-anomaly-alerts' },
    });
    expectResource(variant.json, v.deliveryStream, 'AWS::KinesisFirehose::DeliveryStream', {
      Properties: { DeliveryStreamName: 'dev-sensor-readings-archive' },
    });
  });

  test('streamMode=on-demand makes both streams ON_DEMAND without a ShardCount, still encrypted and deleted', () => {
    const variant = synthPipeline(ON_DEMAND_STREAMS);
    const v = idsOf(variant);
    for (const id of [v.input, v.anomalies]) {
      expectResource(variant.json, id, 'AWS::Kinesis::Stream', {
        Properties: {
          StreamModeDetails: { StreamMode: 'ON_DEMAND' },
          ShardCount: Match.absent(),
          StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
          RetentionPeriodHours: 24,
        },
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Delete',
      });
    }
  });
});

describe('stream consumers (event source mappings)', () => {
  const expectedMapping = (functionId: string, dlqId: string, o: Partial<Record<string, number>> = {}) => ({
    Properties: {
      FunctionName: ref(functionId),
      BatchSize: o.batchSize ?? 100,
      MaximumBatchingWindowInSeconds: o.window ?? 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: o.retries ?? 3,
      MaximumRecordAgeInSeconds: o.age ?? 3600,
      ParallelizationFactor: 1,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: arnOf(dlqId) } },
    },
  });

  test('the transform reads the input stream in batches of 100 within 1 s, reports item failures, bisects, retries 3 times for up to an hour, and sends failures to its own SQS dead-letter queue', () => {
    const [mappingId] = mappingOf(json, ids.input);
    expectResource(
      json,
      mappingId,
      'AWS::Lambda::EventSourceMapping',
      // A 10-second batching window by default: fewer, larger batches (see What it costs).
      expectedMapping(ids.transformFunction, ids.transformDlq, { window: 10 }),
    );
    expectResource(json, ids.transformDlq, 'AWS::SQS::Queue', {});
  });

  test('the alerter reads the anomalies stream with the same mapping shape, failures to its own dead-letter queue', () => {
    const [mappingId] = mappingOf(json, ids.anomalies);
    expectResource(
      json,
      mappingId,
      'AWS::Lambda::EventSourceMapping',
      expectedMapping(ids.alerterFunction, ids.alerterDlq),
    );
    expectResource(json, ids.alerterDlq, 'AWS::SQS::Queue', {});
    expect(ids.alerterDlq).not.toBe(ids.transformDlq);
  });

  test("transformBatchSize, transformBatchingWindowSeconds, transformRetryAttempts and transformMaxRecordAgeSeconds tune the transform's mapping only", () => {
    const variant = synthPipeline(OVERRIDES);
    const v = idsOf(variant);
    const [transformMapping] = mappingOf(variant.json, v.input);
    expectResource(
      variant.json,
      transformMapping,
      'AWS::Lambda::EventSourceMapping',
      expectedMapping(v.transformFunction, v.transformDlq, {
        batchSize: 250,
        window: 5,
        retries: 7,
        age: 7200,
      }),
    );
    const [alerterMapping] = mappingOf(variant.json, v.anomalies);
    expectResource(
      variant.json,
      alerterMapping,
      'AWS::Lambda::EventSourceMapping',
      expectedMapping(v.alerterFunction, v.alerterDlq),
    );
  });
});

describe('Lambda functions', () => {
  test('both pipeline functions run nodejs24.x on arm64 and log to a log group of the stack', () => {
    for (const [functionId, logsId] of [
      [ids.transformFunction, ids.transformLogs],
      [ids.alerterFunction, ids.alerterLogs],
    ]) {
      expectResource(json, functionId, 'AWS::Lambda::Function', {
        Properties: {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          LoggingConfig: { LogGroup: ref(logsId) },
        },
      });
      expect(json.Resources[logsId].Type).toBe('AWS::Logs::LogGroup');
    }
  });

  test("the transform's environment names the processed bucket, the readings table, the anomalies stream and the bundled model", () => {
    expectResource(json, ids.transformFunction, 'AWS::Lambda::Function', {
      Properties: {
        Environment: {
          Variables: {
            PROCESSED_BUCKET: ref(ids.processedBucket),
            READINGS_TABLE: ref(ids.table),
            ANOMALIES_STREAM: ref(ids.anomalies),
            MODEL_PATH: '/var/task/model.json',
          },
        },
      },
    });
  });

  test("the transform's TABLE_KEY_SUFFIXES is K: inputShardCount by default (1), or tableKeySuffixes", () => {
    expect(json.Resources[ids.transformFunction].Properties.Environment.Variables.TABLE_KEY_SUFFIXES).toBe(
      '1',
    );
    const variant = synthPipeline({ inputShardCount: '3' });
    expect(
      variant.json.Resources[idsOf(variant).transformFunction].Properties.Environment.Variables
        .TABLE_KEY_SUFFIXES,
    ).toBe('3');
    const set = synthPipeline({ inputShardCount: '3', tableKeySuffixes: '8' });
    expect(
      set.json.Resources[idsOf(set).transformFunction].Properties.Environment.Variables.TABLE_KEY_SUFFIXES,
    ).toBe('8');
  });

  test("the alerter's environment names the alerts topic, the quiet period (60 s) and the alert budget (20 a minute), or alertQuietPeriodSeconds and alertBudgetPerMinute from context", () => {
    expectResource(json, ids.alerterFunction, 'AWS::Lambda::Function', {
      Properties: {
        Environment: {
          Variables: {
            ALERTS_TOPIC_ARN: ref(ids.topic),
            READINGS_TABLE: ref(ids.table),
            QUIET_PERIOD_SECONDS: '60',
            ALERT_BUDGET_PER_MINUTE: '20',
          },
        },
      },
    });
    const variant = synthPipeline(OVERRIDES);
    const v = idsOf(variant);
    expectResource(variant.json, v.alerterFunction, 'AWS::Lambda::Function', {
      Properties: {
        Environment: {
          Variables: {
            ALERTS_TOPIC_ARN: ref(v.topic),
            QUIET_PERIOD_SECONDS: '300',
            ALERT_BUDGET_PER_MINUTE: '5',
          },
        },
      },
    });
  });
});

describe('log groups', () => {
  const expectLogGroups = (template: Json, days: number) => {
    const logGroups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    // The transform's, the alerter's, Firehose's delivery logs, the bucket auto-delete function's and
    // the curation state machine's.
    expect(logGroups).toHaveLength(5);
    for (const [id] of logGroups) {
      expectResource(template, id, 'AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: days },
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Delete',
      });
    }
  };

  test('every log group keeps logs 14 days by default and is deleted, never retained, with the stack', () => {
    expectLogGroups(json, 14);
    expect(
      resourcesOfType(json, 'AWS::Logs::LogGroup')
        .map(([id]) => id)
        .sort(),
    ).toEqual(
      [
        ids.transformLogs,
        ids.alerterLogs,
        ids.deliveryLogs,
        logicalIdAt(base.stack, 'Custom::S3AutoDeleteObjectsCustomResourceProvider/Logs'),
        logicalIdAt(base.stack, 'Curation/Logs'),
      ].sort(),
    );
  });

  test('logRetentionDays from context sets the retention of every log group', () => {
    expectLogGroups(synthPipeline(OVERRIDES).json, 30);
  });
});

describe('raw archive (Firehose)', () => {
  test('Firehose reads the input stream and writes GZIP, newline-delimited objects under raw/dt=/hour= of the raw bucket, errors under raw-errors/, with logging on', () => {
    expectResource(json, ids.deliveryStream, 'AWS::KinesisFirehose::DeliveryStream', {
      Properties: {
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: { KinesisStreamARN: arnOf(ids.input) },
        ExtendedS3DestinationConfiguration: {
          BucketARN: arnOf(ids.rawBucket),
          CompressionFormat: 'GZIP',
          Prefix: 'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
          ErrorOutputPrefix: Match.stringLikeRegexp('^raw-errors/!\\{firehose:error-output-type\\}/'),
          ProcessingConfiguration: {
            Enabled: true,
            Processors: Match.arrayWith([Match.objectLike({ Type: 'AppendDelimiterToRecord' })]),
          },
          CloudWatchLoggingOptions: { Enabled: true, LogGroupName: ref(ids.deliveryLogs) },
        },
      },
    });
  });

  test("the delivery stream depends on the raw bucket's auto-delete custom resource, so it is deleted before the bucket is emptied", () => {
    const emptiers = autoDeletersOf(json, ids.rawBucket);
    expect(emptiers).toHaveLength(1);
    expectResource(json, ids.deliveryStream, 'AWS::KinesisFirehose::DeliveryStream', {
      DependsOn: Match.arrayWith([emptiers[0]]),
    });
  });
});

describe('readings table (DynamoDB TableV2)', () => {
  test('the table is keyed pk (HASH) / sk (RANGE) strings, expires items on expires_at, bills per request, has PITR on and is deleted with the stack', () => {
    expectResource(json, ids.table, 'AWS::DynamoDB::GlobalTable', {
      Properties: {
        TableName: 'sensor-readings',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayEquals([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ]),
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        BillingMode: 'PAY_PER_REQUEST',
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: false,
          }),
        ],
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('tableBillingMode=provisioned switches the table to PROVISIONED capacity', () => {
    const variant = synthPipeline(PROVISIONED_TABLE);
    expectResource(variant.json, idsOf(variant).table, 'AWS::DynamoDB::GlobalTable', {
      Properties: {
        BillingMode: 'PROVISIONED',
        WriteProvisionedThroughputSettings: {
          WriteCapacityAutoScalingSettings: { MinCapacity: 150, MaxCapacity: 600 },
        },
        Replicas: [Match.objectLike({ ReadProvisionedThroughputSettings: { ReadCapacityUnits: 50 } })],
      },
      DeletionPolicy: 'Delete',
    });
  });

  test('retainData=true retains the table and turns deletion protection on', () => {
    const variant = synthPipeline(RETAINED_DATA);
    expectResource(variant.json, idsOf(variant).table, 'AWS::DynamoDB::GlobalTable', {
      Properties: {
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('S3 data buckets', () => {
  const bucketIds = () => [ids.rawBucket, ids.processedBucket];

  const expectPrivateBucket = (
    template: Json,
    bucketId: string,
    expirationDays: number,
    deletion: string,
  ) => {
    expectResource(template, bucketId, 'AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ ExpirationInDays: expirationDays, Status: 'Enabled' }),
            Match.objectLike({
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: Match.anyValue() },
              Status: 'Enabled',
            }),
          ]),
        },
      },
      DeletionPolicy: deletion,
      UpdateReplacePolicy: deletion,
    });
  };

  test('both buckets are SSE-S3 encrypted, block all public access, expire objects after 90 days, abort incomplete uploads and are deleted with the stack', () => {
    // The third is the Athena query results bucket (analytics.test.ts).
    base.template.resourceCountIs('AWS::S3::Bucket', 3);
    for (const id of bucketIds()) expectPrivateBucket(json, id, 90, 'Delete');
  });

  test('dataExpirationDays from context sets the expiration of both buckets', () => {
    const variant = synthPipeline(OVERRIDES);
    const v = idsOf(variant);
    for (const id of [v.rawBucket, v.processedBucket]) expectPrivateBucket(variant.json, id, 30, 'Delete');
  });

  test('each bucket policy denies requests without TLS and requests below TLS 1.2, on the bucket and its objects', () => {
    for (const id of bucketIds()) {
      const bucketAndObjects = Match.arrayWith([arnOf(id), { 'Fn::Join': ['', [arnOf(id), '/*']] }]);
      base.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(id),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: bucketAndObjects,
            }),
          ]),
        },
      });
      base.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(id),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
              Resource: bucketAndObjects,
            }),
          ]),
        },
      });
    }
  });

  test('each bucket has its own Custom::S3AutoDeleteObjects so cdk destroy empties it', () => {
    base.template.resourceCountIs('Custom::S3AutoDeleteObjects', 3);
    for (const id of bucketIds()) {
      const emptiers = autoDeletersOf(json, id);
      expect(emptiers).toHaveLength(1);
      expectResource(json, emptiers[0], 'Custom::S3AutoDeleteObjects', { DeletionPolicy: 'Delete' });
    }
  });

  test("the transform function depends on the processed bucket's auto-delete custom resource, so it is deleted before the bucket is emptied", () => {
    const [emptier] = autoDeletersOf(json, ids.processedBucket);
    expect(emptier).toBeDefined();
    expectResource(json, ids.transformFunction, 'AWS::Lambda::Function', {
      DependsOn: Match.arrayWith([emptier]),
    });
  });

  test('retainData=true retains both buckets and creates no auto-delete custom resource for them', () => {
    const variant = synthPipeline(RETAINED_DATA);
    const v = idsOf(variant);
    for (const id of [v.rawBucket, v.processedBucket]) {
      expectPrivateBucket(variant.json, id, 90, 'Retain');
      expect(autoDeletersOf(variant.json, id)).toEqual([]);
    }
    // The one left empties the Athena query results bucket, deleted whatever retainData says.
    variant.template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });
});

describe('encryption of the alert topic, the key and the dead-letter queues', () => {
  test("the alerts topic is encrypted with the stack's KMS key, whose rotation is enabled, and refuses non-TLS publishing", () => {
    expectResource(json, ids.key, 'AWS::KMS::Key', { Properties: { EnableKeyRotation: true } });
    expectResource(json, ids.topic, 'AWS::SNS::Topic', { Properties: { KmsMasterKeyId: arnOf(ids.key) } });
    base.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(ids.topic)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('no email subscription exists without alertEmail', () => {
    base.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('alertEmail subscribes that address to the alerts topic by email', () => {
    const variant = synthPipeline(OVERRIDES);
    variant.template.resourceCountIs('AWS::SNS::Subscription', 1);
    variant.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: ref(idsOf(variant).topic),
    });
  });

  test('both SQS dead-letter queues are encrypted with the KMS key and their policies deny non-TLS access', () => {
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    expect(queues.map(([id]) => id).sort()).toEqual([ids.transformDlq, ids.alerterDlq].sort());
    for (const [id] of queues) {
      expectResource(json, id, 'AWS::SQS::Queue', { Properties: { KmsMasterKeyId: arnOf(ids.key) } });
      base.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: Match.arrayWith([ref(id)]),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: arnOf(id),
            }),
          ]),
        },
      });
    }
  });
});

describe('IAM least privilege', () => {
  /** Allow statements on every resource ('*', or NotResource) with an action of a data service. */
  const wildcardDataGrants = (template: Json) =>
    iamStatements(template)
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(
        ({ statement }) => statement.NotResource !== undefined || asArray(statement.Resource).includes('*'),
      )
      .filter(({ statement }) =>
        [...actionsOf(statement), ...asArray<string>(statement.NotAction)].some(
          (action) =>
            action === '*' || DATA_SERVICES.some((service) => action.toLowerCase().startsWith(service)),
        ),
      )
      .map(({ source, statement }) => `${source}: ${JSON.stringify(statement)}`);

  test.each([
    ['default context', {}],
    ['context overrides', OVERRIDES],
    ['retainData=true', RETAINED_DATA],
    ['tableBillingMode=provisioned', PROVISIONED_TABLE],
  ])(
    'no IAM policy grants S3, DynamoDB, Kinesis, SNS, SQS or Firehose actions on Resource "*" (%s)',
    (_name, context) => {
      const template = synthPipeline(context).json;
      // Guard against a vacuous pass: the walk must have seen the pipeline's grants.
      expect(iamStatements(template).length).toBeGreaterThan(10);
      expect(wildcardDataGrants(template)).toEqual([]);
    },
  );

  test('the transform may only BatchWriteItem/UpdateItem the readings table under its own leading keys, and GetItem its detector states', () => {
    const dynamo = statementsOfRole(json, ids.transformRole).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo).toHaveLength(2);
    const writes = dynamo.find((s) => actionsOf(s).includes('dynamodb:UpdateItem'));
    expect(actionsOf(writes as Json).sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']);
    expect(writes).toMatchObject({
      Effect: 'Allow',
      Resource: arnOf(ids.table),
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': ['readings#*', 'minutes#*', 'latest', 'latest#*', 'settings', 'state#*'],
        },
      },
    });
    const reads = dynamo.find((s) => actionsOf(s).includes('dynamodb:GetItem'));
    expect(actionsOf(reads as Json)).toEqual(['dynamodb:GetItem']);
    expect(reads).toMatchObject({
      Effect: 'Allow',
      Resource: arnOf(ids.table),
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['state#*'] } },
    });
  });

  test('modelPath=none deploys no model: the transform learns every feature online', () => {
    const variant = synthPipeline({ modelPath: 'none' });
    const transform = Object.values(variant.json.Resources as Record<string, Json>).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.READINGS_TABLE,
    );
    expect(transform?.Properties.Environment.Variables.MODEL_PATH).toBeUndefined();
    expect(transform?.Properties.Environment.Variables.DETECTOR_STATE_SAVE_SECONDS).toBe('60');
  });

  test('the alerter may only GetItem/PutItem its episode items, UpdateItem its alert-budget items and PutItem its alert history of the readings table', () => {
    const dynamo = statementsOfRole(json, ids.alerterRole).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );
    const grants = dynamo.map((statement) => ({
      actions: actionsOf(statement).sort(),
      resource: statement.Resource,
      leadingKeys: statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'],
    }));
    expect(grants).toEqual(
      expect.arrayContaining([
        {
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resource: arnOf(ids.table),
          leadingKeys: ['episode'],
        },
        { actions: ['dynamodb:UpdateItem'], resource: arnOf(ids.table), leadingKeys: ['alert-budget'] },
        { actions: ['dynamodb:PutItem'], resource: arnOf(ids.table), leadingKeys: ['alerts#*'] },
      ]),
    );
    expect(grants).toHaveLength(3);
    for (const statement of dynamo)
      expect(Object.keys(statement.Condition)).toEqual(['ForAllValues:StringLike']);
  });

  test('every S3 grant of the transform is a put restricted to readings/* or quarantine/* of the processed bucket', () => {
    const s3 = statementsOfRole(json, ids.transformRole).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('s3:')),
    );
    expect(s3.length).toBeGreaterThan(0);
    const prefixes: string[] = [];
    for (const statement of s3) {
      expect(actionsOf(statement)).toContain('s3:PutObject');
      expect(actionsOf(statement).filter((a) => /^s3:(Get|List|Delete)/.test(a))).toEqual([]);
      for (const resource of asArray<Json>(statement.Resource)) {
        expect(resource).toEqual({ 'Fn::Join': ['', [arnOf(ids.processedBucket), expect.any(String)]] });
        prefixes.push(resource['Fn::Join'][1][1]);
      }
    }
    expect([...new Set(prefixes)].sort()).toEqual(['/quarantine/*', '/readings/*']);
  });

  test.each([
    ['default context', {}],
    ['retainData=true', RETAINED_DATA],
  ])(
    'Firehose may only deliver to the raw archive (the documented S3 actions, under raw/ and raw-errors/), never delete from it (%s)',
    (_name, context) => {
      const variant = synthPipeline(context);
      const v = idsOf(variant);
      const stream = variant.json.Resources[v.deliveryStream].Properties;
      const roleOf = (arn: Json) => {
        expect(arn).toEqual(arnOf(expect.any(String)));
        return arn['Fn::GetAtt'][0] as string;
      };
      const deliveryRole = roleOf(stream.ExtendedS3DestinationConfiguration.RoleARN);
      const sourceRole = roleOf(stream.KinesisStreamSourceConfiguration.RoleARN);
      // Every role Firehose can assume in the stack, not only the two the stream names.
      const firehoseRoles = resourcesOfType(variant.json, 'AWS::IAM::Role')
        .filter(([, r]) =>
          JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('firehose.amazonaws.com'),
        )
        .map(([id]) => id);
      expect(firehoseRoles.sort()).toEqual([deliveryRole, sourceRole].sort());

      const s3Statements = firehoseRoles
        .flatMap((role) => statementsOfRole(variant.json, role))
        .filter((s) => actionsOf(s).some((a) => a === '*' || a.toLowerCase().startsWith('s3:')));
      const s3Actions = s3Statements.flatMap(actionsOf);
      expect(
        s3Actions.filter((a) => a.includes('*') || /^s3:(Delete|Put(Bucket|Lifecycle))/i.test(a)),
      ).toEqual([]);
      expect(s3Statements.filter((s) => s.NotAction !== undefined || s.Effect !== 'Allow')).toEqual([]);
      // The list of the Firehose developer guide for an S3 destination, and nothing else.
      expect([...new Set(s3Actions)].sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:PutObject',
      ]);
      const bucket = arnOf(v.rawBucket);
      const underBucket = (suffix: string) => ({ 'Fn::Join': ['', [bucket, suffix]] });
      for (const statement of s3Statements) {
        const objectLevel = actionsOf(statement).some((a) => /Object|MultipartUpload$/.test(a));
        expect(asArray(statement.Resource)).toEqual(
          objectLevel ? [underBucket('/raw/*'), underBucket('/raw-errors/*')] : [bucket],
        );
      }
      // The prefixes granted are those the stream writes to.
      expect(stream.ExtendedS3DestinationConfiguration.Prefix).toMatch(/^raw\//);
      expect(stream.ExtendedS3DestinationConfiguration.ErrorOutputPrefix).toMatch(/^raw-errors\//);
      // Firehose checks its role when the stream is created: the grants must exist before it.
      const policies = resourcesOfType(variant.json, 'AWS::IAM::Policy')
        .filter(([, p]) => asArray<Json>(p.Properties.Roles).some((r) => r.Ref === deliveryRole))
        .map(([id]) => id);
      expect(policies).toHaveLength(1);
      expect(variant.json.Resources[v.deliveryStream].DependsOn).toEqual(expect.arrayContaining(policies));
    },
  );

  test('neither pipeline function role carries the AWSLambdaBasicExecutionRole managed policy', () => {
    for (const [functionId, roleId] of [
      [ids.transformFunction, ids.transformRole],
      [ids.alerterFunction, ids.alerterRole],
    ]) {
      expect(json.Resources[functionId].Properties.Role).toEqual(arnOf(roleId));
      expect(JSON.stringify(json.Resources[roleId].Properties.ManagedPolicyArns ?? [])).not.toContain(
        'AWSLambdaBasicExecutionRole',
      );
    }
  });
});

describe('context validation', () => {
  const read = (context: Record<string, unknown>) => (key: string) => context[key];

  test.each([
    ['transformBatchSize', 0],
    ['transformBatchSize', '0'],
    ['streamMode', 'fast'],
    ['logRetentionDays', 13],
    ['logRetentionDays', '13'],
    ['alertEmail', 'not-an-email'],
    ['retainData', 'yes'],
    ['inputShardCount', 'abc'],
    ['namePrefix', 'Dev_'],
  ])('readPipelineConfig rejects %s=%p with an error naming the key and the value', (key, value) => {
    expect(() => readPipelineConfig(read({ [key]: value }))).toThrow(`${key}=${JSON.stringify(value)}`);
  });

  test.each([['0'], ['501'], ['2.5'], ['many']])(
    'readPipelineConfig rejects tableKeySuffixes=%p, saying what it takes',
    (value) => {
      expect(() => readPipelineConfig(read({ tableKeySuffixes: value }))).toThrow(
        `tableKeySuffixes="${value}": must be a whole number of key suffixes from 1 to 500`,
      );
    },
  );

  test('tableKeySuffixes defaults to inputShardCount, and to 4 with on-demand streams', () => {
    expect(readPipelineConfig(() => undefined).tableKeySuffixes).toBe(1);
    expect(readPipelineConfig(read({ inputShardCount: '12' })).tableKeySuffixes).toBe(12);
    expect(readPipelineConfig(read({ streamMode: 'on-demand' })).tableKeySuffixes).toBe(4);
    expect(readPipelineConfig(read({ inputShardCount: '12', tableKeySuffixes: 2 })).tableKeySuffixes).toBe(2);
  });

  test('readPipelineConfig reports every bad value at once', () => {
    expect(() => readPipelineConfig(read({ streamMode: 'fast', transformBatchSize: 0 }))).toThrow(
      /streamMode="fast"[\s\S]*transformBatchSize=0/,
    );
  });

  test('readPipelineConfig accepts the string forms given by -c and converts them', () => {
    const config = readPipelineConfig(
      read({
        transformBatchSize: '200',
        retainData: 'true',
        pointInTimeRecovery: 'false',
        logRetentionDays: '30',
        scoreThreshold: '0.7',
        streamMode: 'on-demand',
        alertEmail: 'ops@example.com',
      }),
    );
    expect(config).toMatchObject({
      transformBatchSize: 200,
      retainData: true,
      pointInTimeRecovery: false,
      logRetentionDays: 30,
      scoreThreshold: 0.7,
      streamMode: 'on-demand',
      alertEmail: 'ops@example.com',
    });
  });

  test('readPipelineConfig gives the documented defaults when no context is set', () => {
    expect(readPipelineConfig(() => undefined)).toMatchObject({
      namePrefix: '',
      streamMode: 'provisioned',
      streamRetentionHours: 24,
      transformBatchSize: 100,
      transformBatchingWindowSeconds: 10,
      transformRetryAttempts: 3,
      transformMaxRecordAgeSeconds: 3600,
      tableBillingMode: 'on-demand',
      pointInTimeRecovery: true,
      readingsTtlDays: 2,
      detectorStateSaveSeconds: 60,
      dataExpirationDays: 90,
      logRetentionDays: 14,
      retainData: false,
    });
  });

  test('buildApp fails before synth on bad context, naming the key', () => {
    expect(() => buildApp({ context: { 'aws:cdk:bundling-stacks': [], transformBatchSize: '0' } })).toThrow(
      'transformBatchSize="0"',
    );
  });
});

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['default context', {}],
    ['retainData=true', RETAINED_DATA],
    ['tableBillingMode=provisioned', PROVISIONED_TABLE],
    ['alertEmail set (with the other overrides)', OVERRIDES],
    ['streamMode=on-demand', ON_DEMAND_STREAMS],
  ])('the app passes every AwsSolutions rule with no unacknowledged finding (%s)', (_name, context) => {
    const report = new AwsSolutionsChecks().validateScope(synthPipeline(context).app);
    expect(describeViolations(report)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('app.synth() runs the AwsSolutions plugin registered by buildApp and does not throw', () => {
    const validate = jest.spyOn(AwsSolutionsChecks.prototype, 'validate');
    try {
      expect(() => base.app.synth({ force: true })).not.toThrow();
      expect(validate).toHaveBeenCalledTimes(1);
      expect(validate.mock.results[0]).toMatchObject({
        type: 'return',
        value: { success: true, violations: [] },
      });
    } finally {
      validate.mockRestore();
    }
  });
});

describe('stack outputs', () => {
  test('the outputs name the input stream, the readings table, both buckets and the alerts topic', () => {
    const outputs: [string, Json][] = [
      ['InputStreamName', ref(ids.input)],
      ['ReadingsTableName', ref(ids.table)],
      ['ProcessedBucketName', ref(ids.processedBucket)],
      ['RawBucketName', ref(ids.rawBucket)],
      ['AlertsTopicArn', ref(ids.topic)],
    ];
    for (const [name, value] of outputs) base.template.hasOutput(name, { Value: value });
  });
});
