import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { createKinesisClient } from '../../lambdas/shared/aws/clients';
import { FEATURES } from '../../lambdas/shared/features';
import { validateReading } from '../../lambdas/shared/reading';
import { closeServer, listen } from '../../local/sns-sink';
import {
  createReplaySource,
  type ReplayMapping,
  type ReplaySettings,
  readRecording,
} from '../../simulator/replay';
import { type Clock, runSource } from '../../simulator/run';
import { simulate } from './simulate-cli';

/** `--replay FILE.csv`: hand-made CSV files in a temporary folder, replayed to stdout, a virtual clock, kinesalite. */

interface SentReading {
  timestamp: string;
  equipment_id: number;
  vibration_amplitude: number;
  vibration_frequency: number;
  temperature: number;
  humidity: number;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'simulator-replay-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function csvFile(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Columns in another order than the reading's, with names of their own and columns nobody maps. */
const TIMED = [
  'when;hum;amp;note;freq;temp;label',
  '2024-05-01 12:00:00;30.2;250.5;a;1000.25;60.1;0',
  '2024-05-01 12:00:01;30.3;251;b;1001;60.2;0',
  '2024-05-01 12:00:03;30.4;252;c;1002;60.3;1',
  '2024-05-01 12:00:03.500;30.5;253;d;1003;60.4;1',
  '2024-05-01 12:00:10;30.6;254;e;1004;60.5;0',
];
/** Recorded offsets of TIMED's rows from its first, in ms. */
const TIMED_OFFSETS = [0, 1000, 3000, 3500, 10_000];
const MAP = 'vibration_amplitude=amp,vibration_frequency=freq,temperature=temp,humidity=hum';
const MAPPING: ReplayMapping = {
  columns: { vibration_amplitude: 'amp', vibration_frequency: 'freq', temperature: 'temp', humidity: 'hum' },
  timestamp: 'when',
  delimiter: ';',
};

const START_MS = Date.UTC(2026, 10, 23, 19, 47, 9, 250);

/** Time that passes only when the run loop sleeps; each sleep lets pending sends finish first. */
function virtualClock(startMs: number): Clock {
  let now = startMs;
  return {
    now: () => now,
    sleep: async (ms) => {
      if (ms > 0) now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** Replays a file to an in-memory stdout on a virtual clock: the records, and when each was sent. */
async function replayOnClock(file: string, mapping: ReplayMapping, settings: ReplaySettings) {
  const clock = virtualClock(START_MS);
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const source = createReplaySource(readRecording(file, mapping), settings);
  const sentAtMs: number[] = [];
  const summary = await runSource(source, {
    output,
    clock,
    count: settings.count,
    durationSeconds: settings.durationSeconds,
    onProgress: () => sentAtMs.push(clock.now()),
  });
  await new Promise((resolve) => setImmediate(resolve));
  return { summary, records: recordsOf(Buffer.concat(chunks).toString()), sentAtMs, source };
}

function recordsOf(stdout: string): SentReading[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SentReading[]);
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) to epoch ms, fractional. */
function stampMs(timestamp: string): number {
  return Date.parse(`${timestamp.slice(0, 19).replace(' ', 'T')}Z`) + Number(timestamp.slice(20)) / 1000;
}

const valuesOf = (reading: SentReading) => FEATURES.map((feature) => reading[feature]);

describe('replay: the mapping', () => {
  test('each row becomes a reading with the mapped columns as its fields, equipment 101 unless told', async () => {
    const file = csvFile('timed.csv', TIMED);
    const args = ['--replay', file, '--delimiter', ';', '--timestamp-column', 'when', '--map', MAP];

    const { stdout, stderr } = await simulate([...args, '--speed', '1000000', '--quiet']);
    const other = await simulate([...args, '--speed', '1000000', '--quiet', '--equipment-id', '7']);

    const readings = recordsOf(stdout).flat();
    expect(readings.map(valuesOf)).toEqual([
      [250.5, 1000.25, 60.1, 30.2],
      [251, 1001, 60.2, 30.3],
      [252, 1002, 60.3, 30.4],
      [253, 1003, 60.4, 30.5],
      [254, 1004, 60.5, 30.6],
    ]);
    expect(readings.every((reading) => reading.equipment_id === 101)).toBe(true);
    expect(Object.keys(readings[0])).toEqual(['timestamp', 'equipment_id', ...FEATURES]);
    // What the pipeline's validator makes of them: every one accepted, as sent.
    for (const reading of readings) expect(validateReading(reading, Date.now())).toMatchObject({ ok: true });
    expect(stderr).toMatch(/^DONE: 5 readings in \d+ records \(0 outside the pipeline's physical ranges\) /m);
    expect(stderr).not.toMatch(/WARNING/);
    expect(
      recordsOf(other.stdout)
        .flat()
        .every((reading) => reading.equipment_id === 7),
    ).toBe(true);
  });

  test("--equipment-column: each row is its equipment's, rows merged in time order, each record one equipment's", async () => {
    const file = csvFile('two.csv', [
      'machine,t,a,f,te,h',
      '12,2024-05-01 12:00:00,1,10,20,30',
      '11,2024-05-01 12:00:00,2,11,21,31',
      '11,2024-05-01 12:00:02,3,12,22,32',
      '12,2024-05-01 12:00:01,4,13,23,33',
    ]);

    const { stdout } = await simulate([
      '--replay',
      file,
      '--timestamp-column',
      't',
      '--equipment-column',
      'machine',
      '--map',
      'vibration_amplitude=a,vibration_frequency=f,temperature=te,humidity=h',
      '--speed',
      '1000000',
      '--quiet',
    ]);

    const records = recordsOf(stdout);
    for (const record of records) expect(new Set(record.map((r) => r.equipment_id)).size).toBe(1);
    const byTime = records.flat().sort((a, b) => stampMs(a.timestamp) - stampMs(b.timestamp));
    expect(byTime.map((r) => [r.equipment_id, r.vibration_amplitude])).toEqual([
      [12, 1],
      [11, 2],
      [12, 4],
      [11, 3],
    ]);
  });
});

describe('replay: timestamps', () => {
  test('at --speed 1 the first reading carries the start time, and every recorded gap is kept', async () => {
    const file = csvFile('timed.csv', TIMED);

    const { records, source } = await replayOnClock(file, MAPPING, { pace: { speed: 1 } });

    const stamps = records.flat().map((reading) => stampMs(reading.timestamp));
    expect(stamps).toEqual(TIMED_OFFSETS.map((offset) => START_MS + offset));
    expect(source.shiftMs()).toBe(START_MS - Date.UTC(2024, 4, 1, 12));
  });

  test('faster, the gaps are still the recorded ones, the last reading carries the moment it is sent and none is stamped after it is sent', async () => {
    const file = csvFile('timed.csv', TIMED);

    const { records, sentAtMs } = await replayOnClock(file, MAPPING, { pace: { speed: 4 }, burstSize: 1 });

    const stamps = records.flat().map((reading) => stampMs(reading.timestamp));
    expect(stamps.map((stamp) => stamp - stamps[0])).toEqual(TIMED_OFFSETS);
    expect(stamps[4]).toBe(START_MS + 10_000 / 4);
    expect(stamps[4]).toBe(sentAtMs[4]);
    for (const [i, stamp] of stamps.entries()) expect(stamp).toBeLessThanOrEqual(sentAtMs[i]);
    // So the pipeline, receiving each reading when it is sent, accepts every one.
    records.flat().forEach((reading, i) => {
      expect(validateReading(reading, sentAtMs[i])).toMatchObject({ ok: true });
    });
  });

  test('without --timestamp-column each reading is stamped with the moment it is due', async () => {
    const file = csvFile('timed.csv', TIMED);

    const { records } = await replayOnClock(
      file,
      { ...MAPPING, timestamp: undefined },
      { pace: { rate: 10 }, burstSize: 2 },
    );

    expect(records.flat().map((reading) => stampMs(reading.timestamp))).toEqual(
      [0, 100, 200, 300, 400].map((offset) => START_MS + offset),
    );
  });
});

describe('replay: pace', () => {
  test('--speed 2 sends each record when its recorded time, halved, has come', async () => {
    const file = csvFile('timed.csv', TIMED);

    const { summary, sentAtMs } = await replayOnClock(file, MAPPING, { pace: { speed: 2 }, burstSize: 1 });

    expect(sentAtMs.map((ms) => ms - START_MS)).toEqual(TIMED_OFFSETS.map((offset) => offset / 2));
    expect(summary).toMatchObject({ sent: 5, records: 5, elapsedMs: 5000 });
  });

  test('--rate ignores the recorded pace: evenly spaced readings', async () => {
    const file = csvFile('timed.csv', TIMED);

    const { sentAtMs, records } = await replayOnClock(file, MAPPING, { pace: { rate: 4 }, burstSize: 1 });

    expect(sentAtMs.map((ms) => ms - START_MS)).toEqual([0, 250, 500, 750, 1000]);
    // The recorded timestamps still go out, shifted as one.
    const stamps = records.flat().map((reading) => stampMs(reading.timestamp));
    expect(stamps.map((stamp) => stamp - stamps[0])).toEqual(TIMED_OFFSETS);
  });

  test('--count replays the first rows, --duration those due within it', async () => {
    const file = csvFile('timed.csv', TIMED);

    const counted = await replayOnClock(file, MAPPING, { pace: { speed: 1 }, burstSize: 1, count: 3 });
    const timed = await replayOnClock(file, MAPPING, {
      pace: { speed: 1 },
      burstSize: 1,
      durationSeconds: 3.5,
    });

    expect(counted.records.flat().map((r) => r.vibration_amplitude)).toEqual([250.5, 251, 252]);
    expect(timed.records.flat().map((r) => r.vibration_amplitude)).toEqual([250.5, 251, 252]);
    expect(timed.sentAtMs.at(-1)).toBe(START_MS + 3000);
  });

  test('an abort sends what is queued and stops; the summary counts what was sent', async () => {
    const file = csvFile('timed.csv', TIMED);
    const controller = new AbortController();
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    const source = createReplaySource(readRecording(file, MAPPING), { pace: { speed: 1 }, burstSize: 1 });

    const summary = await runSource(source, {
      output,
      clock: virtualClock(START_MS),
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.sent === 2) controller.abort();
      },
    });
    await new Promise((resolve) => setImmediate(resolve));

    expect(summary).toMatchObject({ sent: 2, records: 2 });
    expect(recordsOf(Buffer.concat(chunks).toString())).toHaveLength(2);
  });
});

describe('replay: records', () => {
  test('--burst-size readings per record, with the SENT lines and summary of the generator', async () => {
    const rows = Array.from(
      { length: 2500 },
      (_, i) => `${new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString()},${i},1,2,3`,
    );
    const file = csvFile('long.csv', ['t,a,b,c,d', ...rows]);

    const { stdout, stderr } = await simulate([
      '--replay',
      file,
      '--timestamp-column',
      't',
      '--map',
      'vibration_amplitude=a,vibration_frequency=b,temperature=c,humidity=d',
      '--rate',
      '1000000',
    ]);

    const records = recordsOf(stdout);
    expect(records.map((record) => record.length)).toEqual([1000, 1000, 500]);
    expect(records.flat().map((r) => r.vibration_amplitude)).toEqual(rows.map((_, i) => i));
    expect(stderr.match(/^SENT: \d+ - \d+ msgs\/sec$/gm)?.map((line) => line.split(' ')[1])).toEqual([
      '1000',
      '2000',
    ]);
    expect(stderr).toMatch(/^REPLAY: 2500 of 2500 rows of long.csv, recorded 2024-01-01T00:00:00.000Z to /m);
    expect(stderr).toMatch(
      /^DONE: 2500 readings in 3 records \(0 outside the pipeline's physical ranges\) /m,
    );
  });

  test('records are per equipment, sent in the order their last reading is due', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `${i % 2 ? 22 : 21},${i},1,2,3`);
    const file = csvFile('pairs.csv', ['eq,a,b,c,d', ...rows]);

    const { stdout } = await simulate([
      '--replay',
      file,
      '--equipment-column',
      'eq',
      '--map',
      'vibration_amplitude=a,vibration_frequency=b,temperature=c,humidity=d',
      '--rate',
      '1000000',
      '--burst-size',
      '300',
      '--quiet',
    ]);

    const records = recordsOf(stdout);
    expect(records.map((record) => [record[0].equipment_id, record.length])).toEqual([
      [21, 300],
      [22, 300],
      [21, 200],
      [22, 200],
    ]);
    expect(
      records.filter((r) => r[0].equipment_id === 22).flatMap((r) => r.map((x) => x.vibration_amplitude)),
    ).toEqual(Array.from({ length: 500 }, (_, i) => 2 * i + 1));
  });

  test('a record is cut before a reading due a second or more after its first, so slow replays are not held back', async () => {
    const file = csvFile('timed.csv', TIMED);

    const realTime = await replayOnClock(file, MAPPING, { pace: { speed: 1 } });
    const faster = await replayOnClock(file, MAPPING, { pace: { speed: 4 } });

    // Due at 0, 1000, 3000, 3500, 10000 ms: the fourth is less than a second after the third.
    expect(realTime.records.map((record) => record.length)).toEqual([1, 1, 2, 1]);
    expect(realTime.sentAtMs.map((ms) => ms - START_MS)).toEqual([0, 1000, 3500, 10_000]);
    // Due at 0, 250, 750, 875, 2500 ms.
    expect(faster.records.map((record) => record.length)).toEqual([4, 1]);
  });
});

describe('replay: values outside the pipeline ranges', () => {
  const OUTSIDE = [
    't,a,f,te,h',
    '2024-05-01 12:00:00,-1,1000,60,30',
    '2024-05-01 12:00:01,250,1000,60,120',
    '2024-05-01 12:00:02,250,-5,60,130',
    '2024-05-01 12:00:03,250,1000,60,30',
    '2024-05-01 12:00:04,250,1000,2000,30',
    '2024-05-01 12:00:05,250,1000,60,30',
  ];
  const args = (file: string) => [
    '--replay',
    file,
    '--timestamp-column',
    't',
    '--map',
    'vibration_amplitude=a,vibration_frequency=f,temperature=te,humidity=h',
    '--speed',
    '1000000',
    '--quiet',
  ];

  test('are sent as they are, after one warning that counts the rows and names the fields at fault', async () => {
    const file = csvFile('outside.csv', OUTSIDE);

    const { stdout, stderr } = await simulate(args(file));

    const warnings = stderr.split('\n').filter((line) => line.startsWith('WARNING'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^WARNING: 4 of 6 rows have values outside the pipeline's physical ranges; /);
    expect(warnings[0]).toContain('vibration_amplitude=a: 1 below 0 (the column goes from -1 to 250;');
    expect(warnings[0]).toContain('vibration_frequency=f: 1 below 0');
    expect(warnings[0]).toContain('temperature=te: 1 above 1500');
    expect(warnings[0]).toContain(
      'humidity=h: 2 above 100 (the column goes from 30 to 130; humidity must be 0 to 100 %)',
    );
    expect(warnings[0]).toMatch(/Map each field to a column whose values lie within its range\.$/);
    const readings = recordsOf(stdout).flat();
    expect(readings.map((r) => r.vibration_amplitude)).toEqual([-1, 250, 250, 250, 250, 250]);
    expect(readings.map((r) => r.humidity)).toEqual([30, 120, 130, 30, 30, 30]);
    // The count is exactly what the pipeline's validator rejects.
    const rejected = readings.filter((reading) => !validateReading(reading, Date.now()).ok);
    expect(rejected).toHaveLength(4);
    expect(stderr).toMatch(/^DONE: 6 readings in 1 records \(4 outside the pipeline's physical ranges\) /m);
  });

  test('count only the rows replayed', async () => {
    const file = csvFile('outside.csv', OUTSIDE);

    const { stderr } = await simulate([...args(file), '--count', '2']);

    expect(stderr).toMatch(/^WARNING: 2 of 2 rows /m);
  });
});

describe('replay: errors', () => {
  const good = () => csvFile('timed.csv', TIMED);
  const replay = (file: string, ...more: string[]) =>
    simulate(['--replay', file, '--delimiter', ';', '--map', MAP, '--timestamp-column', 'when', ...more]);

  test('a missing file, a missing column, a cell that is not a number, a bad timestamp: one line naming file and row', async () => {
    const badNumber = csvFile('bad-number.csv', [
      ...TIMED.slice(0, 3),
      '2024-05-01 12:00:02;30.4;x;c;1002;60.3;1',
    ]);
    const badTime = csvFile('bad-time.csv', [
      ...TIMED.slice(0, 2),
      '2024-05-01 25:00:00;30.4;252;c;1002;60.3;1',
    ]);
    const backwards = csvFile('backwards.csv', [TIMED[0], TIMED[2], TIMED[1]]);

    await expect(replay(join(dir, 'none.csv'))).rejects.toThrow(`${join(dir, 'none.csv')}: no such file`);
    await expect(replay(dir)).rejects.toThrow(`${dir}: not a file`);
    await expect(
      simulate([
        '--replay',
        good(),
        '--delimiter',
        ';',
        '--map',
        MAP.replace('=temp', '=temperature'),
        '--rate',
        '5',
      ]),
    ).rejects.toThrow(
      `timed.csv: no column "temperature" (columns: when, hum, amp, note, freq, temp, label)`,
    );
    await expect(replay(good(), '--timestamp-column', 'time')).rejects.toThrow(
      /timed\.csv: no column "time" \(/,
    );
    await expect(replay(badNumber)).rejects.toThrow(`bad-number.csv, row 4: amp is not a number: "x"`);
    await expect(replay(badTime)).rejects.toThrow(
      `bad-time.csv, row 3: timestamp "2024-05-01 25:00:00" is not a real date and time`,
    );
    await expect(replay(backwards)).rejects.toThrow(
      "backwards.csv, row 3: timestamp 2024-05-01T12:00:00.000Z is earlier than the row before's (2024-05-01T12:00:01.000Z); a replay needs the rows in time order",
    );
  });

  test('the wrong delimiter is named', async () => {
    await expect(simulate(['--replay', good(), '--map', MAP, '--rate', '5'])).rejects.toThrow(
      /no column "amp" \(columns: when;hum;amp;note;freq;temp;label\); is the delimiter ";"\? \(--delimiter ';'\)$/,
    );
  });

  test('equipment ids that are not numbers, or not ids', async () => {
    const file = csvFile('eq.csv', ['eq,a,b,c,d', '5,1,2,3,4', 'five,1,2,3,4']);
    const fraction = csvFile('fraction.csv', ['eq,a,b,c,d', '5.5,1,2,3,4']);
    const map = 'vibration_amplitude=a,vibration_frequency=b,temperature=c,humidity=d';
    const run = (f: string) =>
      simulate(['--replay', f, '--equipment-column', 'eq', '--map', map, '--rate', '5']);

    await expect(run(file)).rejects.toThrow('eq.csv, row 3: eq is not a number: "five"');
    await expect(run(fraction)).rejects.toThrow(
      'fraction.csv: column "eq" holds "5.5", not an equipment id (a whole number from 1 to 2147483647)',
    );
  });

  test('an incomplete or malformed --map', async () => {
    await expect(
      simulate(['--replay', good(), '--map', 'vibration_amplitude=amp,humidity=hum', '--rate', '5']),
    ).rejects.toThrow(
      '--replay needs --map with a column for each reading field: vibration_amplitude=COL,vibration_frequency=COL,temperature=COL,humidity=COL (missing: vibration_frequency, temperature)',
    );
    await expect(simulate(['--replay', good(), '--rate', '5'])).rejects.toThrow(
      /missing: vibration_amplitude, /,
    );
    await expect(simulate(['--map', 'pressure=p'])).rejects.toThrow(
      '--map: "pressure" is not a reading field (vibration_amplitude, vibration_frequency, temperature, humidity).',
    );
    await expect(simulate(['--map', 'humidity'])).rejects.toThrow(
      '--map takes FIELD=COLUMN pairs separated by commas, got "humidity".',
    );
    await expect(simulate(['--map', 'humidity=a,humidity=b'])).rejects.toThrow(
      '--map: humidity is mapped twice.',
    );
  });

  test('generator options are refused with --replay, replay options without it, and the pace needs one source', async () => {
    await expect(replay(good(), '--seed', '3')).rejects.toThrow(
      '--seed does not apply to --replay: a replay sends the values of the file, nothing is drawn at random',
    );
    await expect(replay(good(), '--bad-ratio', '0.1')).rejects.toThrow(
      /^--bad-ratio does not apply to --replay/,
    );
    await expect(replay(good(), '--labels', join(dir, 'labels.csv'))).rejects.toThrow(
      /^--labels does not apply to --replay: .* the summary prints the timestamp shift to join them on$/,
    );
    await expect(replay(good(), '--equipment', '1,2')).rejects.toThrow(
      '--equipment does not apply to --replay: use --equipment-id N or --equipment-column COL',
    );
    await expect(replay(good(), '--equipment-count', '2')).rejects.toThrow(
      /^--equipment-count does not apply/,
    );
    await expect(replay(good(), '--equipment-id', '3', '--equipment-column', 'note')).rejects.toThrow(
      /cannot be used with/,
    );
    await expect(replay(good(), '--speed', '2', '--rate', '10')).rejects.toThrow(
      "--speed and --rate both set the replay's pace: give one",
    );
    await expect(simulate(['--replay', good(), '--delimiter', ';', '--map', MAP])).rejects.toThrow(
      'without --timestamp-column the file has no pace of its own: give --rate R (readings/s)',
    );
    await expect(
      simulate(['--replay', good(), '--delimiter', ';', '--map', MAP, '--speed', '2']),
    ).rejects.toThrow(
      '--speed follows the recorded timestamps: give --timestamp-column COL, or --rate R readings/s',
    );
    await expect(simulate(['--speed', '2', '--delimiter', ';', '--count', '1'])).rejects.toThrow(
      '--delimiter, --speed only apply to --replay',
    );
    await expect(simulate(['--timestamp-column', 'when', '--count', '1'])).rejects.toThrow(
      '--timestamp-column only applies to --replay',
    );
  });

  test('from the command line: exit code 1 and the message on one line, no stack trace', () => {
    const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const cli = join(__dirname, '..', '..', 'simulator', 'cli.ts');
    const file = csvFile('bad-number.csv', [
      ...TIMED.slice(0, 3),
      '2024-05-01 12:00:02;30.4;x;c;1002;60.3;1',
    ]);

    const missing = spawnSync(tsx, [cli, '--replay', join(dir, 'none.csv'), '--map', MAP, '--rate', '5'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const notANumber = spawnSync(
      tsx,
      [cli, '--replay', file, '--delimiter', ';', '--timestamp-column', 'when', '--map', MAP],
      { encoding: 'utf8', timeout: 30_000 },
    );

    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`simulate: ${join(dir, 'none.csv')}: no such file\n`);
    expect(notANumber.status).toBe(1);
    expect(notANumber.stderr).toBe(`simulate: ${file}, row 4: amp is not a number: "x"\n`);
    expect(notANumber.stdout).toBe('');
  });
});

describe('replay into kinesalite', () => {
  let server: Server;
  let kinesis: KinesisClient;
  let endpoint: string;
  beforeAll(async () => {
    server = kinesalite({ createStreamMs: 0 });
    await listen(server);
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    kinesis = createKinesisClient('us-east-1', {
      endpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
  });
  afterAll(async () => {
    kinesis.destroy();
    await closeServer(server);
  });

  async function readStream(streamName: string) {
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    const records: { partitionKey: string; readings: SentReading[] }[] = [];
    for (const { ShardId } of Shards) {
      let iterator = (
        await kinesis.send(
          new GetShardIteratorCommand({ StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
        )
      ).ShardIterator;
      while (iterator) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
        for (const record of page.Records ?? []) {
          records.push({
            partitionKey: record.PartitionKey as string,
            readings: JSON.parse(Buffer.from(record.Data as Uint8Array).toString('utf8')),
          });
        }
        iterator = page.Records?.length ? page.NextShardIterator : undefined;
      }
    }
    return records;
  }

  test('the stream holds exactly the rows of the file, per equipment in order, stamped recorded + the shift printed', async () => {
    const streamName = 'replayed';
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
    while (
      (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName })))
        .StreamDescriptionSummary?.StreamStatus !== 'ACTIVE'
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const first = Date.UTC(2020, 2, 9, 10, 34, 33);
    const rows = Array.from({ length: 1200 }, (_, i) => ({
      equipment: i % 2 ? 12 : 11,
      recordedMs: first + Math.floor(i / 2) * 1000 + (i % 7 === 0 ? 500 : 0),
      values: [0.027 + i / 1e6, 0.87 + i / 1000, 75.4955 - i / 100, 25.8338],
    }));
    const file = csvFile('recording.csv', [
      'datetime;Accelerometer1RMS;Current;Temperature;Thermocouple;machine',
      ...rows.map((row) =>
        [
          new Date(row.recordedMs).toISOString().replace('T', ' ').slice(0, 23),
          ...row.values,
          row.equipment,
        ].join(';'),
      ),
    ]);
    const before = Date.now();

    const { stdout } = await simulate([
      '--target',
      'aws',
      '--endpoint',
      endpoint,
      '--region',
      'us-east-1',
      '--stream',
      streamName,
      '--replay',
      file,
      '--delimiter',
      ';',
      '--timestamp-column',
      'datetime',
      '--equipment-column',
      'machine',
      '--map',
      'vibration_amplitude=Accelerometer1RMS,vibration_frequency=Current,temperature=Temperature,humidity=Thermocouple',
      '--speed',
      '100000',
      '--burst-size',
      '250',
    ]);

    const stored = await readStream(streamName);
    expect(stored.map((record) => record.readings.length).sort()).toEqual([100, 100, 250, 250, 250, 250]);
    const shift = /timestamps sent = recorded \+(\d+)d (\d\d):(\d\d):(\d\d)\.(\d{3})$/m.exec(stdout);
    if (!shift) throw new Error(`no shift in ${stdout}`);
    const [days, hours, minutes, seconds, millis] = shift.slice(1).map(Number);
    const shiftMs = (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + millis;
    for (const equipment of [11, 12]) {
      const expected = rows.filter((row) => row.equipment === equipment);
      const readings = stored
        .filter((record) => record.partitionKey === String(equipment))
        .flatMap((record) => record.readings);
      expect(readings.map((r) => r.equipment_id)).toEqual(expected.map(() => equipment));
      expect(readings.map(valuesOf)).toEqual(expected.map((row) => row.values));
      expect(readings.map((r) => stampMs(r.timestamp))).toEqual(
        expected.map((row) => row.recordedMs + shiftMs),
      );
    }
    const all = stored.flatMap((record) => record.readings);
    const stamps = all.map((reading) => stampMs(reading.timestamp));
    expect(Math.max(...stamps)).toBeGreaterThanOrEqual(before);
    expect(Math.max(...stamps)).toBeLessThanOrEqual(Date.now());
    for (const reading of all) expect(validateReading(reading, Date.now())).toMatchObject({ ok: true });
    expect(stdout).toMatch(
      /^DONE: 1200 readings in 6 records \(0 outside the pipeline's physical ranges\) /m,
    );
  });
});
