import { join } from 'node:path';
import {
  QUARANTINE_PREFIX,
  quarantineObjectKey,
  READINGS_PREFIX,
  readingsObjectKey,
  readingsPrefix,
  timePartition,
} from '../../lambdas/shared/object-keys';
import { LAB_SCHEMA, LAB_SCHEMA_FILE, parseReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';

const SCHEMAS = join(__dirname, '..', '..', 'schemas');

const batch = {
  shardId: 'shardId-000000000003',
  firstSequenceNumber: '49654321098765432109876543210987654321098765432109876543',
  firstArrivalMs: Date.UTC(2026, 10, 23, 19, 47, 10, 123),
};

describe('object keys', () => {
  it('timePartition is dt=YYYY-MM-DD/hour=HH of the time in UTC', () => {
    expect(timePartition(Date.UTC(2026, 10, 23, 19, 47, 10))).toBe('dt=2026-11-23/hour=19');
    expect(timePartition(Date.UTC(2026, 0, 5, 3, 0, 0))).toBe('dt=2026-01-05/hour=03');
  });

  it('timePartition does not depend on the local time zone at the day boundary', () => {
    expect(timePartition(Date.parse('2026-11-23T23:59:59.999-05:00'))).toBe('dt=2026-11-24/hour=04');
    expect(timePartition(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('dt=2026-12-31/hour=23');
    expect(timePartition(Date.UTC(2027, 0, 1, 0, 0, 0))).toBe('dt=2027-01-01/hour=00');
  });

  it('readingsObjectKey is readings/dt=.../hour=../<shard>-<seq>.csv.gz (GZIP)', () => {
    expect(READINGS_PREFIX).toBe('readings/');
    expect(readingsObjectKey(batch)).toBe(
      'readings/dt=2026-11-23/hour=19/shardId-000000000003-49654321098765432109876543210987654321098765432109876543.csv.gz',
    );
  });

  it("the lab's schema (and any with its columns) keeps readings/dt=...: the keys are those of before the reading schema", () => {
    const labLike = parseReadingSchema({ ...LAB_SCHEMA_FILE, name: 'my-plant', version: '7' });
    expect(labLike.isLab).toBe(true);
    for (const schema of [undefined, LAB_SCHEMA, loadReadingSchema(join(SCHEMAS, 'lab.json')), labLike]) {
      expect(readingsPrefix(schema)).toBe('readings/');
      expect(readingsObjectKey(batch, schema)).toBe(readingsObjectKey(batch));
    }
  });

  it('any other schema writes under readings/<name>-v<version>/, one prefix per version', () => {
    const skab = loadReadingSchema(join(SCHEMAS, 'skab.json'));
    const meter = loadReadingSchema(join(SCHEMAS, 'power-meter.yaml'));
    expect(readingsObjectKey(batch, skab)).toBe(
      'readings/skab-pump-v1/dt=2026-11-23/hour=19/shardId-000000000003-49654321098765432109876543210987654321098765432109876543.csv.gz',
    );
    expect(readingsPrefix(meter)).toBe('readings/power-meter-v1/');
    const skab2 = { ...skab, version: '2.0-rc1' };
    expect(readingsPrefix(skab2)).toBe('readings/skab-pump-v2.0-rc1/');
    // Under readings/ (the transform may write there), never under the lab's dt= partitions.
    for (const schema of [skab, meter, skab2]) {
      expect(readingsObjectKey(batch, schema).startsWith(READINGS_PREFIX)).toBe(true);
      expect(readingsObjectKey(batch, schema)).not.toMatch(/^readings\/dt=/);
    }
  });

  it('quarantineObjectKey is quarantine/dt=.../hour=../<shard>-<seq>.jsonl', () => {
    expect(QUARANTINE_PREFIX).toBe('quarantine/');
    expect(quarantineObjectKey(batch)).toBe(
      'quarantine/dt=2026-11-23/hour=19/shardId-000000000003-49654321098765432109876543210987654321098765432109876543.jsonl',
    );
  });
});
