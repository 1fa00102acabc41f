import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { LOCAL_NAMES } from '../../local/names';
import { LocalPipeline } from '../../local/pipeline';
import { readBackCounts } from '../../local/read-back';

/** `count` lab readings of one equipment, the first `invalid` of them out of physical range. */
function readings(count: number, invalid = 0): string {
  return JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      timestamp: new Date(Date.now() - count + i).toISOString(),
      equipment_id: 101,
      vibration_amplitude: 250 + (i % 10),
      vibration_frequency: 1000 + (i % 7),
      temperature: i < invalid ? 10_000 : 60 + (i % 3),
      humidity: 30,
    })),
  );
}

describe('read-back counts', () => {
  test('partition keys holding commas, quotes, line breaks and formula characters are counted once each', async () => {
    const pipeline = await LocalPipeline.start();
    try {
      // The CSV quotes these cells, and the partition key comes before the sequence number.
      const keys = ['a,b', 'line\nbreak', 'say "hi", twice', '=1+2,\r\n"x"'];
      await pipeline.clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: LOCAL_NAMES.inputStream,
          Records: keys.map((key) => ({ PartitionKey: key, Data: Buffer.from(readings(10)) })),
        }),
      );
      await pipeline.drain(60_000);

      expect(await readBackCounts(pipeline.clients)).toMatchObject({
        valid: 40,
        csvRows: 40,
        dynamoReadings: 40,
        archivedReadings: 40,
        quarantined: 0,
      });
    } finally {
      await pipeline.stop();
    }
  });

  test("a record's many rejected readings count as readings, not as quarantine entries", async () => {
    const pipeline = await LocalPipeline.start();
    try {
      // Past the first few, a record's rejected readings are summed up in one entry.
      await pipeline.clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: LOCAL_NAMES.inputStream,
          Records: [{ PartitionKey: '101', Data: Buffer.from(readings(40, 25)) }],
        }),
      );
      await pipeline.drain(60_000);

      expect(await readBackCounts(pipeline.clients)).toMatchObject({
        valid: 15,
        csvRows: 15,
        quarantined: 25,
        archivedReadings: 40,
      });
    } finally {
      await pipeline.stop();
    }
  });
});
