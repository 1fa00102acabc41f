import {
  KinesisClient,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  type PutRecordsCommandInput,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import type { RetryOptions } from '../../lambdas/shared/aws/retry';
import { type Clock, runSimulator, SimulatorSendError, type SlowDownNotice } from '../../simulator/run';
import { createKinesisSender, type OutgoingRecord, type ThrottleNotice } from '../../simulator/sender';

const kinesisMock = mockClient(KinesisClient);
const kinesis = new KinesisClient({ region: 'us-east-1' });
const NO_WAIT: RetryOptions = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => {} };
let sequence = 0;

afterEach(() => kinesisMock.reset());
afterAll(() => kinesisMock.restore());

const accepted = (): PutRecordsResultEntry => ({
  SequenceNumber: String(++sequence),
  ShardId: 'shardId-000000000000',
});
const throttled = (): PutRecordsResultEntry => ({
  ErrorCode: 'ProvisionedThroughputExceededException',
  ErrorMessage: 'Rate exceeded for shard shardId-000000000000',
});

/** A PutRecords stand-in: `decide` answers each entry of each call (call numbers from 1). */
function putRecordsAnswers(
  decide: (call: number, entry: number, partitionKey: string) => PutRecordsResultEntry,
) {
  const calls: PutRecordsCommandInput[] = [];
  kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => {
    calls.push(input);
    const Records = (input.Records ?? []).map((r, i) => decide(calls.length, i, r.PartitionKey as string));
    return { FailedRecordCount: Records.filter((r) => r.ErrorCode).length, Records };
  });
  return calls;
}

function records(...keys: string[]): OutgoingRecord[] {
  return keys.map((partitionKey, i) => ({ partitionKey, data: Buffer.from(`[${i}]`), readings: 1 }));
}

/** Microseconds between the first two readings of a record. */
function readingSpacingUs(data: Uint8Array): number {
  const [first, second] = (JSON.parse(Buffer.from(data).toString('utf8')) as { timestamp: string }[]).map(
    (reading) =>
      Date.parse(`${reading.timestamp.slice(0, 19).replace(' ', 'T')}Z`) * 1000 +
      Number(reading.timestamp.slice(20)),
  );
  return second - first;
}

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

describe('Kinesis sender', () => {
  test('a partial PutRecords failure is retried for the failed records only, and each record reports where it went', async () => {
    const calls = putRecordsAnswers((call, entry) =>
      call === 1 && entry === 1 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' } : accepted(),
    );
    const sender = createKinesisSender({ kinesis, streamName: 'sensor-readings', retry: NO_WAIT });

    const sent = await sender.send(records('101', '102', '103'));

    expect(calls.map((call) => call.Records?.map((r) => r.PartitionKey))).toEqual([
      ['101', '102', '103'],
      ['102'],
    ]);
    expect(sent.map((s) => [s.partitionKey, s.sequenceNumber, s.shardId])).toEqual([
      ['101', '1', 'shardId-000000000000'],
      ['102', '3', 'shardId-000000000000'],
      ['103', '2', 'shardId-000000000000'],
    ]);
  });

  test('throttled entries are retried and reported as a throttle', async () => {
    putRecordsAnswers((call, entry) => (call === 1 && entry > 0 ? throttled() : accepted()));
    const notices: ThrottleNotice[] = [];
    const sender = createKinesisSender({
      kinesis,
      streamName: 'sensor-readings',
      retry: NO_WAIT,
      onThrottle: (n) => notices.push(n),
    });

    const sent = await sender.send(records('101', '102', '103'));

    expect(notices).toEqual([{ throttledRecords: 2, attempt: 1 }]);
    expect(sent.every((s) => s.sequenceNumber)).toBe(true);
  });

  test('a call refused whole for throughput is retried, not thrown, and reported as a throttle', async () => {
    kinesisMock
      .on(PutRecordsCommand)
      .rejectsOnce(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }))
      .callsFake((input: PutRecordsCommandInput) => ({
        FailedRecordCount: 0,
        Records: (input.Records ?? []).map(accepted),
      }));
    const notices: ThrottleNotice[] = [];
    const sender = createKinesisSender({
      kinesis,
      streamName: 'sensor-readings',
      retry: NO_WAIT,
      onThrottle: (n) => notices.push(n),
    });

    const sent = await sender.send(records('101', '102'));

    expect(notices).toEqual([{ throttledRecords: 2, attempt: 1 }]);
    expect(sent).toHaveLength(2);
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(2);
  });
});

describe('simulator run over a failing or throttling Kinesis', () => {
  test('records failing at random are retried until every reading is delivered once', async () => {
    const calls = putRecordsAnswers((call, entry) => ((call + entry) % 3 === 0 ? throttled() : accepted()));
    const delivered: string[] = [];

    const summary = await runSimulator({
      kinesis,
      streamName: 'sensor-readings',
      seed: 1,
      rate: 1_000_000,
      count: 12_000,
      burstSize: 500,
      retry: NO_WAIT,
      onRecordSent: (record) => delivered.push(record.sequenceNumber as string),
    });

    expect(summary).toMatchObject({ sent: 12_000, records: 24 });
    expect(new Set(delivered).size).toBe(24);
    const attempted = calls.reduce((n, call) => n + (call.Records?.length ?? 0), 0);
    expect(attempted).toBeGreaterThan(24);
    expect(summary.throttled).toBeGreaterThan(0);
  });

  test('when retries run out the run fails, saying how many readings were not delivered', async () => {
    putRecordsAnswers((_call, _entry, key) =>
      key === '102' ? { ErrorCode: 'InternalFailure' } : accepted(),
    );

    const run = runSimulator({
      kinesis,
      streamName: 'sensor-readings',
      seed: 1,
      count: 2_000,
      rate: 1_000_000,
      equipment: [101, 102],
      retry: { ...NO_WAIT, maxAttempts: 2 },
      clock: virtualClock(0),
    });

    const error: SimulatorSendError = await run.then(
      () => {
        throw new Error('expected the run to fail');
      },
      (e) => e,
    );
    expect(error).toBeInstanceOf(SimulatorSendError);
    expect(error.message).toMatch(/1000 readings were not delivered \(1000 were, in 1 records\)/);
    expect(error.summary.sent + error.unsentReadings).toBe(2_000);
  });

  test('a throttle slows the run down: the callback fires and the readings after it are paced more slowly', async () => {
    const run = async (throttleFirstCall: boolean) => {
      const calls = putRecordsAnswers((call) => (throttleFirstCall && call === 1 ? throttled() : accepted()));
      const notices: SlowDownNotice[] = [];
      const summary = await runSimulator({
        kinesis,
        streamName: 'sensor-readings',
        seed: 1,
        rate: 1000,
        count: 1000,
        equipment: [101],
        burstSize: 100,
        retry: NO_WAIT,
        clock: virtualClock(0),
        onThrottle: (notice) => notices.push(notice),
      });
      kinesisMock.reset();
      const delivered = calls.slice(throttleFirstCall ? 1 : 0).flatMap((call) => call.Records ?? []);
      return {
        summary,
        notices,
        spacings: delivered.map((record) => readingSpacingUs(record.Data as Uint8Array)),
      };
    };

    const steady = await run(false);
    const slowed = await run(true);

    expect(steady.notices).toEqual([]);
    expect(steady.summary.elapsedMs).toBeCloseTo(1000, 6);
    expect(steady.spacings.every((us) => us === 1000)).toBe(true);
    expect(slowed.notices).toEqual([{ throttledRecords: 1, attempt: 1, readingsPerSecond: 500 }]);
    expect(slowed.summary).toMatchObject({ sent: 1000, records: 10, throttled: 1 });
    expect(slowed.summary.elapsedMs).toBeGreaterThan(1600);
    // The first record was generated at 1000 readings/s; the last at about half that, recovering.
    expect(slowed.spacings[0]).toBe(1000);
    expect(slowed.spacings[slowed.spacings.length - 1]).toBeGreaterThan(1600);
  });
});
