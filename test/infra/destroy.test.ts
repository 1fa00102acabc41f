import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { asArray, type Json, resourcesOfType, synthApp } from './helpers';

/**
 * `cdk destroy --all` must leave nothing behind and nothing billed. These tests walk every synthesized
 * template (pipeline, simulator, GitHub deploy role) and report each resource that the deletion of its
 * stack would keep, fail on, or leave beside it.
 */

/** Resource types CloudFormation snapshots (keeps a billed snapshot of) when no DeletionPolicy is given. */
const SNAPSHOT_BY_DEFAULT = [
  'AWS::RDS::DBCluster',
  'AWS::RDS::DBInstance',
  'AWS::Neptune::DBCluster',
  'AWS::DocDB::DBCluster',
  'AWS::Redshift::Cluster',
];
/** Data holders the CDK retains by default: each must say Delete, explicitly. */
const EXPLICIT_DELETE = [
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Kinesis::Stream',
  'AWS::KMS::Key',
  'AWS::Logs::LogGroup',
];
const KEPT = ['Retain', 'RetainExceptOnCreate', 'Snapshot'];

const refTo = (value: Json): string | undefined => (typeof value?.Ref === 'string' ? value.Ref : undefined);

/**
 * What `cdk destroy` would leave of this template, one line per problem. `retained` lists the logical
 * IDs that are meant to be kept (the data resources with retainData=true); they are reported only if
 * they are not actually kept.
 */
function leftovers(json: Json, retained: readonly string[] = []): string[] {
  const resources = (json.Resources ?? {}) as Record<string, Json>;
  const problems: string[] = [];
  const deleted = (id: string) => resources[id] !== undefined && !KEPT.includes(resources[id].DeletionPolicy);
  const isLogGroup = (id: string | undefined) =>
    id !== undefined && resources[id]?.Type === 'AWS::Logs::LogGroup' && deleted(id);

  for (const [id, r] of Object.entries(resources)) {
    const at = `${id} (${r.Type})`;
    const p = r.Properties ?? {};
    const policy: string | undefined = r.DeletionPolicy;
    const kept =
      KEPT.includes(policy ?? '') || (policy === undefined && SNAPSHOT_BY_DEFAULT.includes(r.Type));

    if (retained.includes(id)) {
      if (!kept) problems.push(`${at}: should be retained (retainData) but has DeletionPolicy ${policy}`);
      continue;
    }
    if (kept) {
      // A log stream goes with its log group: retaining it keeps nothing once the group is deleted.
      const inDeletedGroup = r.Type === 'AWS::Logs::LogStream' && isLogGroup(refTo(p.LogGroupName));
      if (!inDeletedGroup) problems.push(`${at}: DeletionPolicy ${policy ?? '(default: Snapshot)'}`);
      continue;
    }
    if (EXPLICIT_DELETE.includes(r.Type) && policy !== 'Delete')
      problems.push(`${at}: no explicit DeletionPolicy Delete`);

    switch (r.Type) {
      case 'AWS::S3::Bucket': {
        // CloudFormation cannot delete a bucket that holds objects.
        const emptiers = Object.values(resources).filter(
          (e) => e.Type === 'Custom::S3AutoDeleteObjects' && refTo(e.Properties?.BucketName) === id,
        );
        if (emptiers.length === 0) problems.push(`${at}: no Custom::S3AutoDeleteObjects empties it`);
        if (p.VersioningConfiguration?.Status === 'Enabled' && emptiers.length === 0)
          problems.push(`${at}: versioned, its old versions would stay`);
        break;
      }
      case 'AWS::Lambda::Function': {
        // Without a log group of the stack, Lambda creates /aws/lambda/<name> itself, and it stays.
        const logGroup = refTo(p.LoggingConfig?.LogGroup);
        if (!isLogGroup(logGroup))
          problems.push(
            `${at}: no log group of the stack, so Lambda creates /aws/lambda/<name>, which stays`,
          );
        break;
      }
      case 'AWS::DynamoDB::Table':
        if (p.DeletionProtectionEnabled === true)
          problems.push(`${at}: deletion protection makes destroy fail`);
        break;
      case 'AWS::DynamoDB::GlobalTable':
        if (asArray<Json>(p.Replicas).some((replica) => replica.DeletionProtectionEnabled === true))
          problems.push(`${at}: deletion protection makes destroy fail`);
        break;
      case 'AWS::EC2::Instance':
      case 'AWS::EC2::LaunchTemplate': {
        const data = r.Type === 'AWS::EC2::Instance' ? p : (p.LaunchTemplateData ?? {});
        if (data.DisableApiTermination === true)
          problems.push(`${at}: termination protection makes destroy fail`);
        for (const mapping of asArray<Json>(data.BlockDeviceMappings)) {
          if (mapping.Ebs?.DeleteOnTermination === false)
            problems.push(`${at}: volume ${mapping.DeviceName} is kept after the instance`);
        }
        break;
      }
      case 'AWS::Athena::WorkGroup':
        if (p.RecursiveDeleteOption !== true)
          problems.push(`${at}: without RecursiveDeleteOption, saved queries make destroy fail`);
        break;
      case 'AWS::ECR::Repository':
        if (p.EmptyOnDelete !== true) problems.push(`${at}: a repository holding images cannot be deleted`);
        break;
    }
  }
  return problems;
}

const REPOSITORY = { githubRepository: 'octo-org/sensor-anomaly-pipeline' };

/** Every stack of the app built with this context (the deploy role's included), with its template. */
function templatesOf(context: Record<string, unknown>) {
  const built = synthApp({ ...REPOSITORY, ...context });
  const stacks: Stack[] = [built.pipeline, built.simulator];
  if (built.deployRole) stacks.push(built.deployRole);
  return {
    ...built,
    stacks: stacks.map((stack) => ({ stack, json: Template.fromStack(stack).toJSON() as Json })),
  };
}

/** Logical IDs of the data resources, from the stack outputs that name them. */
function dataResources(pipelineJson: Json): string[] {
  return ['ReadingsTableName', 'ProcessedBucketName', 'RawBucketName'].map((name) => {
    const id = refTo(pipelineJson.Outputs?.[name]?.Value);
    if (!id) throw new Error(`output ${name} is not a Ref`);
    return id;
  });
}

describe('cdk destroy --all leaves nothing behind', () => {
  test.each<[string, Record<string, string>]>([
    ['default context', {}],
    [
      'provisioned table, on-demand streams, a name prefix',
      { tableBillingMode: 'provisioned', streamMode: 'on-demand', namePrefix: 'dev-' },
    ],
    ['simulator with SSH', { simulatorKeyPair: 'ops', simulatorSshCidr: '203.0.113.7/32' }],
  ])('no stack keeps or leaves a resource (%s)', (_name, context) => {
    const { stacks } = templatesOf(context);
    expect(stacks.map(({ stack }) => stack.stackName).sort()).toEqual(
      [
        `${context.namePrefix ?? ''}SensorPipeline`,
        `${context.namePrefix ?? ''}SensorSimulator`,
        'GithubDeployRole',
      ].sort(),
    );
    for (const { stack, json } of stacks) {
      expect({ stack: stack.stackName, problems: leftovers(json) }).toEqual({
        stack: stack.stackName,
        problems: [],
      });
      expect(stack.terminationProtection).toBeFalsy();
    }
  });

  test("the bucket auto-delete provider's function logs to a log group of the stack, created before and deleted after it", () => {
    const { stacks } = templatesOf({});
    const [{ json }] = stacks;
    const providers = resourcesOfType(json, 'AWS::Lambda::Function').filter(([id]) =>
      id.startsWith('CustomS3AutoDeleteObjectsCustomResourceProviderHandler'),
    );
    expect(providers).toHaveLength(1);
    const [[, handler]] = providers;
    const logGroupId = refTo(handler.Properties.LoggingConfig.LogGroup) as string;
    // A Ref: CloudFormation creates the group before the function and deletes it after.
    expect(json.Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Delete',
      Properties: { RetentionInDays: 14 },
    });
    // The emptiers, whose deletion invokes the function, depend on it, so they are deleted first.
    for (const [, emptier] of resourcesOfType(json, 'Custom::S3AutoDeleteObjects'))
      expect(emptier.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [providers[0][0], 'Arn'] });
  });

  test('with retainData=true exactly the data resources are kept (the table and both buckets), and nothing else', () => {
    const { stacks } = templatesOf({ retainData: 'true' });
    const [pipeline, ...others] = stacks;
    const data = dataResources(pipeline.json);
    const types = data.map((id) => pipeline.json.Resources[id].Type).sort();
    expect(types).toEqual(['AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket', 'AWS::S3::Bucket']);
    // Every table and bucket of the stack is one of them, but for buckets emptied and deleted even so
    // (the Athena query results).
    const emptied = new Set(
      resourcesOfType(pipeline.json, 'Custom::S3AutoDeleteObjects').map(([, r]) =>
        refTo(r.Properties.BucketName),
      ),
    );
    const holders = [
      ...resourcesOfType(pipeline.json, 'AWS::S3::Bucket'),
      ...resourcesOfType(pipeline.json, 'AWS::DynamoDB::GlobalTable'),
      ...resourcesOfType(pipeline.json, 'AWS::DynamoDB::Table'),
    ]
      .map(([id]) => id)
      .filter((id) => !emptied.has(id));
    expect(holders.sort()).toEqual([...data].sort());
    expect(leftovers(pipeline.json, data)).toEqual([]);
    for (const { stack, json } of others)
      expect({ [stack.stackName]: leftovers(json) }).toEqual({ [stack.stackName]: [] });
  });

  test('the default deployment retains none of the data resources', () => {
    const [pipeline] = templatesOf({}).stacks;
    const problems = leftovers(pipeline.json, dataResources(pipeline.json));
    expect(problems).toHaveLength(3);
    for (const problem of problems) expect(problem).toMatch(/should be retained/);
  });
});

describe('the leftovers check itself', () => {
  const LOGS = { Type: 'AWS::Logs::LogGroup', DeletionPolicy: 'Delete', Properties: {} };
  const lambda = (loggingConfig?: Json) => ({
    Type: 'AWS::Lambda::Function',
    Properties: { Runtime: 'nodejs22.x', ...(loggingConfig ? { LoggingConfig: loggingConfig } : {}) },
  });

  test.each<[string, Json, RegExp]>([
    [
      'a retained bucket',
      { B: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' } },
      /B .*DeletionPolicy Retain/,
    ],
    [
      'a bucket nobody empties',
      { B: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Delete' } },
      /B .*no Custom::S3AutoDeleteObjects/,
    ],
    [
      'a log group without DeletionPolicy',
      { L: { Type: 'AWS::Logs::LogGroup', Properties: {} } },
      /L .*no explicit DeletionPolicy Delete/,
    ],
    ['a retained log group', { L: { ...LOGS, DeletionPolicy: 'Retain' } }, /L .*DeletionPolicy Retain/],
    [
      'a Kinesis stream kept',
      { S: { Type: 'AWS::Kinesis::Stream', DeletionPolicy: 'RetainExceptOnCreate' } },
      /S .*RetainExceptOnCreate/,
    ],
    ['a retained KMS key', { K: { Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain' } }, /K .*Retain/],
    [
      'a database with the default policy',
      { D: { Type: 'AWS::RDS::DBCluster', Properties: {} } },
      /D .*default: Snapshot/,
    ],
    ['a function with an implicit log group', { F: lambda() }, /F .*Lambda creates \/aws\/lambda\//],
    [
      'a function logging to a retained group',
      { F: lambda({ LogGroup: { Ref: 'L' } }), L: { ...LOGS, DeletionPolicy: 'Retain' } },
      /F .*no log group of the stack/,
    ],
    [
      'a protected table',
      {
        T: {
          Type: 'AWS::DynamoDB::GlobalTable',
          DeletionPolicy: 'Delete',
          Properties: { Replicas: [{ DeletionProtectionEnabled: true }] },
        },
      },
      /T .*deletion protection/,
    ],
    [
      'a kept volume',
      {
        I: {
          Type: 'AWS::EC2::Instance',
          Properties: {
            BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }],
          },
        },
      },
      /I .*volume \/dev\/xvda/,
    ],
    [
      'an Athena workgroup with saved queries',
      { W: { Type: 'AWS::Athena::WorkGroup', Properties: {} } },
      /W .*RecursiveDeleteOption/,
    ],
  ])('reports %s', (_name, resources, expected) => {
    expect(leftovers({ Resources: resources })).toEqual(
      expect.arrayContaining([expect.stringMatching(expected)]),
    );
  });

  test('accepts a bucket with its emptier, a function with its own log group, a log stream retained in a deleted group', () => {
    expect(
      leftovers({
        Resources: {
          B: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Delete' },
          E: { Type: 'Custom::S3AutoDeleteObjects', Properties: { BucketName: { Ref: 'B' } } },
          F: lambda({ LogGroup: { Ref: 'L' } }),
          L: LOGS,
          S: {
            Type: 'AWS::Logs::LogStream',
            DeletionPolicy: 'Retain',
            Properties: { LogGroupName: { Ref: 'L' } },
          },
        },
      }),
    ).toEqual([]);
  });
});
