import { Match } from 'aws-cdk-lib/assertions';
import { READING_COLUMNS } from '../../lambdas/shared/processed-reading';
import { readPipelineConfig } from '../../lib/config';
import {
  actionsOf,
  arnOf,
  asArray,
  expectResource,
  iamStatements,
  type Json,
  logicalIdAt,
  ref,
  resourcesOfType,
  type Synthesized,
  synthPipeline,
} from './helpers';

/** The Glue database and tables, the Athena workgroup, its results bucket, named queries and query policy. */

const idsOf = ({ stack }: Synthesized) => ({
  database: logicalIdAt(stack, 'Analytics/Database'),
  processedTable: logicalIdAt(stack, 'Analytics/ProcessedReadingsTable'),
  rawTable: logicalIdAt(stack, 'Analytics/RawArchiveTable'),
  workGroup: logicalIdAt(stack, 'Analytics/WorkGroup'),
  resultsBucket: logicalIdAt(stack, 'Analytics/ResultsBucket'),
  policy: logicalIdAt(stack, 'Analytics/QueryPolicy'),
  processedBucket: logicalIdAt(stack, 'ProcessedBucket'),
  rawBucket: logicalIdAt(stack, 'RawArchive/Bucket'),
});

let base: Synthesized;
let ids: ReturnType<typeof idsOf>;
let json: Json;

beforeAll(() => {
  base = synthPipeline();
  ids = idsOf(base);
  json = base.json;
});

const s3Url = (bucketId: string, path: string) => ({ 'Fn::Join': ['', ['s3://', ref(bucketId), path]] });
const glueArn = (resource: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':glue:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${resource}`,
    ],
  ],
});

/** Partition projection on dt (days since 2020) and hour (00-23), as both lakes are keyed. */
const projection = (bucketId: string, prefix: string) => ({
  'projection.enabled': 'true',
  'projection.dt.type': 'date',
  'projection.dt.format': 'yyyy-MM-dd',
  'projection.dt.range': '2020-01-01,NOW',
  'projection.dt.interval': '1',
  'projection.dt.interval.unit': 'DAYS',
  'projection.hour.type': 'integer',
  'projection.hour.range': '0,23',
  'projection.hour.digits': '2',
  'storage.location.template': s3Url(bucketId, `/${prefix}dt=\${dt}/hour=\${hour}/`),
});

describe('Glue database and tables', () => {
  test('the database is sensor_pipeline in the account catalog, <prefix>_sensor_pipeline with a namePrefix', () => {
    expectResource(json, ids.database, 'AWS::Glue::Database', {
      Properties: { CatalogId: { Ref: 'AWS::AccountId' }, DatabaseInput: { Name: 'sensor_pipeline' } },
    });
    const variant = synthPipeline({ namePrefix: 'dev-2-' });
    expectResource(variant.json, idsOf(variant).database, 'AWS::Glue::Database', {
      Properties: { DatabaseInput: { Name: 'dev_2_sensor_pipeline' } },
    });
    base.template.resourceCountIs('AWS::Glue::Database', 1);
    base.template.resourceCountIs('AWS::Glue::Table', 3);
  });

  test('processed_readings: the CSV header as columns, OpenCSVSerde skipping the header, under readings/ of the processed bucket, projected on dt/hour', () => {
    const types: Record<string, string> = {
      reading_index: 'int',
      equipment_id: 'int',
      is_anomaly: 'boolean',
    };
    for (const column of [
      'vibration_amplitude',
      'vibration_frequency',
      'temperature',
      'humidity',
      'anomaly_score',
    ])
      types[column] = 'double';
    expectResource(json, ids.processedTable, 'AWS::Glue::Table', {
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseName: 'sensor_pipeline',
        TableInput: {
          Name: 'processed_readings',
          TableType: 'EXTERNAL_TABLE',
          Parameters: {
            EXTERNAL: 'TRUE',
            'skip.header.line.count': '1',
            ...projection(ids.processedBucket, 'readings/'),
          },
          PartitionKeys: [
            { Name: 'dt', Type: 'string' },
            { Name: 'hour', Type: 'string' },
          ],
          StorageDescriptor: {
            Columns: READING_COLUMNS.map((name) => ({ Name: name, Type: types[name] ?? 'string' })),
            Location: s3Url(ids.processedBucket, '/readings/'),
            InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            SerdeInfo: {
              SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
              Parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
            },
          },
        },
      },
      DependsOn: [ids.database],
    });
  });

  test('raw_archive: each GZIP line as one string, under raw/ of the raw bucket (where Firehose writes), projected on dt/hour', () => {
    expectResource(json, ids.rawTable, 'AWS::Glue::Table', {
      Properties: {
        DatabaseName: 'sensor_pipeline',
        TableInput: {
          Name: 'raw_archive',
          TableType: 'EXTERNAL_TABLE',
          Parameters: { EXTERNAL: 'TRUE', ...projection(ids.rawBucket, 'raw/') },
          PartitionKeys: [
            { Name: 'dt', Type: 'string' },
            { Name: 'hour', Type: 'string' },
          ],
          StorageDescriptor: {
            Columns: [{ Name: 'line', Type: 'string' }],
            Location: s3Url(ids.rawBucket, '/raw/'),
            InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            SerdeInfo: {
              SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
              Parameters: { 'serialization.format': '1' },
            },
          },
        },
      },
    });
    // The table's prefix is the one Firehose delivers to.
    const [[, stream]] = resourcesOfType(json, 'AWS::KinesisFirehose::DeliveryStream');
    expect(stream.Properties.ExtendedS3DestinationConfiguration.Prefix).toBe(
      'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
    );
  });
});

describe('Athena workgroup and its results', () => {
  test('the workgroup enforces its configuration: engine 3, SSE-S3 results under results/ of its own bucket, 100 GB scanned at most per query', () => {
    expectResource(json, ids.workGroup, 'AWS::Athena::WorkGroup', {
      Properties: {
        Name: 'sensor-pipeline',
        State: 'ENABLED',
        RecursiveDeleteOption: true,
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: true,
          BytesScannedCutoffPerQuery: 100_000_000_000,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: {
            OutputLocation: s3Url(ids.resultsBucket, '/results/'),
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
            ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
          },
        },
      },
    });
    base.template.resourceCountIs('AWS::Athena::WorkGroup', 1);
  });

  test('athenaScanLimitGb and namePrefix from context set the cutoff and the name', () => {
    const variant = synthPipeline({ athenaScanLimitGb: '2.5', namePrefix: 'dev-' });
    expectResource(variant.json, idsOf(variant).workGroup, 'AWS::Athena::WorkGroup', {
      Properties: {
        Name: 'dev-sensor-pipeline',
        WorkGroupConfiguration: { BytesScannedCutoffPerQuery: 2_500_000_000 },
      },
    });
    const read = (context: Record<string, unknown>) => (key: string) => context[key];
    expect(readPipelineConfig(read({})).athenaScanLimitGb).toBe(100);
    // Athena's minimum is 10 MB.
    expect(() => readPipelineConfig(read({ athenaScanLimitGb: '0.001' }))).toThrow(
      'athenaScanLimitGb="0.001"',
    );
  });

  test('the results bucket is private, SSE-S3, keeps results 7 days, and is emptied and deleted by cdk destroy, even with retainData=true', () => {
    for (const variant of [base, synthPipeline({ retainData: 'true' })]) {
      const bucketId = idsOf(variant).resultsBucket;
      expectResource(variant.json, bucketId, 'AWS::S3::Bucket', {
        Properties: {
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LifecycleConfiguration: {
            Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })]),
          },
        },
        DeletionPolicy: 'Delete',
      });
      const emptiers = resourcesOfType(variant.json, 'Custom::S3AutoDeleteObjects').filter(
        ([, r]) => r.Properties.BucketName?.Ref === bucketId,
      );
      expect(emptiers).toHaveLength(1);
      // The workgroup goes first, so no query writes into the bucket once it is emptied.
      expectResource(variant.json, idsOf(variant).workGroup, 'AWS::Athena::WorkGroup', {
        DependsOn: Match.arrayWith([emptiers[0][0]]),
      });
    }
  });

  test('each named query runs in the workgroup against the database', () => {
    const queries = resourcesOfType(json, 'AWS::Athena::NamedQuery');
    expect(queries.length).toBeGreaterThanOrEqual(8);
    for (const [, query] of queries)
      expect(query.Properties).toMatchObject({ Database: 'sensor_pipeline', WorkGroup: ref(ids.workGroup) });
  });

  test('the outputs name the database, the workgroup and the query policy', () => {
    base.template.hasOutput('GlueDatabaseName', { Value: 'sensor_pipeline' });
    base.template.hasOutput('AthenaWorkGroupName', { Value: ref(ids.workGroup) });
    base.template.hasOutput('AthenaQueryPolicyArn', { Value: ref(ids.policy) });
  });
});

describe('IAM: the query policy', () => {
  const statements = () =>
    iamStatements(json)
      .filter((s) => s.source === ids.policy)
      .map((s) => s.statement);

  test('is attached to nobody: users attach it to whoever queries', () => {
    const policy = json.Resources[ids.policy];
    expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(policy.Properties.Roles ?? policy.Properties.Users ?? policy.Properties.Groups).toBeUndefined();
  });

  test('allows only, with no wildcard action and no Resource "*"', () => {
    expect(statements().length).toBeGreaterThan(5);
    for (const statement of statements()) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.NotAction ?? statement.NotResource).toBeUndefined();
      expect(asArray(statement.Resource)).not.toContain('*');
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
    }
  });

  test('Athena actions on the workgroup only, query actions only (no workgroup or named-query changes)', () => {
    const athena = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('athena:')));
    expect(athena).toHaveLength(1);
    expect(athena[0].Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':athena:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':workgroup/',
          ref(ids.workGroup),
        ],
      ],
    });
    for (const action of actionsOf(athena[0]))
      expect(action).toMatch(
        /^athena:(Start|Stop|Get|List|BatchGet)(QueryExecution|QueryResults|QueryRuntimeStatistics|QueryExecutions|WorkGroup|NamedQuery|NamedQueries)$/,
      );
  });

  test('Glue: reads the catalog of this database; creates and updates only the views of sql/, by name', () => {
    const glue = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('glue:')));
    const catalog = glueArn('catalog');
    const database = glueArn('database/sensor_pipeline');
    const reads = glue.find((s) => actionsOf(s).includes('glue:GetTable'));
    expect(actionsOf(reads).sort()).toEqual(['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables']);
    expect(reads.Resource).toEqual([catalog, database, glueArn('table/sensor_pipeline/*')]);
    const writes = glue.find((s) => actionsOf(s).includes('glue:CreateTable'));
    expect(actionsOf(writes).sort()).toEqual(['glue:CreateTable', 'glue:UpdateTable']);
    expect(writes.Resource).toEqual([
      catalog,
      database,
      ...['raw_readings', 'readings', 'readings_per_minute', 'streamdata_last3_view', 'streamdata_view'].map(
        (view) => glueArn(`table/sensor_pipeline/${view}`),
      ),
    ]);
    // Nothing else: no DeleteTable, no database or partition changes.
    expect(glue).toHaveLength(2);
  });

  test('S3: reads readings/ and curated/ of the processed bucket and raw/ of the raw bucket (never quarantine/), writes only results/ of the results bucket', () => {
    const s3 = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    const objects = (bucketId: string, prefix: string) => ({
      'Fn::Join': ['', [arnOf(bucketId), `/${prefix}`]],
    });
    const get = s3.find((s) => JSON.stringify(actionsOf(s)) === '["s3:GetObject"]');
    expect(get.Resource).toEqual([
      objects(ids.processedBucket, 'curated/*'),
      objects(ids.processedBucket, 'readings/*'),
      objects(ids.rawBucket, 'raw/*'),
    ]);
    for (const [bucketId, prefixes] of [
      [ids.processedBucket, ['curated/*', 'readings/*']],
      [ids.rawBucket, ['raw/*']],
    ]) {
      expect(s3).toContainEqual(
        expect.objectContaining({
          Action: 's3:ListBucket',
          Resource: arnOf(bucketId as string),
          Condition: { StringLike: { 's3:prefix': prefixes } },
        }),
      );
    }
    const writes = s3.filter((s) => actionsOf(s).some((a) => /^s3:(Put|Delete|Abort)/.test(a)));
    expect(writes).toHaveLength(1);
    expect(writes[0].Resource).toEqual(objects(ids.resultsBucket, 'results/*'));
    expect(actionsOf(writes[0]).filter((a) => a.startsWith('s3:Delete'))).toEqual([]);
    // Nothing names the quarantine, and the data buckets are only read.
    expect(JSON.stringify(s3)).not.toContain('quarantine');
    for (const statement of s3) {
      const onData = JSON.stringify(statement.Resource).match(
        new RegExp(`${ids.processedBucket}|${ids.rawBucket}`),
      );
      if (onData)
        for (const action of actionsOf(statement))
          expect(['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation']).toContain(action);
    }
  });
});
