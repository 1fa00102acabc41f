import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { LOCAL_ENDPOINTS_FILE } from '../../cli/targets';
import { createKinesisClient } from '../../lambdas/shared/aws/clients';
import { closeServer, listen } from '../../local/sns-sink';
import { simulate } from './simulate-cli';

const equipmentOf = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => (JSON.parse(line) as { equipment_id: number }[])[0].equipment_id);

describe('npm run simulate', () => {
  test('prints a SENT line per thousand readings and a summary, like the lab; records go to stdout', async () => {
    const { stdout, stderr } = await simulate(['--count', '3000', '--rate', '100000', '--seed', '2']);

    expect(stderr.match(/^SENT: \d+ - \d+ msgs\/sec$/gm)?.map((line) => line.split(' ')[1])).toEqual([
      '1000',
      '2000',
      '3000',
    ]);
    expect(stderr).toMatch(/^DONE: 3000 readings in 3 records .*; seed 2$/m);
    expect(equipmentOf(stdout)).toEqual([101, 102, 103]);
  });

  test('--equipment-count 5 sends equipment 101 to 105, --equipment the ids given', async () => {
    const many = await simulate([
      '--count',
      '500',
      '--burst-size',
      '100',
      '--equipment-count',
      '5',
      '--quiet',
    ]);
    const listed = await simulate(['--count', '200', '--burst-size', '100', '--equipment', '7,9', '--quiet']);

    expect(equipmentOf(many.stdout)).toEqual([101, 102, 103, 104, 105]);
    expect(equipmentOf(listed.stdout)).toEqual([7, 9]);
  });

  test('bad option values are refused with the rule they break', async () => {
    await expect(simulate(['--bad-ratio', '1.5'])).rejects.toThrow(
      /--bad-ratio must be a number from 0 to 1/,
    );
    await expect(simulate(['--burst-size', '6000'])).rejects.toThrow(
      /--burst-size must be an integer from 1 to 5000/,
    );
    await expect(simulate(['--equipment', '101,abc'])).rejects.toThrow(
      /--equipment must be a comma-separated list/,
    );
    await expect(simulate(['--equipment', '1', '--equipment-count', '2'])).rejects.toThrow(
      /cannot be used with/,
    );
  });

  describe('--target local', () => {
    let server: Server;
    let dir: string;
    const cwd = process.cwd();
    beforeAll(async () => {
      server = kinesalite({ createStreamMs: 0 });
      await listen(server);
    });
    afterAll(() => closeServer(server));
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'simulator-local-'));
    });
    afterEach(() => {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    });

    test('sends to the Kinesis endpoint that .local/endpoints.json names', async () => {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      mkdirSync(join(dir, '.local'));
      writeFileSync(
        join(dir, LOCAL_ENDPOINTS_FILE),
        JSON.stringify({
          region: 'us-east-1',
          kinesis: endpoint,
          dynamodb: '',
          s3: '',
          tableName: 'sensor-readings',
        }),
      );
      const admin = createKinesisClient('us-east-1', {
        endpoint,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      await admin.send(new CreateStreamCommand({ StreamName: 'sensor-readings', ShardCount: 1 }));
      while (
        (await admin.send(new DescribeStreamSummaryCommand({ StreamName: 'sensor-readings' })))
          .StreamDescriptionSummary?.StreamStatus !== 'ACTIVE'
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      process.chdir(dir);

      const { stdout } = await simulate([
        '--target',
        'local',
        '--count',
        '2000',
        '--rate',
        '100000',
        '--seed',
        '3',
      ]);

      expect(stdout).toMatch(/^SENT: 2000 - \d+ msgs\/sec$/m);
      expect(stdout).toMatch(/^DONE: 2000 readings in 2 records/m);
      admin.destroy();
    });

    test('without a running local pipeline it says how to start one', async () => {
      process.chdir(dir);

      await expect(simulate(['--target', 'local', '--count', '10'])).rejects.toThrow(
        /start one with `npm start`/,
      );
    });
  });
});
