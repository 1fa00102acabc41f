import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { curationStatement } from '../../lib/constructs/analytics-sql';
import {
  arnOf,
  describeViolations,
  type Json,
  logicalIdAt,
  ref,
  resourcesOfType,
  statementsOfRole,
  synthPipeline,
} from './helpers';

/**
 * The curated zone's orchestration (lib/constructs/curation.ts): the hourly schedule, the state
 * machine's steps, its role (every statement), its topic, its alarm, the lifecycle of the CSV lake.
 */

const base = synthPipeline();
const { json } = base;
const id = (path: string) => logicalIdAt(base.stack, path);

/** A CloudFormation value as text: `${LogicalId}` for a Ref, `${LogicalId.Attribute}` for a GetAtt. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value.Ref) return `\${${value.Ref}}`;
  if (value['Fn::GetAtt']) return `\${${value['Fn::GetAtt'].join('.')}}`;
  if (value['Fn::Join']) return value['Fn::Join'][1].map(render).join(value['Fn::Join'][0]);
  return JSON.stringify(value);
}

const [[stateMachineId, stateMachine]] = resourcesOfType(json, 'AWS::StepFunctions::StateMachine');
/** `${AWS::Partition}` and the like, as render() writes a reference. */
const cfn = (name: string) => `\${${name}}`;
const task = `arn:${cfn('AWS::Partition')}:states:::`;
const definition = JSON.parse(render(stateMachine.Properties.DefinitionString));
const states = definition.States as Record<string, Json>;

describe('the curation state machine', () => {
  test('JSONata, its steps in order: the hour, the statements, empty the folder, curate, count, notify', () => {
    expect(definition.QueryLanguage).toBe('JSONata');
    expect(definition.StartAt).toBe('LastClosedHour');
    expect(Object.keys(states).sort()).toEqual(
      [
        'LastClosedHour',
        'Statements',
        'ListCurated',
        'AnythingCurated',
        'DeleteCurated',
        'Curate',
        'CountRows',
        'ReadCounts',
        'CountsMatch',
        'NotifyCurated',
        'CountsDiffer',
        'NotifyFailure',
        'CurationFailed',
      ].sort(),
    );
    expect(states.LastClosedHour.Next).toBe('Statements');
    expect(states.Statements.Next).toBe('ListCurated');
    expect(states.ListCurated).toMatchObject({
      Type: 'Task',
      Resource: `${task}aws-sdk:s3:listObjectsV2`,
      Arguments: { Bucket: `\${${id('ProcessedBucket')}}`, Prefix: '{% $folder %}' },
      Next: 'AnythingCurated',
    });
    expect(states.AnythingCurated.Choices).toEqual([
      { Condition: '{% $count($states.input.keys) > 0 %}', Next: 'DeleteCurated' },
    ]);
    expect(states.AnythingCurated.Default).toBe('Curate');
    expect(states.DeleteCurated).toMatchObject({ Type: 'Map', Next: 'ListCurated', MaxConcurrency: 10 });
    const deleteObject = states.DeleteCurated.ItemProcessor.States.DeleteObject;
    expect(deleteObject.Resource).toBe(`${task}aws-sdk:s3:deleteObject`);
    expect(states.Curate).toMatchObject({
      Resource: `${task}athena:startQueryExecution.sync`,
      Next: 'CountRows',
    });
    expect(states.CountRows.Next).toBe('ReadCounts');
    expect(states.ReadCounts).toMatchObject({
      Resource: `${task}athena:getQueryResults`,
      Next: 'CountsMatch',
    });
    expect(states.CountsMatch).toMatchObject({
      Choices: [
        {
          Condition: '{% $states.input.curatedReadings = $states.input.lakeReadings %}',
          Next: 'NotifyCurated',
        },
      ],
      Default: 'CountsDiffer',
    });
    expect(states.NotifyCurated).toMatchObject({
      Resource: `${task}sns:publish`,
      Arguments: { TopicArn: `\${${id('Curation/Topic')}}` },
      End: true,
    });
    expect(states.CountsDiffer.Next).toBe('NotifyFailure');
    expect(states.NotifyFailure).toMatchObject({
      Arguments: { TopicArn: `\${${id('Monitoring/OpsTopic')}}` },
      Next: 'CurationFailed',
    });
    expect(states.CurationFailed.Type).toBe('Fail');
    for (const name of ['ListCurated', 'DeleteCurated', 'Curate', 'CountRows', 'ReadCounts'])
      expect(states[name].Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: 'NotifyFailure' }]);
  });

  test('the hour: input.hour when started by hand, else the hour before the scheduled time', () => {
    expect(states.LastClosedHour.Output.hourMs).toBe(
      '{% $floor(($exists($states.input.hour) ? $toMillis($states.input.hour) : $toMillis($states.input.time) - 3600000) / 3600000) * 3600000 %}',
    );
    expect(states.Statements.Assign).toMatchObject({
      dt: "{% $fromMillis($states.input.hourMs, '[Y0001]-[M01]-[D01]') %}",
      hour: "{% $fromMillis($states.input.hourMs, '[H01]') %}",
      previousDt: "{% $fromMillis($states.input.hourMs - 3600000, '[Y0001]-[M01]-[D01]') %}",
      previousHour: "{% $fromMillis($states.input.hourMs - 3600000, '[H01]') %}",
    });
  });

  test('the queries are the files of sql/curation/, in the workgroup and database, the hour filled in when they run', () => {
    const database = 'sensor_pipeline';
    const statement = (file: 'curate_hour.sql' | 'check_counts.sql') =>
      curationStatement(file)
        .replaceAll(cfn('DATABASE'), database)
        .replaceAll(cfn('PROCESSED_BUCKET'), cfn(id('ProcessedBucket')));
    expect(states.Statements.Assign.curateSql).toBe(statement('curate_hour.sql'));
    expect(states.Statements.Assign.countSql).toBe(statement('check_counts.sql'));
    expect(states.Statements.Assign.curateSql).toMatch(/^UNLOAD \(/);
    const fill = (variable: string) =>
      `{% $replace($replace($replace($replace($${variable}, '{PREVIOUS_DT}', $previousDt), '{PREVIOUS_HOUR}', $previousHour), '{DT}', $dt), '{HOUR}', $hour) %}`;
    for (const [state, variable] of [
      ['Curate', 'curateSql'],
      ['CountRows', 'countSql'],
    ])
      expect(states[state].Arguments).toEqual({
        QueryString: fill(variable),
        QueryExecutionContext: { Database: database },
        ResultConfiguration: {},
        WorkGroup: `\${${id('Analytics/WorkGroup')}}`,
      });
  });

  test('logs every event to a log group of its own, traced, times out after 30 minutes', () => {
    expect(definition.TimeoutSeconds).toBe(1800);
    expect(stateMachine.Properties).toMatchObject({
      StateMachineName: 'sensor-pipeline-curation',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: arnOf(id('Curation/Logs')) } }],
      },
    });
  });

  test('an EventBridge rule starts it 15 minutes past every hour', () => {
    base.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(15 * * * ? *)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: ref(stateMachineId),
          RetryPolicy: { MaximumRetryAttempts: 3 },
          RoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
          Id: Match.anyValue(),
        },
      ],
    });
    const variant = synthPipeline({ curationDelayMinutes: '25' });
    variant.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(25 * * * ? *)' });
  });

  test('its role: exactly these statements', () => {
    const role = stateMachine.Properties.RoleArn['Fn::GetAtt'][0];
    const bucket = arnOf(id('ProcessedBucket'));
    const results = arnOf(id('Analytics/ResultsBucket'));
    const objects = (arn: Json, prefix: string) => ({ 'Fn::Join': ['', [arn, `/${prefix}`]] });
    const glue = (resource: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          ref('AWS::Partition'),
          ':glue:',
          ref('AWS::Region'),
          ':',
          ref('AWS::AccountId'),
          `:${resource}`,
        ],
      ],
    });
    expect(statementsOfRole(json, role)).toEqual([
      {
        Sid: 'RunTheCurationQueriesInTheWorkGroup',
        Effect: 'Allow',
        Action: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
        ],
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              ref('AWS::Partition'),
              ':athena:',
              ref('AWS::Region'),
              ':',
              ref('AWS::AccountId'),
              ':workgroup/',
              ref(id('Analytics/WorkGroup')),
            ],
          ],
        },
      },
      {
        Sid: 'ReadTheCatalogOfTheTwoTables',
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable'],
        Resource: [
          glue('catalog'),
          glue('database/sensor_pipeline'),
          glue('table/sensor_pipeline/processed_readings'),
          glue('table/sensor_pipeline/curated_readings'),
        ],
      },
      {
        Sid: 'ReadTheCsvLake',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: objects(bucket, 'readings/*'),
      },
      {
        Sid: 'WriteAndEmptyTheCuratedZone',
        Effect: 'Allow',
        Action: [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        Resource: objects(bucket, 'curated/*'),
      },
      {
        Sid: 'ListTheLakeAndTheCuratedZone',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucket,
        Condition: { StringLike: { 's3:prefix': ['readings/*', 'curated/*'] } },
      },
      {
        Sid: 'WriteAndReadTheQueryResults',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: objects(results, 'results/*'),
      },
      {
        Sid: 'ListTheQueryResults',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: results,
        Condition: { StringLike: { 's3:prefix': ['results/*'] } },
      },
      { Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: [bucket, results] },
      {
        Sid: 'NotifyTheTwoTopics',
        Effect: 'Allow',
        Action: 'sns:Publish',
        Resource: [ref(id('Curation/Topic')), ref(id('Monitoring/OpsTopic'))],
      },
      {
        Sid: 'EncryptForTheTopics',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: arnOf(id('PipelineKey')),
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['sns.', ref('AWS::Region'), '.amazonaws.com']] },
          },
        },
      },
      {
        Sid: 'DeliverTheLogs',
        Effect: 'Allow',
        Action: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        Resource: '*',
      },
      {
        Sid: 'TraceWithXRay',
        Effect: 'Allow',
        Action: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        Resource: '*',
      },
    ]);
  });

  test('the curated-data topic: encrypted with the stack key, TLS only, an address subscribed with curatedEmail', () => {
    base.template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'curated-data',
      KmsMasterKeyId: arnOf(id('PipelineKey')),
    });
    const topicPolicies = resourcesOfType(json, 'AWS::SNS::TopicPolicy').filter(([, p]) =>
      JSON.stringify(p.Properties.Topics).includes(id('Curation/Topic')),
    );
    expect(JSON.stringify(topicPolicies)).toContain('"aws:SecureTransport":"false"');
    expect(
      resourcesOfType(json, 'AWS::SNS::Subscription').map(([, s]) => s.Properties.TopicArn),
    ).not.toContainEqual(ref(id('Curation/Topic')));
    const subscribed = synthPipeline({ curatedEmail: 'data@example.com' });
    subscribed.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'data@example.com',
      TopicArn: ref(logicalIdAt(subscribed.stack, 'Curation/Topic')),
    });
  });

  test('an alarm on failed, timed-out or aborted executions notifies the ops topic', () => {
    const [[, alarm]] = resourcesOfType(json, 'AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties.AlarmName === 'sensor-pipeline-curation-failed',
    );
    expect(alarm.Properties).toMatchObject({
      AlarmActions: [ref(id('Monitoring/OpsTopic'))],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    const metrics = alarm.Properties.Metrics as Json[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe(
      'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
    );
    expect(
      metrics
        .filter((m) => m.MetricStat)
        .map((m) => [m.Id, m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions, m.MetricStat.Stat])
        .sort(),
    ).toEqual(
      [
        ['aborted', 'ExecutionsAborted'],
        ['failed', 'ExecutionsFailed'],
        ['timedOut', 'ExecutionsTimedOut'],
      ].map(([mid, name]) => [mid, name, [{ Name: 'StateMachineArn', Value: ref(stateMachineId) }], 'Sum']),
    );
  });
});

describe('the CSV lake and the curated zone expire', () => {
  const rules = (synth: typeof base) =>
    synth.json.Resources[logicalIdAt(synth.stack, 'ProcessedBucket')].Properties.LifecycleConfiguration.Rules;

  test('CSV objects under readings/ after lakeRetentionDays (3), the curated zone with the rest after dataExpirationDays', () => {
    expect(rules(base)).toEqual([
      { Id: 'expire-data', ExpirationInDays: 90, Status: 'Enabled' },
      {
        Id: 'abort-incomplete-uploads',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        Status: 'Enabled',
      },
      { Id: 'expire-csv-lake', Prefix: 'readings/', ExpirationInDays: 3, Status: 'Enabled' },
    ]);
    expect(rules(synthPipeline({ lakeRetentionDays: '7', dataExpirationDays: '30' }))).toContainEqual({
      Id: 'expire-csv-lake',
      Prefix: 'readings/',
      ExpirationInDays: 7,
      Status: 'Enabled',
    });
  });

  test('curation=false: no state machine, no topic, the CSV lake kept dataExpirationDays', () => {
    const off = synthPipeline({ curation: 'false' });
    off.template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    expect(rules(off).map((rule: Json) => rule.Id)).toEqual(['expire-data', 'abort-incomplete-uploads']);
    expect(Object.keys(off.json.Outputs)).not.toContain('CurationStateMachineArn');
    expect(Object.keys(json.Outputs)).toEqual(
      expect.arrayContaining(['CurationStateMachineArn', 'CuratedTopicArn']),
    );
  });

  test('lakeRetentionDays may not exceed dataExpirationDays', () => {
    expect(() => synthPipeline({ lakeRetentionDays: '40', dataExpirationDays: '30' })).toThrow(
      /lakeRetentionDays="40": must be at most dataExpirationDays \(30\)/,
    );
  });
});

describe('cdk-nag AwsSolutions with the curation', () => {
  test.each([
    ['default context', {}],
    ['curatedEmail set', { curatedEmail: 'data@example.com' }],
  ])('no unacknowledged finding (%s)', (_name, context) => {
    const report = new AwsSolutionsChecks().validateScope(synthPipeline(context).app);
    expect(describeViolations(report)).toEqual([]);
  });
});

describe('the curated_readings Glue table', () => {
  test('Parquet (ZSTD) under curated/ of the processed bucket, the readings view’s columns, projected on dt/hour', () => {
    const [[, table]] = resourcesOfType(json, 'AWS::Glue::Table').filter(
      ([, t]) => t.Properties.TableInput.Name === 'curated_readings',
    );
    const input = table.Properties.TableInput;
    const location = (suffix: string) => ({
      'Fn::Join': ['', ['s3://', ref(id('ProcessedBucket')), suffix]],
    });
    expect(input.StorageDescriptor).toMatchObject({
      Location: location('/curated/'),
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    });
    expect(input.StorageDescriptor.Columns.map((c: Json) => `${c.Name} ${c.Type}`)).toEqual([
      'stream string',
      'shard_id string',
      'partition_key string',
      'sequence_number string',
      'reading_index int',
      'arrival_time string',
      'timestamp string',
      'equipment_id int',
      'vibration_amplitude double',
      'vibration_frequency double',
      'temperature double',
      'humidity double',
      'anomaly_score double',
      'is_anomaly boolean',
      'anomalous_features string',
      'reasons string',
      'model_version string',
    ]);
    expect(input.PartitionKeys).toEqual([
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ]);
    expect(input.Parameters).toMatchObject({
      'parquet.compression': 'ZSTD',
      'projection.enabled': 'true',
      'storage.location.template': location(`/curated/dt=${cfn('dt')}/hour=${cfn('hour')}/`),
    });
  });
});
