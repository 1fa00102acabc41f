import { CSV_HEADER, csvCell, toCsv } from '../../lambdas/shared/csv';
import { type ProcessedReading, READING_COLUMNS } from '../../lambdas/shared/processed-reading';
import { processRecord, rawReading, SOURCE, simulatorReadings, toReadingRow } from './fixtures';

/** A minimal RFC 4180 reader, to check that what toCsv writes reads back cell for cell. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += char;
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with a newline');
  return rows;
}

const scored = processRecord([
  rawReading(),
  rawReading({ temperature: 84, humidity: 45 }),
  rawReading({ equipment_id: 102, timestamp: '2026-11-23T19:47:08.5Z' }),
]);
/** Readings as the transform writes them; the second is anomalous in two features, whatever the detector said. */
const readings: ProcessedReading[] = [
  scored[0],
  {
    ...scored[1],
    isAnomaly: true,
    anomalousFeatures: ['temperature', 'humidity'],
    reasons: ['temperature +40% over baseline', 'humidity +50% over baseline'],
  },
  scored[2],
];

/** The cells the lake must hold: toReadingRow's, column by column (what last3 and Athena read). */
function expectedLine(processed: ProcessedReading): string {
  const row = toReadingRow(processed);
  return READING_COLUMNS.map((column) => csvCell(row[column])).join(',');
}

describe('csv', () => {
  it('has READING_COLUMNS joined by commas as its header', () => {
    expect(CSV_HEADER).toBe(READING_COLUMNS.join(','));
    expect(CSV_HEADER).toBe(
      'stream,shard_id,partition_key,sequence_number,reading_index,arrival_time,timestamp,equipment_id,' +
        'vibration_amplitude,vibration_frequency,temperature,humidity,anomaly_score,is_anomaly,' +
        'anomalous_features,reasons,model_version',
    );
  });

  it.each([
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line1\nline2', '"line1\nline2"'],
    ['line1\r\nline2', '"line1\r\nline2"'],
    ['"', '""""'],
  ])('quotes %p RFC 4180 style', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it.each([
    ['plain text', 'plain text'],
    [
      'temperature +40% over baseline; humidity +50% over baseline',
      'temperature +40% over baseline; humidity +50% over baseline',
    ],
    [251.29348573658214, '251.29348573658214'],
    [true, 'true'],
    ['', ''],
  ])('leaves %p unquoted', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('toCsv writes the header and one line per reading, ending with a newline', () => {
    const csv = toCsv(readings);
    expect(csv.endsWith('\n')).toBe(true);
    const lines = csv.slice(0, -1).split('\n');
    expect(lines).toHaveLength(readings.length + 1);
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines[2]).toContain(
      ',true,temperature; humidity,temperature +40% over baseline; humidity +50% over baseline,',
    );
  });

  it('toCsv writes exactly the cells of toReadingRow, for every reading of a scored simulator record', () => {
    // Full-precision values, and values with two decimals as the simulator sends (numberText's fast path).
    const raw = simulatorReadings(1000, {
      equipmentId: 103,
      startMs: Date.UTC(2026, 10, 23, 19, 46, 0),
      seed: 5,
    });
    const twoDecimals = raw.map((reading, i) =>
      i % 2 === 0
        ? reading
        : Object.fromEntries(
            Object.entries(reading).map(([k, v]) => [
              k,
              typeof v === 'number' ? Math.round(v * 100) / 100 : v,
            ]),
          ),
    );
    const simulated = processRecord(twoDecimals);
    expect(simulated.some((p) => p.isAnomaly)).toBe(true);
    const other = { ...SOURCE, sequenceNumber: '2', arrivalMs: SOURCE.arrivalMs + 61_000 };
    const mixed = [...simulated, ...readings, ...simulated.slice(0, 3).map((p) => ({ ...p, source: other }))];
    const lines = toCsv(mixed).slice(0, -1).split('\n').slice(1);
    expect(lines).toEqual(mixed.map(expectedLine));
  });

  it('toCsv of no readings is the header line alone', () => {
    expect(toCsv([])).toBe(`${CSV_HEADER}\n`);
  });

  it('toCsv output reads back to the same cells, even with commas, quotes and newlines in them', () => {
    const tricky: ProcessedReading = {
      ...readings[1],
      source: { ...readings[1].source, stream: 'a,"b"', partitionKey: 'x\ny' },
      reasons: ['r1, r2'],
    };
    const parsed = parseCsv(toCsv([readings[0], tricky]));
    expect(parsed).toHaveLength(3);
    expect(parsed[0]).toEqual([...READING_COLUMNS]);
    const trickyRow = toReadingRow(tricky);
    expect(parsed[2]).toEqual(READING_COLUMNS.map((column) => String(trickyRow[column])));
    const firstRow = toReadingRow(readings[0]);
    expect(parsed[1]).toEqual(READING_COLUMNS.map((column) => String(firstRow[column])));
  });
});
