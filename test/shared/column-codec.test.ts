import { deflateSync, inflateSync } from 'node:zlib';
import {
  ColumnDataError,
  DEFAULT_COLUMN_LIMITS,
  decodeColumns,
  encodeColumns,
} from '../../lambdas/shared/column-codec';
import { seededRandom } from './fixtures';

const roundTrip = (columns: Float64Array[]) =>
  decodeColumns(encodeColumns(columns, columns[0].length), {
    readings: columns[0].length,
    columns: columns.length,
  });

describe('compact typed columns', () => {
  it('give back every value exactly: decimals, full-precision doubles, negatives, big, tiny, absent', () => {
    const random = seededRandom(5);
    const n = 500;
    const columns = [
      Float64Array.from({ length: n }, (_, i) => i),
      Float64Array.from({ length: n }, () => Math.round((random() - 0.5) * 1e5) / 100),
      Float64Array.from({ length: n }, () => random() * 1000),
      Float64Array.from({ length: n }, (_, i) =>
        i % 7 === 0 ? Number.NaN : Math.round(random() * 1e4) / 1e4,
      ),
      Float64Array.from({ length: n }, (_, i) => (i % 2 ? 2 ** 52 : -1e-300)),
      Float64Array.from({ length: n }, () => Number.NaN),
      Float64Array.from({ length: n }, (_, i) => (i % 3 ? 0.1 + 0.2 : 1e20)),
    ];
    const decoded = roundTrip(columns);
    expect(decoded).toHaveLength(columns.length);
    for (const [c, column] of decoded.entries()) expect(Array.from(column)).toEqual(Array.from(columns[c]));
  });

  it('round-trip an empty document', () => {
    expect(decodeColumns(encodeColumns([new Float64Array(0)], 0), { readings: 0, columns: 1 })).toEqual([
      new Float64Array(0),
    ]);
  });

  it('write the documented layout (pinned byte for byte before compression)', () => {
    // 3 readings; column 0: decimal, 0 decimals, 5 6 8 -> zigzag deltas 10 2 4;
    // column 1: decimal, 2 decimals, 1.5 absent -0.25 -> 150 then -175 -> zigzag 300 (varint 172 2) 349 (221 2);
    // column 2: float64 of 0.1 + 0.2.
    const layout = Uint8Array.from([
      1,
      3,
      3,
      0,
      0,
      0,
      10,
      2,
      4,
      0,
      2,
      1,
      0b010,
      172,
      2,
      221,
      2,
      1,
      0,
      ...new Uint8Array(new Float64Array([0.1 + 0.2, 7, 8]).buffer),
    ]);
    const columns = [
      Float64Array.from([5, 6, 8]),
      Float64Array.from([1.5, Number.NaN, -0.25]),
      Float64Array.from([0.1 + 0.2, 7, 8]),
    ];
    const decoded = decodeColumns(deflateSync(layout), { readings: 3, columns: 3 });
    for (const [c, column] of decoded.entries()) expect(Array.from(column)).toEqual(Array.from(columns[c]));
    expect(inflateSync(encodeColumns(columns, 3))).toEqual(Buffer.from(layout));
    // Column 2 is float64 only because of 0.1 + 0.2; alone, 7 and 8 would be decimal.
    expect(Array.from(roundTrip(columns)[2])).toEqual([0.1 + 0.2, 7, 8]);
  });
});

describe('decoding stored columns as untrusted input', () => {
  const good = encodeColumns([Float64Array.from([1, 2, 3])], 3);
  const expected = { readings: 3, columns: 1 };
  const decodeRaw = (bytes: number[], readings = 3, columns = 1) =>
    decodeColumns(deflateSync(Uint8Array.from(bytes)), { readings, columns });

  it('refuses what is not zlib data, or fails its checksum', () => {
    expect(() => decodeColumns(Uint8Array.from([1, 2, 3]), expected)).toThrow(ColumnDataError);
    const flipped = Uint8Array.from(good);
    flipped[flipped.length - 1] ^= 1;
    expect(() => decodeColumns(flipped, expected)).toThrow(/do not inflate/);
  });

  it('refuses a value that would inflate past the limit (a deflate bomb) without inflating it all', () => {
    const bomb = deflateSync(new Uint8Array(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    expect(() => decodeColumns(bomb, expected)).toThrow(/do not inflate/);
    expect(() => decodeColumns(good, expected, { ...DEFAULT_COLUMN_LIMITS, maxInflatedBytes: 4 })).toThrow(
      ColumnDataError,
    );
  });

  it('refuses sizes beyond the limits before allocating', () => {
    expect(() => decodeColumns(good, { readings: 5_000_000, columns: 1 })).toThrow(/exceed 4000000 values/);
  });

  it('refuses a wrong version, counts the document does not say, unknown kinds and flags', () => {
    expect(() => decodeRaw([2, 3, 1, 0, 0, 0, 2, 2, 2])).toThrow(/codec version 2/);
    expect(() => decodeRaw([1, 4, 1, 0, 0, 0, 2, 2, 2, 2])).toThrow(
      /hold 4 x 1 values where the document says 3 x 1/,
    );
    expect(() => decodeRaw([1, 3, 1, 7, 0, 0, 2, 2, 2])).toThrow(/unknown kind 7/);
    expect(() => decodeRaw([1, 3, 1, 0, 9, 0, 2, 2, 2])).toThrow(/9 decimals/);
    expect(() => decodeRaw([1, 3, 1, 0, 0, 5, 2, 2, 2])).toThrow(/null flag 5/);
  });

  it('refuses truncated values, over-long varints and bytes left over', () => {
    expect(() => decodeRaw([1, 3, 1, 0, 0, 0, 2, 2])).toThrow(/end inside a value/);
    expect(() => decodeRaw([1, 3, 1, 1, 0, 1, 2, 3])).toThrow(/end inside a float64/);
    expect(() => decodeRaw([1, 3, 1, 0, 0, 0, 2, 2, 255, 255, 255, 255, 255, 1])).toThrow(
      /longer than 5 bytes/,
    );
    expect(() => decodeRaw([1, 3, 1, 0, 0, 0, 2, 2, 2, 9])).toThrow(/1 bytes left over/);
    expect(() => decodeRaw([1, 3, 1, 0, 0, 1])).toThrow(/end inside a null bitmap/);
  });
});
