import { DETAILED_READINGS, quarantinedReadings, toJsonLines } from '../../lambdas/shared/quarantine';
import { scoreRecord } from '../../lambdas/shared/score-record';
import {
  ARRIVAL_MS,
  encode,
  encodeJson,
  freshDetector,
  LIMITS,
  rawReading,
  SOURCE,
  seededRandom,
  toReadingRow,
} from './fixtures';

/** A single-reading record whose `field` is written as a bare token (NaN, Infinity), as Python's json does. */
function withBareToken(field: string, token: string): string {
  return JSON.stringify(rawReading({ [field]: '__TOKEN__' })).replace('"__TOKEN__"', ` ${token}`);
}

function oversizeRecord(): Uint8Array {
  const readings = Array.from({ length: 8_000 }, (_, i) =>
    rawReading({ timestamp: new Date(ARRIVAL_MS - 60_000 + i).toISOString() }),
  );
  const bytes = encodeJson(readings);
  if (bytes.byteLength <= LIMITS.maxRecordBytes) throw new Error('fixture is not oversize');
  return bytes;
}

const OVERSIZE_RECORD = oversizeRecord();
/** The 4 KB poison pill: about 2,200 arrays inside one another, which a recursive measure overflows on. */
const DEEP_RECORD = `${'['.repeat(2_200)}0${']'.repeat(2_200)}`;
/** A reading whose one value nests 17 levels: the record is one level more. */
const DEEP_READING = JSON.stringify([
  rawReading({ vibration_amplitude: JSON.parse(`${'['.repeat(17)}1${']'.repeat(17)}`) }),
]);
/** Deep and with a bare NaN: the lenient parse (whose reviver V8 runs recursively) must not see it. */
const DEEP_LENIENT_RECORD = `${'['.repeat(200_000)}NaN${']'.repeat(200_000)}`;
/** Just under 1 MiB of arrays inside one another: rejected without exhausting the stack. */
const DEEPEST_RECORD = `${'['.repeat(500_000)}${']'.repeat(500_000)}`;
const OVERSIZE_READING = rawReading({ note: 'x'.repeat(1_100) });
const OVERSIZE_READING_BYTES = Buffer.byteLength(JSON.stringify(OVERSIZE_READING));
const INVALID_UTF8 = Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]);

describe('scoreRecord quarantines a bad record as a whole, with the raw data kept', () => {
  const cases: {
    name: string;
    data: Uint8Array;
    reason: RegExp;
    encoding: 'text' | 'base64';
    raw: string;
  }[] = [
    {
      name: 'not JSON',
      data: encode('{"timestamp":'),
      reason: /^record is not JSON: .+/,
      encoding: 'text',
      raw: '{"timestamp":',
    },
    {
      name: 'a JSON number',
      data: encode('42'),
      reason: /^record is a JSON number, expected a reading object or an array of readings$/,
      encoding: 'text',
      raw: '42',
    },
    {
      name: 'a JSON string',
      data: encode('"hello"'),
      reason: /^record is a JSON string, expected a reading object or an array of readings$/,
      encoding: 'text',
      raw: '"hello"',
    },
    {
      name: 'JSON null',
      data: encode('null'),
      reason: /^record is a JSON null, expected a reading object or an array of readings$/,
      encoding: 'text',
      raw: 'null',
    },
    {
      name: 'a JSON boolean',
      data: encode('true'),
      reason: /^record is a JSON boolean, expected a reading object or an array of readings$/,
      encoding: 'text',
      raw: 'true',
    },
    {
      name: 'an empty array',
      data: encode('[]'),
      reason: /^record is an empty JSON array \(no readings\)$/,
      encoding: 'text',
      raw: '[]',
    },
    {
      name: 'an empty record (0 bytes)',
      data: new Uint8Array(0),
      reason: /^record is empty$/,
      encoding: 'text',
      raw: '',
    },
    {
      name: 'invalid UTF-8 bytes',
      data: INVALID_UTF8,
      reason: /^record is not valid UTF-8 text$/,
      encoding: 'base64',
      raw: Buffer.from(INVALID_UTF8).toString('base64'),
    },
    {
      name: 'a record nested 2,200 levels deep (a 4 KB poison pill)',
      data: encode(DEEP_RECORD),
      reason: /^record nests JSON more than 16 levels deep$/,
      encoding: 'text',
      raw: DEEP_RECORD,
    },
    {
      name: 'a record nested 200,000 levels deep around a bare NaN (the lenient parse)',
      data: encode(DEEP_LENIENT_RECORD),
      reason: /^record nests JSON more than 16 levels deep$/,
      encoding: 'text',
      raw: DEEP_LENIENT_RECORD,
    },
    {
      name: 'a record nested 500,000 levels deep (just under 1 MiB)',
      data: encode(DEEPEST_RECORD),
      reason: /^record nests JSON more than 16 levels deep$/,
      encoding: 'text',
      raw: DEEPEST_RECORD,
    },
    {
      name: 'a reading whose value nests 17 levels',
      data: encode(DEEP_READING),
      reason: /^record nests JSON more than 16 levels deep$/,
      encoding: 'text',
      raw: DEEP_READING,
    },
    {
      name: 'a record over 1 MiB',
      data: OVERSIZE_RECORD,
      reason: new RegExp(`^record is ${OVERSIZE_RECORD.byteLength} bytes, over the 1048576-byte limit$`),
      encoding: 'text',
      raw: Buffer.from(OVERSIZE_RECORD).toString('utf8'),
    },
  ];

  it.each(cases)(
    '$name: no reading, one entry with reading_index null',
    ({ data, reason, encoding, raw }) => {
      const result = scoreRecord(SOURCE, data, freshDetector(), LIMITS);
      expect(result.processed).toEqual([]);
      expect(result.quarantined).toHaveLength(1);
      const [entry] = result.quarantined;
      expect(entry.reason).toMatch(reason);
      expect(entry.reading_index).toBeNull();
      expect(entry.data_encoding).toBe(encoding);
      expect(entry.data).toBe(raw);
      expect(entry).toMatchObject({
        stream: SOURCE.stream,
        shard_id: SOURCE.shardId,
        partition_key: SOURCE.partitionKey,
        sequence_number: SOURCE.sequenceNumber,
        arrival_time: '2026-11-23T19:47:10.000Z',
      });
    },
  );
});

describe('scoreRecord quarantines a bad reading with its position and reason', () => {
  type Case = { name: string; record: string; reason: RegExp; index?: number; data: unknown };
  const single = (name: string, reading: unknown, reason: RegExp): Case => ({
    name,
    record: JSON.stringify(reading),
    reason,
    data: reading,
  });
  const missing = (field: string): Case => {
    const reading = rawReading();
    delete reading[field];
    return single(`missing ${field}`, reading, new RegExp(`^${field} is missing$`));
  };
  const bare = (field: string, token: string, value: number): Case => ({
    name: `${field} ${token} written as a bare token`,
    record: withBareToken(field, token),
    reason: new RegExp(`^${field} must be a finite number, got number ${token}$`),
    data: rawReading({ [field]: value }),
  });

  const cases: Case[] = [
    missing('timestamp'),
    missing('equipment_id'),
    missing('vibration_amplitude'),
    missing('vibration_frequency'),
    missing('temperature'),
    missing('humidity'),
    single(
      'equipment_id as an object',
      rawReading({ equipment_id: { id: 101 } }),
      /^equipment_id must be a positive integer, got an object$/,
    ),
    single(
      'temperature as a boolean',
      rawReading({ temperature: true }),
      /^temperature must be a finite number, got boolean true$/,
    ),
    single(
      'vibration_amplitude as a numeric string',
      rawReading({ vibration_amplitude: '251.3' }),
      /^vibration_amplitude must be a finite number, got the string "251\.3"$/,
    ),
    single(
      'equipment_id as a numeric string',
      rawReading({ equipment_id: '101' }),
      /^equipment_id must be a positive integer, got the string "101"$/,
    ),
    bare('temperature', 'NaN', Number.NaN),
    bare('temperature', 'Infinity', Number.POSITIVE_INFINITY),
    bare('vibration_frequency', '-Infinity', Number.NEGATIVE_INFINITY),
    single('humidity null', rawReading({ humidity: null }), /^humidity must be a finite number, got null$/),
    single(
      'humidity 100.5 (over 100 %)',
      rawReading({ humidity: 100.5 }),
      /^humidity 100\.5 is above the physical maximum 100 %$/,
    ),
    single(
      'negative vibration amplitude',
      rawReading({ vibration_amplitude: -1 }),
      /^vibration_amplitude -1 is below the physical minimum 0$/,
    ),
    single(
      'temperature below absolute zero',
      rawReading({ temperature: -300 }),
      /^temperature -300 is below the physical minimum -273\.15 °C$/,
    ),
    single(
      'non-integer equipment_id',
      rawReading({ equipment_id: 1.5 }),
      /^equipment_id must be a positive integer, got 1\.5$/,
    ),
    single(
      'equipment_id 0',
      rawReading({ equipment_id: 0 }),
      /^equipment_id must be a positive integer, got 0$/,
    ),
    single(
      'timestamp "yesterday"',
      rawReading({ timestamp: 'yesterday' }),
      /^timestamp "yesterday" is not ISO 8601, "YYYY-MM-DD HH:MM:SS\[\.ffffff\]" or epoch milliseconds$/,
    ),
    single(
      'timestamp with month 13, day 45, hour 99',
      rawReading({ timestamp: '2026-13-45 99:00:00' }),
      /^timestamp "2026-13-45 99:00:00" is not a real date and time$/,
    ),
    single(
      'timestamp on February 30',
      rawReading({ timestamp: '2026-02-30 10:00:00' }),
      /^timestamp "2026-02-30 10:00:00" is not a real date and time$/,
    ),
    single(
      'timestamp a day after arrival',
      rawReading({ timestamp: ARRIVAL_MS + 86_400_000 }),
      /^timestamp 2026-11-24T19:47:10\.000Z is 86400 s after the record arrived \(more than the 900 s clock skew allowed\)$/,
    ),
    single(
      'epoch seconds sent as milliseconds',
      rawReading({ timestamp: 1763927229 }),
      /^timestamp 1970-01-21T\S+ is before 2000-01-01 \(epoch seconds sent where milliseconds are expected\?\)$/,
    ),
    single(
      'a reading over 1024 bytes as JSON',
      OVERSIZE_READING,
      new RegExp(`^reading is ${OVERSIZE_READING_BYTES} bytes as JSON, over the 1024-byte limit$`),
    ),
    single('an unknown extra field', rawReading({ location: 'bay 3' }), /^unknown field "location"$/),
    ...['+24:00', '+99:00', '+05:99', '-13:00', '+14:30', '-1230'].map((offset) =>
      single(
        `a timestamp with the impossible time zone offset ${offset}`,
        rawReading({ timestamp: `2026-11-23T19:47:09${offset}` }),
        new RegExp(`has an impossible time zone offset \\${offset} \\(offsets run from -12:00 to \\+14:00`),
      ),
    ),
    {
      name: 'an array in an array record',
      record: JSON.stringify([rawReading(), [101, 250, 1000, 60, 30]]),
      reason: /^reading must be a JSON object, got an array$/,
      index: 1,
      data: [101, 250, 1000, 60, 30],
    },
    {
      name: 'a number in an array record',
      record: JSON.stringify([rawReading(), 42]),
      reason: /^reading must be a JSON object, got number 42$/,
      index: 1,
      data: 42,
    },
  ];

  it.each(cases)('$name', ({ record, reason, index = 0, data }) => {
    let result: ReturnType<typeof scoreRecord> | undefined;
    expect(() => {
      result = scoreRecord(SOURCE, encode(record), freshDetector(), LIMITS);
    }).not.toThrow();
    if (!result) throw new Error('no result');
    expect(result.processed.map((p) => p.index)).not.toContain(index);
    expect(result.processed).toHaveLength(index); // the valid readings before it, if any
    expect(result.quarantined).toHaveLength(1);
    const [entry] = result.quarantined;
    expect(entry.reason).toMatch(reason);
    expect(entry.reading_index).toBe(index);
    expect(entry.data_encoding).toBe('json');
    expect(entry.data).toEqual(data);
  });

  it('keeps a NaN value as the number NaN in the quarantined reading', () => {
    const { quarantined } = scoreRecord(
      SOURCE,
      encode(withBareToken('temperature', 'NaN')),
      freshDetector(),
      LIMITS,
    );
    expect(Number.isNaN((quarantined[0].data as Record<string, unknown>).temperature)).toBe(true);
  });

  it('reads NaN and Infinity tokens in an array record and passes its valid readings through', () => {
    const record = `[${JSON.stringify(rawReading())},${withBareToken('humidity', 'Infinity')},${JSON.stringify(rawReading({ equipment_id: 102 }))}]`;
    const result = scoreRecord(SOURCE, encode(record), freshDetector(), LIMITS);
    expect(result.processed.map((p) => p.index)).toEqual([0, 2]);
    expect(result.quarantined.map((q) => [q.reading_index, q.reason])).toEqual([
      [1, 'humidity must be a finite number, got number Infinity'],
    ]);
  });

  it('leaves NaN and Infinity inside string values as text', () => {
    const reading = rawReading({ timestamp: 'NaN Infinity -Infinity' });
    const result = scoreRecord(
      SOURCE,
      encode(`[${withBareToken('humidity', 'NaN')},${JSON.stringify(reading)}]`),
      freshDetector(),
      LIMITS,
    );
    expect(result.quarantined.map((q) => q.reading_index)).toEqual([0, 1]);
    expect(result.quarantined[1].data).toEqual(reading);
  });
});

describe('scoreRecord with a mixed record', () => {
  it('passes the valid readings of [valid, invalid, valid] and quarantines only the invalid one', () => {
    const record = [rawReading(), rawReading({ humidity: 100.5 }), rawReading({ equipment_id: 102 })];
    const result = scoreRecord(SOURCE, encodeJson(record), freshDetector(), LIMITS);
    expect(result.processed.map((p) => [p.index, p.reading.equipmentId])).toEqual([
      [0, 101],
      [2, 102],
    ]);
    expect(result.quarantined).toHaveLength(1);
    expect(result.quarantined[0].reading_index).toBe(1);
    expect(result.quarantined[0].data).toEqual(record[1]);
  });
});

describe('scoreRecord accepts the documented timestamp formats', () => {
  it.each([
    {
      format: 'ISO 8601 with Z',
      timestamp: '2026-11-23T19:47:09.250Z',
      expected: '2026-11-23T19:47:09.250Z',
    },
    {
      format: 'ISO 8601 with a +02:00 offset, converted to UTC',
      timestamp: '2026-11-23T21:47:09+02:00',
      expected: '2026-11-23T19:47:09.000Z',
    },
    {
      format: 'the lab format, UTC, microseconds truncated to milliseconds',
      timestamp: '2026-11-23 19:47:09.123456',
      expected: '2026-11-23T19:47:09.123Z',
    },
    { format: 'epoch milliseconds', timestamp: ARRIVAL_MS - 1_234, expected: '2026-11-23T19:47:08.766Z' },
  ])('$format', ({ timestamp, expected }) => {
    const result = scoreRecord(SOURCE, encodeJson([rawReading({ timestamp })]), freshDetector(), LIMITS);
    expect(result.quarantined).toEqual([]);
    expect(result.processed).toHaveLength(1);
    expect(result.processed[0].reading.timestampMs).toBe(Date.parse(expected));
    expect(toReadingRow(result.processed[0]).timestamp).toBe(expected);
  });

  it('accepts a record that is a single reading object (not an array) as reading 0', () => {
    const result = scoreRecord(SOURCE, encodeJson(rawReading()), freshDetector(), LIMITS);
    expect(result.quarantined).toEqual([]);
    expect(result.processed).toHaveLength(1);
    expect(result.processed[0]).toMatchObject({
      index: 0,
      source: SOURCE,
      modelVersion: freshDetector().modelVersion,
      reading: {
        equipmentId: 101,
        timestampMs: Date.UTC(2026, 10, 23, 19, 47, 9),
        values: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 60, humidity: 30 },
      },
    });
  });
});

describe('a record of many bad readings costs about its own size, never more', () => {
  /** About 1 MiB of zeros: half a million readings, none of them an object. */
  const zeros = encode(`[${new Array(520_000).fill('0').join(',')}]`);

  it('quarantines the first readings one by one and the rest in one summary that keeps the record', () => {
    const result = scoreRecord(SOURCE, zeros, freshDetector(), LIMITS);
    expect(result.processed).toEqual([]);
    expect(result.quarantined).toHaveLength(DETAILED_READINGS + 1);
    expect(result.quarantined.slice(0, DETAILED_READINGS).map((e) => [e.reading_index, e.data])).toEqual(
      Array.from({ length: DETAILED_READINGS }, (_, i) => [i, 0]),
    );
    const summary = result.quarantined[DETAILED_READINGS];
    expect(summary).toMatchObject({
      reading_index: null,
      readings: 520_000 - DETAILED_READINGS,
      reasons: { 'reading must be a JSON object, got number 0': 520_000 - DETAILED_READINGS },
      data_encoding: 'text',
      data: Buffer.from(zeros).toString('utf8'),
    });
    expect(quarantinedReadings(result.quarantined)).toBe(520_000);
    // What is written to S3: the record once, plus a few hundred bytes per detailed reading.
    const written = Buffer.byteLength(toJsonLines(result.quarantined));
    expect(written).toBeLessThan(zeros.byteLength + 10_000);
  });

  it('counts at most 20 distinct reasons apart, the rest as other reasons', () => {
    const readings = Array.from({ length: 1_000 }, (_, i) => rawReading({ humidity: 101 + i }));
    const { quarantined } = scoreRecord(SOURCE, encodeJson(readings), freshDetector(), LIMITS);
    const summary = quarantined[quarantined.length - 1];
    expect(Object.keys(summary.reasons ?? {})).toHaveLength(21);
    expect(summary.reasons?.['(other reasons)']).toBe(1_000 - DETAILED_READINGS - 20);
    expect(quarantinedReadings(quarantined)).toBe(1_000);
  });

  it('keeps a record of a few bad readings as before: one entry each, no summary', () => {
    const record = [rawReading(), rawReading({ humidity: 140 }), 7];
    const { quarantined } = scoreRecord(SOURCE, encodeJson(record), freshDetector(), LIMITS);
    expect(quarantined.map((e) => [e.reading_index, e.readings])).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });
});

describe('every byte sequence ends as readings or quarantine entries, never as an exception', () => {
  const random = seededRandom(12);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  /** A random JSON value: nested arrays and objects (sometimes very deep), odd numbers, strings. */
  function randomValue(depth: number): unknown {
    const kind = depth > 40 ? 0 : Math.floor(random() * 6);
    if (kind === 0) return pick([0, -1, 1e308, -0.5, 'x', '', null, true, '2026-11-23T19:47:09+24:00']);
    if (kind === 1) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
    if (kind === 2)
      return rawReading({ [pick(['temperature', 'humidity', 'timestamp', 'x'])]: randomValue(depth + 1) });
    if (kind === 3) return { [pick(['a', 'timestamp', '__proto__', 'constructor'])]: randomValue(depth + 1) };
    if (kind === 4) return rawReading();
    return pick(['NaN', 'Infinity', '"\u0000"', '[', '{"a":']);
  }

  it('on 2,000 random records: each reading is scored or quarantined, and the quarantine can be written', () => {
    for (let i = 0; i < 2_000; i++) {
      const value = randomValue(0);
      let bytes: Uint8Array;
      if (i % 5 === 0)
        bytes = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      else if (i % 7 === 0)
        bytes = encode(`${'['.repeat(2_000 + i)}${JSON.stringify(value) ?? 0}${']'.repeat(2_000 + i)}`);
      else bytes = encode(JSON.stringify(value) ?? 'undefined');
      let result: ReturnType<typeof scoreRecord> | undefined;
      expect(() => {
        result = scoreRecord(SOURCE, bytes, freshDetector(), LIMITS);
        toJsonLines(result.quarantined);
      }).not.toThrow();
      if (!result) throw new Error('no result');
      const decoded = (() => {
        try {
          return JSON.parse(Buffer.from(bytes).toString('utf8'));
        } catch {
          return undefined;
        }
      })();
      if (Array.isArray(decoded) && decoded.length > 0 && result.quarantined[0]?.reading_index !== null) {
        expect(result.processed.length + quarantinedReadings(result.quarantined)).toBe(decoded.length);
      } else {
        expect(result.processed.length + quarantinedReadings(result.quarantined)).toBeGreaterThanOrEqual(1);
      }
    }
  });
});
