import { gunzipSync } from 'node:zlib';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { READINGS_PREFIX } from '../../lambdas/shared/object-keys';
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

  test('the CSV objects are read in both forms: GZIP (.csv.gz, written now) and plain (.csv, an earlier version)', async () => {
    const pipeline = await LocalPipeline.start();
    try {
      await pipeline.clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: LOCAL_NAMES.inputStream,
          Records: [{ PartitionKey: '101', Data: Buffer.from(readings(10)) }],
        }),
      );
      await pipeline.drain(60_000);
      const listed = await pipeline.clients.s3.send(
        new ListObjectsV2Command({ Bucket: LOCAL_NAMES.processedBucket, Prefix: READINGS_PREFIX }),
      );
      const keys = (listed.Contents ?? []).map((object) => object.Key as string);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/\.csv\.gz$/);
      // The same object as an earlier version wrote it, under another batch's name: plain CSV.
      const object = await pipeline.clients.s3.send(
        new GetObjectCommand({ Bucket: LOCAL_NAMES.processedBucket, Key: keys[0] }),
      );
      // The same rows again, as a retried batch would have written them: counted as rows, not as readings.
      const bytes = await (
        object.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      const text = gunzipSync(bytes).toString('utf8');
      await pipeline.clients.s3.send(
        new PutObjectCommand({
          Bucket: LOCAL_NAMES.processedBucket,
          Key: keys[0].replace(/-(\d+)\.csv\.gz$/, '-old.csv'),
          Body: text,
        }),
      );

      expect(await readBackCounts(pipeline.clients)).toMatchObject({
        valid: 10,
        csvRows: 20,
        csvObjects: 2,
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
