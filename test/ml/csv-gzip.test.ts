import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCsvDataset, readCsvHeader } from '../../ml/csv-dataset';

const CSV = [
  'timestamp,equipment_id,temperature,is_anomaly',
  '2026-11-23T19:00:00.000Z,101,60.5,false',
  '2026-11-23T19:00:01.000Z,101,61.5,true',
  '2026-11-23T19:00:02.000Z,102,59.5,false',
].join('\n');

test('the CSV lake downloaded as it is (.csv.gz objects) reads as its plain CSV does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'csv-gzip-'));
  try {
    const plain = join(dir, 'a.csv');
    const zipped = join(dir, 'a.csv.gz');
    writeFileSync(plain, CSV);
    writeFileSync(zipped, gzipSync(CSV));
    const mapping = {
      features: ['temperature'],
      timestamp: 'timestamp',
      key: 'equipment_id',
      label: 'is_anomaly',
      delimiter: ',',
    };
    expect(readCsvHeader(zipped, ',')).toEqual(readCsvHeader(plain, ','));
    const fromZipped = readCsvDataset(zipped, mapping);
    const fromPlain = readCsvDataset(plain, mapping);
    expect(fromZipped.streams).toEqual(fromPlain.streams);
    expect(fromZipped.streams.map((s) => s.key)).toEqual(['101', '102']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
