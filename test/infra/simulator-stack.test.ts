import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSimulatorConfig } from '../../lib/config';
import { SimulatorBundle } from '../../lib/constructs/simulator-bundle';
import { SimulatorHost } from '../../lib/constructs/simulator-host';
import { buildApp } from '../../lib/pipeline-app';
import {
  actionsOf,
  arnOf,
  asArray,
  describeViolations,
  iamStatements,
  type Json,
  logicalIdAt,
  ref,
  resourcesOfType,
  type Synthesized,
  statementsOfRole,
  synthApp,
  synthPipeline,
  synthSimulator,
} from './helpers';

const KEY_PAIR = { simulatorKeyPair: 'ops-key', simulatorSshCidr: '203.0.113.0/24' };
const NOT_STARTED = { simulatorStart: 'false' };
const VARIANT = { simulatorRate: '500', simulatorInstanceType: 'm7g.medium', namePrefix: 'dev-' };

/** Everything the instance role may do; anything else fails the least-privilege test. */
const ALLOWED_ACTIONS = [
  'kinesis:PutRecord',
  'kinesis:PutRecords',
  's3:GetObject',
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];
const DATA_SERVICES = ['s3:', 'dynamodb:', 'kinesis:', 'sns:', 'sqs:', 'firehose:'];

function idsOf({ stack }: Synthesized<Stack>) {
  const host = stack.node.findChild('Simulator') as SimulatorHost;
  return {
    // Not logicalIdAt: userDataCausesReplacement suffixes the instance's logical ID with a hash of its user data.
    instance: stack.resolve(host.instance.instanceId).Ref as string,
    role: logicalIdAt(stack, 'Simulator/Role'),
    securityGroup: logicalIdAt(stack, 'Simulator/SecurityGroup'),
    vpc: logicalIdAt(stack, 'Network/Vpc'),
    flowLogs: logicalIdAt(stack, 'Network/FlowLogs'),
  };
}

/**
 * A CloudFormation value as text: strings as they are, `Ref` as `${Name}`, `Fn::Sub` as its template,
 * `Fn::ImportValue` as `${Import:<export name>}`, `Fn::Join` joined.
 */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value.Ref) return `\${${value.Ref}}`;
  if (value['Fn::Sub']) return value['Fn::Sub'];
  if (value['Fn::ImportValue']) return `\${Import:${value['Fn::ImportValue']}}`;
  if (value['Fn::Join']) return value['Fn::Join'][1].map(render).join(value['Fn::Join'][0]);
  if (value['Fn::GetAtt']) return `\${${value['Fn::GetAtt'].join('.')}}`;
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The user data script of the instance, rendered as text. */
function userDataOf(synth: Synthesized<Stack>): string {
  const instance = synth.json.Resources[idsOf(synth).instance];
  return render(instance.Properties.UserData['Fn::Base64']);
}

/** `${Import:name}` for the pipeline output exporting this value (a Ref or GetAtt of the input stream). */
function importOf(pipeline: Synthesized, value: Json): string {
  const exported = Object.values(pipeline.json.Outputs as Record<string, Json>).filter(
    (output) => output.Export && JSON.stringify(output.Value) === JSON.stringify(value),
  );
  expect(exported).toHaveLength(1);
  return `\${Import:${exported[0].Export.Name}}`;
}

/** The input stream's name and ARN, as the simulator stack imports them from the pipeline stack. */
function inputStreamImports(context: Record<string, unknown> = {}) {
  const pipeline = synthPipeline(context);
  const input = logicalIdAt(pipeline.stack, 'Streams/Input');
  return { name: importOf(pipeline, ref(input)), arn: importOf(pipeline, arnOf(input)) };
}

/** The asset's `s3://bucket/key`, rendered as in the template. */
function bundleUrlOf({ stack }: Synthesized<Stack>): { url: string; key: string } {
  const bundle = stack.node.findChild('Bundle') as SimulatorBundle;
  return {
    url: render(stack.resolve(bundle.asset.s3ObjectUrl)),
    key: render(stack.resolve(bundle.asset.s3ObjectKey)),
  };
}

/** Ingress rules of the template: inline in security groups, and standalone resources. */
function ingressRules(json: Json): Json[] {
  return [
    ...resourcesOfType(json, 'AWS::EC2::SecurityGroup').flatMap(([, sg]) =>
      asArray<Json>(sg.Properties.SecurityGroupIngress),
    ),
    ...resourcesOfType(json, 'AWS::EC2::SecurityGroupIngress').map(([, rule]) => rule.Properties),
  ];
}

let base: Synthesized<Stack>;
let ids: ReturnType<typeof idsOf>;
let json: Json;

beforeAll(() => {
  base = synthSimulator();
  ids = idsOf(base);
  json = base.json;
});

describe('the SensorSimulator stack', () => {
  test('is a stack of its own that depends on the pipeline stack (deployed after it, destroyed before it), named with namePrefix', () => {
    const { app, pipeline, simulator } = synthApp(VARIANT);
    expect(simulator.stackName).toBe('dev-SensorSimulator');
    expect(pipeline.stackName).toBe('dev-SensorPipeline');
    // What cdk deploy and cdk destroy order the stacks by.
    const assembly = app.synth();
    expect(assembly.getStackArtifact(simulator.artifactId).dependencies.map((a) => a.id)).toContain(
      pipeline.artifactId,
    );
    expect(assembly.getStackArtifact(pipeline.artifactId).dependencies.map((a) => a.id)).not.toContain(
      simulator.artifactId,
    );
    expect(assembly.stacks.map((stack) => stack.stackName).sort()).toEqual([
      'dev-SensorPipeline',
      'dev-SensorSimulator',
    ]);
  });

  test('needs no availability-zone lookup, also with a known account and region', () => {
    const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
    process.env.CDK_DEFAULT_ACCOUNT = '123456789012';
    process.env.CDK_DEFAULT_REGION = 'eu-west-1';
    try {
      const { app, simulator } = buildApp({ context: { 'aws:cdk:bundling-stacks': [] } });
      const assembly = app.synth({ validateOnSynthesis: false });
      expect(assembly.manifest.missing ?? []).toEqual([]);
      const userData = render(
        assembly.getStackArtifact(simulator.artifactId).template.Resources[
          simulator.resolve(simulator.host.instance.instanceId).Ref
        ].Properties.UserData['Fn::Base64'],
      );
      expect(userData).toContain('--region eu-west-1 --rate 3000');
      expect(userData).toContain('Environment=AWS_REGION=eu-west-1');
    } finally {
      for (const [key, value] of [
        ['CDK_DEFAULT_ACCOUNT', saved.account],
        ['CDK_DEFAULT_REGION', saved.region],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe('network', () => {
  test('a VPC with one public subnet, an internet gateway and no NAT gateway', () => {
    base.template.resourceCountIs('AWS::EC2::VPC', 1);
    base.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    base.template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    const subnets = resourcesOfType(json, 'AWS::EC2::Subnet');
    expect(subnets).toHaveLength(1);
    expect(subnets[0][1].Properties).toMatchObject({ MapPublicIpOnLaunch: true, VpcId: ref(ids.vpc) });
    expect(json.Resources[ids.instance].Properties.SubnetId).toEqual(ref(subnets[0][0]));
  });

  test('flow logs of all traffic go to a log group with a retention, deleted with the stack', () => {
    base.template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceId: ref(ids.vpc),
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: ref(ids.flowLogs),
    });
    expect(json.Resources[ids.flowLogs]).toMatchObject({
      Properties: { RetentionInDays: 14 },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });
});

describe('the instance', () => {
  test('requires IMDSv2 (HttpTokens=required in its launch template)', () => {
    const launchTemplate = json.Resources[ids.instance].Properties.LaunchTemplate;
    const [templateId] = launchTemplate.Version['Fn::GetAtt'];
    expect(json.Resources[templateId]).toMatchObject({
      Type: 'AWS::EC2::LaunchTemplate',
      Properties: { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } },
    });
  });

  test('runs the latest Amazon Linux 2023 for arm64 on t4g.small by default, simulatorInstanceType from context', () => {
    const instance = json.Resources[ids.instance].Properties;
    expect(instance.InstanceType).toBe('t4g.small');
    const imageParameter = json.Parameters[instance.ImageId.Ref];
    expect(imageParameter).toMatchObject({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' });
    expect(imageParameter.Default).toMatch(/^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-.*-arm64$/);

    const variant = synthSimulator(VARIANT);
    expect(variant.json.Resources[idsOf(variant).instance].Properties.InstanceType).toBe('m7g.medium');
  });

  test('has one root volume, encrypted gp3, deleted with the instance', () => {
    expect(json.Resources[ids.instance].Properties.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/xvda',
        Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 8, DeleteOnTermination: true },
      },
    ]);
    base.template.resourceCountIs('AWS::EC2::Volume', 0);
  });

  test('has no key pair and no inbound rule by default; outbound is HTTPS only', () => {
    expect(json.Resources[ids.instance].Properties.KeyName).toBeUndefined();
    expect(ingressRules(json)).toEqual([]);
    expect(json.Resources[ids.instance].Properties.SecurityGroupIds).toEqual([
      { 'Fn::GetAtt': [ids.securityGroup, 'GroupId'] },
    ]);
    expect(json.Resources[ids.securityGroup].Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    base.template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  });

  test('with simulatorKeyPair and simulatorSshCidr: that key pair, and exactly one inbound rule, port 22 from that CIDR', () => {
    const variant = synthSimulator(KEY_PAIR);
    const v = idsOf(variant);
    expect(variant.json.Resources[v.instance].Properties.KeyName).toBe('ops-key');
    expect(ingressRules(variant.json)).toEqual([
      expect.objectContaining({ CidrIp: '203.0.113.0/24', IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }),
    ]);
  });

  test.each([
    [
      { simulatorKeyPair: 'k', simulatorSshCidr: '0.0.0.0/0' },
      'simulatorSshCidr="0.0.0.0/0": SSH from the whole internet is refused',
    ],
    [{ simulatorKeyPair: 'k', simulatorSshCidr: '198.51.100.7/0' }, 'simulatorSshCidr="198.51.100.7/0"'],
    [{ simulatorKeyPair: 'k', simulatorSshCidr: '203.0.113.7/24' }, 'has bits set past its prefix length'],
    [{ simulatorKeyPair: 'k', simulatorSshCidr: '2001:db8::/32' }, 'must be an IPv4 CIDR block'],
    [{ simulatorKeyPair: 'k' }, 'simulatorSshCidr=(not set): is required with simulatorKeyPair'],
    [{ simulatorSshCidr: '203.0.113.0/24' }, 'simulatorKeyPair=(not set): is required with simulatorSshCidr'],
  ])('buildApp refuses SSH context %p before synth', (context, message) => {
    expect(() => buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context } })).toThrow(message);
  });

  test('the construct itself refuses SSH from 0.0.0.0/0, whatever validated its input', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, restrictDefaultSecurityGroup: false });
    const stream = new kinesis.Stream(stack, 'Stream');
    const bundle = new SimulatorBundle(stack, 'Bundle');
    expect(
      () =>
        new SimulatorHost(stack, 'Host', {
          vpc,
          stream,
          bundle: bundle.asset,
          instanceType: 't4g.small',
          rate: 1,
          start: true,
          keyPairName: 'k',
          sshCidr: '0.0.0.0/0',
        }),
    ).toThrow('(the whole internet) is refused');
  });
});

describe('the instance role', () => {
  test('may put records on the input stream only: one Kinesis statement, PutRecord/PutRecords, on its ARN', () => {
    const statements = statementsOfRole(json, ids.role);
    const kinesisStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kinesis:')));
    expect(kinesisStatements).toHaveLength(1);
    expect(kinesisStatements[0].Effect).toBe('Allow');
    expect(actionsOf(kinesisStatements[0]).sort()).toEqual(['kinesis:PutRecord', 'kinesis:PutRecords']);
    expect(asArray(kinesisStatements[0].Resource).map(render)).toEqual([inputStreamImports().arn]);
  });

  test('grants no S3, DynamoDB, Kinesis, SNS, SQS or Firehose action on Resource "*", and nothing beyond its list', () => {
    for (const context of [{}, KEY_PAIR, NOT_STARTED]) {
      const synth = synthSimulator(context);
      // Every role of the stack (the flow logs' too): no data action on every resource.
      const wildcardDataGrants = iamStatements(synth.json).filter(
        ({ statement }) =>
          (statement.NotResource !== undefined || asArray(statement.Resource).includes('*')) &&
          actionsOf(statement).some((a) =>
            DATA_SERVICES.some((service) => a.toLowerCase().startsWith(service)),
          ),
      );
      expect(wildcardDataGrants).toEqual([]);
      // The instance role: only the listed actions.
      const statements = iamStatements(synth.json).filter(({ roles }) => roles.includes(idsOf(synth).role));
      expect(statements.length).toBeGreaterThan(2);
      for (const { statement } of statements) {
        expect(statement.Effect).toBe('Allow');
        expect(statement.NotAction).toBeUndefined();
        expect(statement.NotResource).toBeUndefined();
        for (const action of actionsOf(statement)) expect(ALLOWED_ACTIONS).toContain(action);
      }
    }
  });

  test('may read the simulator bundle object and nothing else of S3', () => {
    const s3 = statementsOfRole(json, ids.role).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3).toHaveLength(1);
    expect(actionsOf(s3[0])).toEqual(['s3:GetObject']);
    const { key } = bundleUrlOf(base);
    expect(asArray(s3[0].Resource).map(render)).toEqual([
      `arn:\${AWS::Partition}:s3:::cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}/${key}`,
    ]);
  });

  test('carries no managed policy (Session Manager permissions are inline) and is the instance profile role', () => {
    expect(json.Resources[ids.role].Properties.ManagedPolicyArns).toBeUndefined();
    const [, profile] = resourcesOfType(json, 'AWS::IAM::InstanceProfile')[0];
    expect(profile.Properties.Roles).toEqual([ref(ids.role)]);
    expect(resourcesOfType(json, 'AWS::IAM::ManagedPolicy')).toEqual([]);
  });
});

describe('user data', () => {
  test('installs Node.js 22 from the AL2023 repository, fetches the bundle asset from S3 and installs it', () => {
    const userData = userDataOf(base);
    const { url, key } = bundleUrlOf(base);
    expect(url).toBe(`s3://cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}/${key}`);
    expect(userData).toMatch(/^#!\/bin\/bash\nset -euo pipefail\n/);
    expect(userData).toContain('retry dnf install -y nodejs22\n/usr/bin/node-22 --version\n');
    expect(userData).toContain(
      `retry aws s3 cp --region \${AWS::Region} --only-show-errors ${url} /opt/sensor-simulator/simulator.js\n`,
    );
    expect(userData).toContain(
      'useradd --system --user-group --no-create-home --shell /sbin/nologin sensor-simulator',
    );
  });

  test('writes the sensor-simulator unit: the stream name and region, --target aws, the rate, its own user, restarts on failure', () => {
    const userData = userDataOf(base);
    const stream = inputStreamImports().name;
    const unit = userData.slice(
      userData.indexOf("cat > /etc/systemd/system/sensor-simulator.service <<'UNIT'\n"),
      userData.indexOf('\nUNIT\n'),
    );
    expect(unit).not.toBe('');
    const lines = unit.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'User=sensor-simulator',
        'Group=sensor-simulator',
        `Environment=AWS_REGION=\${AWS::Region}`,
        `Environment=SENSOR_STREAM=${stream}`,
        `ExecStart=/usr/bin/node-22 /opt/sensor-simulator/simulator.js --target aws --stream ${stream} --region \${AWS::Region} --rate 3000`,
        'Restart=on-failure',
        'WantedBy=multi-user.target',
      ]),
    );
    expect(userData).toMatch(/\nsystemctl daemon-reload\nsystemctl enable --now sensor-simulator\.service$/);
  });

  test('simulatorRate sets --rate', () => {
    expect(userDataOf(synthSimulator(VARIANT))).toContain(`--region \${AWS::Region} --rate 500\n`);
  });

  test("with a reading schema, the instance installs the schema's file as it is and sends readings of it", () => {
    const userData = userDataOf(synthSimulator({ readingSchema: 'schemas/power-meter.yaml' }));
    const install = /\necho '([A-Za-z0-9+/=]+)' \| base64 -d > \/opt\/sensor-simulator\/schema\.yaml\n/.exec(
      userData,
    );
    expect(install).not.toBeNull();
    expect(Buffer.from(install?.[1] ?? '', 'base64').toString('utf8')).toBe(
      readFileSync(join(__dirname, '../../schemas/power-meter.yaml'), 'utf8'),
    );
    expect(userData).toContain('--rate 3000 --schema /opt/sensor-simulator/schema.yaml\n');
    // The lab's default: no schema file, the lab's generator.
    expect(userDataOf(synthSimulator())).not.toContain('--schema');
  });

  test('simulatorStart=false installs the unit but neither enables nor starts it', () => {
    const userData = userDataOf(synthSimulator(NOT_STARTED));
    expect(userData).toContain('cat > /etc/systemd/system/sensor-simulator.service');
    expect(userData).toContain('ExecStart=/usr/bin/node-22 /opt/sensor-simulator/simulator.js --target aws');
    expect(userData).not.toMatch(/^\s*systemctl\s+(enable|start|restart)/m);
    expect(userData).toMatch(/\nsystemctl daemon-reload\n# simulatorStart=false: [^\n]*$/);
  });

  test('the script is valid bash (bash -n), started or not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simulator-user-data-'));
    try {
      for (const context of [{}, NOT_STARTED, { readingSchema: 'schemas/skab.json' }]) {
        const script = join(dir, 'user-data.sh');
        // Tokens as deploy-time values would be.
        writeFileSync(
          script,
          userDataOf(synthSimulator(context))
            .replaceAll(/\$\{Import:[^}]+\}/g, 'sensor-readings')
            .replaceAll(`\${AWS::Region}`, 'eu-west-1')
            .replaceAll(`\${AWS::AccountId}`, '123456789012'),
        );
        const check = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
        expect(check.stderr).toBe('');
        expect(check.status).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a change of the user data replaces the instance (user data runs at first boot only)', () => {
    const variant = synthSimulator(VARIANT);
    expect(idsOf(variant).instance).not.toBe(ids.instance);
  });
});

describe('the simulator bundle asset', () => {
  test('is bundled locally, without Docker, into one .js file that runs on plain Node', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'simulator-asset-'));
    try {
      const app = new App({ outdir });
      const stack = new Stack(app, 'Bundled');
      const bundle = new SimulatorBundle(stack, 'Bundle');
      new CfnWaitConditionHandle(stack, 'AnyResource'); // a template needs one
      app.synth();
      const manifest = JSON.parse(readFileSync(join(outdir, 'Bundled.assets.json'), 'utf8'));
      const [entry] = Object.values(manifest.files as Record<string, Json>).filter(
        (file) => file.displayName === 'Bundle/Asset',
      );
      expect(entry.source.packaging).toBe('file');
      expect(entry.source.path).toMatch(/\.js$/);
      expect(stack.resolve(bundle.asset.s3ObjectKey)).toMatch(/\.js$/);
      const run = spawnSync(process.execPath, [join(outdir, entry.source.path), '--help'], {
        cwd: outdir,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('--target <target>');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('stack outputs', () => {
  test('the instance id and the exact commands to open a session, start, watch and stop the simulator', () => {
    base.template.hasOutput('SimulatorInstanceId', { Value: ref(ids.instance) });
    expect(render(json.Outputs.SessionCommand.Value)).toBe(
      `aws ssm start-session --target \${${ids.instance}} --region \${AWS::Region}`,
    );
    base.template.hasOutput('StartCommand', { Value: 'sudo systemctl start sensor-simulator' });
    base.template.hasOutput('WatchCommand', { Value: 'sudo journalctl -fu sensor-simulator' });
    base.template.hasOutput('StopCommand', { Value: 'sudo systemctl stop sensor-simulator' });
  });
});

describe('cdk destroy', () => {
  test.each([
    ['default context', {}],
    ['key pair', KEY_PAIR],
  ])(
    'deletes every resource: nothing retained or snapshotted, log groups expire, no custom resource (%s)',
    (_name, context) => {
      const synth = synthSimulator(context);
      const resources = Object.entries(synth.json.Resources as Record<string, Json>);
      expect(resources.length).toBeGreaterThan(10);
      const kept = resources.filter(
        ([, r]) =>
          ![undefined, 'Delete'].includes(r.DeletionPolicy) ||
          ![undefined, 'Delete'].includes(r.UpdateReplacePolicy),
      );
      expect(kept.map(([id]) => id)).toEqual([]);
      // A custom resource's Lambda function would leave its log group behind.
      const custom = resources.filter(([, r]) =>
        /^(Custom::|AWS::CloudFormation::CustomResource$|AWS::Lambda::)/.test(r.Type),
      );
      expect(custom.map(([id]) => id)).toEqual([]);
      const logGroups = resourcesOfType(synth.json, 'AWS::Logs::LogGroup');
      expect(logGroups).toHaveLength(1);
      for (const [, logGroup] of logGroups) {
        expect(logGroup).toMatchObject({ DeletionPolicy: 'Delete', Properties: { RetentionInDays: 14 } });
      }
    },
  );
});

describe('context validation', () => {
  const read = (context: Record<string, unknown>) => (key: string) => context[key];

  test('readSimulatorConfig gives the documented defaults when no context is set', () => {
    expect(readSimulatorConfig(() => undefined)).toEqual({
      simulatorInstanceType: 't4g.small',
      simulatorRate: 3000,
      simulatorStart: true,
    });
  });

  test('readSimulatorConfig accepts the string forms given by -c and converts them', () => {
    expect(
      readSimulatorConfig(
        read({
          simulatorInstanceType: 'c7gn.large',
          simulatorRate: '1500',
          simulatorStart: 'false',
          simulatorKeyPair: 'ops key',
          simulatorSshCidr: '198.51.100.7/32',
        }),
      ),
    ).toEqual({
      simulatorInstanceType: 'c7gn.large',
      simulatorRate: 1500,
      simulatorStart: false,
      simulatorKeyPair: 'ops key',
      simulatorSshCidr: '198.51.100.7/32',
    });
  });

  test.each([
    ['simulatorInstanceType', 't3.small'],
    ['simulatorInstanceType', 'm7i-flex.large'],
    ['simulatorInstanceType', 't4g'],
    ['simulatorRate', 0],
    ['simulatorRate', 'fast'],
    ['simulatorStart', 'yes'],
  ])('readSimulatorConfig rejects %s=%p with an error naming the key and the value', (key, value) => {
    expect(() => readSimulatorConfig(read({ [key]: value }))).toThrow(`${key}=${JSON.stringify(value)}`);
  });
});

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['default context', {}],
    ['key pair and SSH CIDR', KEY_PAIR],
    ['simulatorStart=false', NOT_STARTED],
    ['rate, instance type, namePrefix', VARIANT],
  ])('both stacks pass every AwsSolutions rule with no unacknowledged finding (%s)', (_name, context) => {
    const synth = synthSimulator(context);
    const report = new AwsSolutionsChecks().validateScope(synth.app);
    expect(describeViolations(report)).toEqual([]);
    expect(report.success).toBe(true);
  });
});
