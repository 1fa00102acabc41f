import { deflateSync, inflateSync } from 'node:zlib';

/**
 * Compact typed columns: the readings of a document as one binary value, column after column, then
 * compressed with zlib (deflate, level 6). Measured on the lab simulator's 1,000-reading records
 * (docs/storage.md): 12 KB of columns deflate to about 7.3 KB; brotli (quality 4) gave 2% less for
 * 40% more time, and byte-plane shuffling 3% less for more code, so zlib it is. The zlib wrapper's
 * Adler-32 checksum also tells a damaged value from a valid one on reading.
 *
 * Layout before compression (varint: unsigned LEB128, at most 5 bytes):
 *   u8 version (1), varint readings, varint columns, then per column:
 *   u8 kind: 0 = decimal: u8 decimals d, then each value's v * 10^d as a zigzag varint of its
 *            difference from the previous value's (exact: a column is decimal only when every
 *            value comes back identical from its scaled integer);
 *            1 = float64: 8 bytes little-endian per value (what no decimal of at most 6 digits holds);
 *   u8 nulls: 0 = none, 1 = a bitmap of ceil(readings / 8) bytes follows (bit set: the value is
 *            absent, an optional feature a reading left out); absent values are not stored.
 * A null is NaN in the arrays given and returned.
 */

export const COLUMN_CODEC_VERSION = 1;
const DECIMAL = 0;
const FLOAT64 = 1;
/** Scores have 4 decimals, sensors mostly 1 to 3. */
const MAX_DECIMALS = 6;
const POWERS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
/** |scaled value| below 2^30: a difference is below 2^31 and its zigzag below 2^32, 5 varint bytes at most. */
const SCALED_LIMIT = 2 ** 30;
const MAX_VARINT_BYTES = 5;

/** What a decoder accepts: the stored value is read as untrusted input. */
export interface ColumnLimits {
  /** Bytes once inflated (a few hundred KB of deflate may inflate a thousandfold). */
  maxInflatedBytes: number;
  /** Readings times columns: the decoded arrays take 8 bytes each. */
  maxValues: number;
}

export const DEFAULT_COLUMN_LIMITS: ColumnLimits = {
  maxInflatedBytes: 8 * 1024 * 1024,
  maxValues: 4_000_000,
};

export class ColumnDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ColumnDataError';
  }
}

/** Upper bound of a column value's bytes before compression (a float64, or a varint and the null bit). */
export const MAX_VALUE_BYTES = 9;

/** A scratch buffer, grown as needed and reused: deflate copies what it is given. */
let scratch = new Uint8Array(64 * 1024);

/** Encodes `columns` (each `count` long, NaN for an absent value) and compresses them. */
export function encodeColumns(columns: readonly Float64Array[], count: number): Uint8Array {
  const bound = 16 + columns.length * (4 + Math.ceil(count / 8) + count * MAX_VALUE_BYTES);
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const out = scratch;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  const varint = (value: number) => {
    while (value >= 128) {
      out[at++] = (value % 128) + 128;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  };
  out[at++] = COLUMN_CODEC_VERSION;
  varint(count);
  varint(columns.length);
  for (const column of columns) {
    if (column.length < count) throw new RangeError(`a column holds ${column.length} values, not ${count}`);
    const decimals = decimalsOf(column, count);
    out[at++] = decimals < 0 ? FLOAT64 : DECIMAL;
    if (decimals >= 0) out[at++] = decimals;
    let nulls = false;
    for (let i = 0; i < count && !nulls; i++) nulls = Number.isNaN(column[i]);
    out[at++] = nulls ? 1 : 0;
    if (nulls) {
      const bytes = Math.ceil(count / 8);
      out.fill(0, at, at + bytes);
      for (let i = 0; i < count; i++) if (Number.isNaN(column[i])) out[at + (i >> 3)] |= 1 << (i & 7);
      at += bytes;
    }
    if (decimals < 0) {
      for (let i = 0; i < count; i++) {
        if (Number.isNaN(column[i])) continue;
        view.setFloat64(at, column[i], true);
        at += 8;
      }
      continue;
    }
    const power = POWERS[decimals];
    let previous = 0;
    for (let i = 0; i < count; i++) {
      const value = column[i];
      if (Number.isNaN(value)) continue;
      const scaled = Math.round(value * power);
      const difference = scaled - previous;
      varint(difference >= 0 ? 2 * difference : -2 * difference - 1);
      previous = scaled;
    }
  }
  return deflateSync(out.subarray(0, at));
}

/**
 * The fewest decimals (0 to 6) that hold every value of the column exactly, or -1 for none. A value
 * holds with d decimals when round(v * 10^d) / 10^d is v again: the decoder computes that division.
 */
function decimalsOf(column: Float64Array, count: number): number {
  let decimals = 0;
  for (let i = 0; i < count; i++) {
    const value = column[i];
    if (Number.isNaN(value)) continue;
    if (!Number.isFinite(value)) return -1;
    for (;;) {
      const scaled = Math.round(value * POWERS[decimals]);
      if (scaled / POWERS[decimals] === value && Math.abs(scaled) < SCALED_LIMIT) break;
      if (++decimals > MAX_DECIMALS) return -1;
    }
  }
  // Checked once more at the decimals found: an earlier value must still come back exactly.
  const power = POWERS[decimals];
  for (let i = 0; i < count; i++) {
    const value = column[i];
    if (Number.isNaN(value)) continue;
    const scaled = Math.round(value * power);
    if (scaled / power !== value || Math.abs(scaled) >= SCALED_LIMIT) return -1;
  }
  return decimals;
}

/**
 * Decodes what encodeColumns wrote, checking everything: the zlib checksum, the sizes against
 * `expected` and `limits`, every read against the end, and nothing left over. Throws ColumnDataError.
 */
export function decodeColumns(
  data: Uint8Array,
  expected: { readings: number; columns: number },
  limits: ColumnLimits = DEFAULT_COLUMN_LIMITS,
): Float64Array[] {
  if (!(data instanceof Uint8Array)) throw new ColumnDataError('the readings are not a binary value');
  if (expected.readings * expected.columns > limits.maxValues)
    throw new ColumnDataError(
      `${expected.readings} readings of ${expected.columns} columns exceed ${limits.maxValues} values`,
    );
  let raw: Uint8Array;
  try {
    raw = inflateSync(data, { maxOutputLength: limits.maxInflatedBytes });
  } catch (error) {
    throw new ColumnDataError(`the readings do not inflate: ${(error as Error).message}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 0;
  const need = (bytes: number, what: string) => {
    if (at + bytes > raw.length) throw new ColumnDataError(`the readings end inside ${what} at byte ${at}`);
  };
  const byte = (what: string) => {
    need(1, what);
    return raw[at++];
  };
  const varint = (what: string) => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = byte(what);
      value += (b & 127) * scale;
      if (b < 128) return value;
      scale *= 128;
    }
    throw new ColumnDataError(`${what} at byte ${at} is longer than ${MAX_VARINT_BYTES} bytes`);
  };
  const version = byte('the version');
  if (version !== COLUMN_CODEC_VERSION)
    throw new ColumnDataError(`the readings are of codec version ${version}, not ${COLUMN_CODEC_VERSION}`);
  const count = varint('the count');
  const width = varint('the column count');
  if (count !== expected.readings || width !== expected.columns)
    throw new ColumnDataError(
      `the readings hold ${count} x ${width} values where the document says ${expected.readings} x ${expected.columns}`,
    );
  const columns: Float64Array[] = [];
  for (let c = 0; c < width; c++) {
    const column = new Float64Array(count);
    const kind = byte('a column kind');
    if (kind !== DECIMAL && kind !== FLOAT64)
      throw new ColumnDataError(`column ${c} is of unknown kind ${kind}`);
    const decimals = kind === DECIMAL ? byte('the decimals') : 0;
    if (decimals > MAX_DECIMALS) throw new ColumnDataError(`column ${c} has ${decimals} decimals`);
    const nullFlag = byte('the null flag');
    if (nullFlag > 1) throw new ColumnDataError(`column ${c} has null flag ${nullFlag}`);
    let bitmapAt = -1;
    if (nullFlag === 1) {
      const bytes = Math.ceil(count / 8);
      need(bytes, 'a null bitmap');
      bitmapAt = at;
      at += bytes;
    }
    const isNull = (i: number) => bitmapAt >= 0 && (raw[bitmapAt + (i >> 3)] & (1 << (i & 7))) !== 0;
    const power = POWERS[decimals];
    let previous = 0;
    for (let i = 0; i < count; i++) {
      if (isNull(i)) {
        column[i] = Number.NaN;
      } else if (kind === FLOAT64) {
        need(8, 'a float64');
        column[i] = view.getFloat64(at, true);
        at += 8;
      } else {
        const zigzag = varint('a value');
        previous += zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
        column[i] = previous / power;
      }
    }
    columns.push(column);
  }
  if (at !== raw.length) throw new ColumnDataError(`${raw.length - at} bytes left over after the readings`);
  return columns;
}
