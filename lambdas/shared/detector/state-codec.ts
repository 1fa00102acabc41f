/**
 * A small binary format for the detector's saved state: little-endian numbers written in order, with
 * a byte count that grows as needed. No recursion and no parsing of text: a saved state is read back
 * number by number, and a short or malformed one is an error, never a partial state.
 */

export class StateWriter {
  private bytes = new Uint8Array(1024);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  private reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + more));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  uint32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
    return this;
  }

  float64(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  float64s(values: ArrayLike<number>): this {
    this.uint32(values.length);
    for (let i = 0; i < values.length; i++) this.float64(values[i]);
    return this;
  }

  /** Values already held as 32-bit floats (they round-trip exactly). */
  float32s(values: ArrayLike<number>): this {
    this.uint32(values.length);
    this.reserve(4 * values.length);
    for (let i = 0; i < values.length; i++) {
      this.view.setFloat32(this.length, values[i], true);
      this.length += 4;
    }
    return this;
  }

  text(value: string): this {
    const encoded = new TextEncoder().encode(value);
    this.uint32(encoded.length);
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
    return this;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

export class StateReader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private take(size: number): number {
    if (this.offset + size > this.bytes.length) throw new Error('the saved state is truncated');
    const at = this.offset;
    this.offset += size;
    return at;
  }

  uint32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  float64(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  /** An array of at most `max` numbers. */
  float64s(max: number): Float64Array {
    const n = this.count(max);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = this.float64();
    return values;
  }

  float32s(max: number): Float32Array {
    const n = this.count(max);
    const at = this.take(4 * n);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = this.view.getFloat32(at + 4 * i, true);
    return values;
  }

  text(maxBytes: number): string {
    const n = this.count(maxBytes);
    const at = this.take(n);
    return new TextDecoder().decode(this.bytes.subarray(at, at + n));
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.offset !== this.bytes.length) throw new Error('the saved state has trailing bytes');
  }

  private count(max: number): number {
    const n = this.uint32();
    if (n > max) throw new Error(`the saved state holds ${n} values where at most ${max} fit`);
    return n;
  }
}
