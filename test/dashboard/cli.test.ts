import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import type { DynamoTarget } from '../../cli/targets';
import { type DashboardOptions, dashboardCommand, startDashboard } from '../../dashboard/cli';
import type { DashboardServer } from '../../dashboard/server';
import type { DashboardSnapshot } from '../../dashboard/snapshot';
import { LAB_SCHEMA } from '../../lambdas/shared/reading-schema';

const ROOT = join(__dirname, '..', '..');
const DEFAULTS: DashboardOptions = { target: 'aws', port: 0, relativeTo: 'now', minutes: 3, namePrefix: '' };

let stub: AwsClientStub<DynamoDBDocumentClient>;
let targets: DynamoTarget[];
let server: DashboardServer | undefined;
const io = {
  out: () => {},
  client: (target: DynamoTarget) => {
    targets.push(target);
    return DynamoDBDocumentClient.from(new DynamoDBClient({}));
  },
};

beforeEach(() => {
  stub = mockClient(DynamoDBDocumentClient);
  stub.on(QueryCommand).resolves({ Items: [] });
  stub.on(GetCommand).resolves({});
  targets = [];
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  stub.restore();
  jest.restoreAllMocks();
});

async function snapshotOf(started: DashboardServer): Promise<DashboardSnapshot> {
  return (await (await fetch(`${started.url}api/snapshot`)).json()) as DashboardSnapshot;
}

describe('npm run dashboard', () => {
  test('--target local reads the endpoint and table the running local pipeline wrote', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dashboard-cli-'));
    mkdirSync(join(cwd, '.local'));
    writeFileSync(
      join(cwd, '.local', 'endpoints.json'),
      JSON.stringify({
        region: 'us-east-1',
        dynamodb: 'http://127.0.0.1:4567',
        kinesis: '',
        s3: '',
        tableName: 'local-readings',
      }),
    );
    jest.spyOn(process, 'cwd').mockReturnValue(cwd);
    try {
      server = await startDashboard({ ...DEFAULTS, target: 'local' }, io);

      expect(targets).toEqual([
        { local: true, region: 'us-east-1', endpoint: 'http://127.0.0.1:4567', tableName: 'local-readings' },
      ]);
      expect(await snapshotOf(server)).toMatchObject({ target: 'local', equipment: [] });
      expect(
        stub.commandCalls(QueryCommand).every((call) => call.args[0].input.TableName === 'local-readings'),
      ).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('--target local with no pipeline running says how to start one', async () => {
    jest.spyOn(process, 'cwd').mockReturnValue(tmpdir());

    await expect(startDashboard({ ...DEFAULTS, target: 'local' }, io)).rejects.toThrow(
      'no local pipeline is running here',
    );
  });

  test('--target aws uses the deployed table name, region and window asked for', async () => {
    server = await startDashboard({ ...DEFAULTS, namePrefix: 'dev-', region: 'eu-west-1', minutes: 10 }, io);

    expect(targets).toEqual([
      { local: false, region: 'eu-west-1', endpoint: undefined, tableName: 'dev-sensor-readings' },
    ]);
    const snapshot = await snapshotOf(server);
    expect(snapshot).toMatchObject({ target: 'aws', binMs: 2_000 });
    expect(snapshot.window).toEqual({ fromMs: expect.any(Number), toMs: expect.any(Number) });
    expect((snapshot.window?.toMs ?? 0) - (snapshot.window?.fromMs ?? 0)).toBe(600_000);
  });

  test('rejects a port that is not one', async () => {
    const errors: string[] = [];
    const command = dashboardCommand(io)
      .exitOverride()
      .configureOutput({ writeErr: (text) => errors.push(text) });

    await expect(command.parseAsync(['--port', '70000'], { from: 'user' })).rejects.toThrow(
      '--port must be an integer from 0 to 65535.',
    );
    expect(errors.join('')).toContain('--port must be an integer from 0 to 65535.');
  });

  test("--schema FILE: the snapshot charts that schema's features; without it, the lab's", async () => {
    let parsed: DashboardOptions | undefined;
    const command = dashboardCommand(io)
      .exitOverride()
      .action((options: DashboardOptions) => {
        parsed = options;
      });
    await command.parseAsync(['--schema', join(ROOT, 'schemas', 'power-meter.yaml')], { from: 'user' });
    expect(parsed?.schema?.id).toBe('power-meter@1');

    server = await startDashboard({ ...DEFAULTS, schema: parsed?.schema }, io);
    const snapshot = await snapshotOf(server);
    expect(snapshot.schema).toBe('power-meter@1');
    expect(snapshot.features.map((f) => f.name)).toEqual([
      'power_kw',
      'voltage_v',
      'power_factor',
      'frequency_hz',
    ]);
    await server.close();

    server = await startDashboard(DEFAULTS, io);
    expect((await snapshotOf(server)).features.map((f) => f.name)).toEqual(LAB_SCHEMA.featureNames);
  });

  test('--schema with a file that is not a valid schema says what is wrong with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-schema-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        formatVersion: 1,
        name: 'bad',
        version: '1',
        equipment: { type: 'integer' },
        features: [],
      }),
    );
    const errorOf = async (path: string) => {
      const errors: string[] = [];
      const command = dashboardCommand(io)
        .exitOverride()
        .configureOutput({ writeErr: (text) => errors.push(text) });
      await expect(command.parseAsync(['--schema', path], { from: 'user' })).rejects.toThrow(
        "option '--schema <file>' argument",
      );
      return errors.join('');
    };
    try {
      expect(await errorOf(file)).toContain(`${file}: features: `);
      expect(await errorOf(join(dir, 'missing.yaml'))).toContain(
        `cannot read the reading schema at ${join(dir, 'missing.yaml')}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
