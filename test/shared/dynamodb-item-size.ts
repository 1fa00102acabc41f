/**
 * DynamoDB item size, per AWS's rules: each attribute is its name's UTF-8 bytes plus its value; strings
 * are their UTF-8 bytes, binary values their bytes, numbers about (significant digits) / 2 + 1 bytes, lists and maps 3 bytes plus
 * 1 byte per element plus the elements (a map's keys count as names), booleans and null 1 byte.
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name) + dynamoValueSize(value);
  }
  return size;
}

export function dynamoValueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'number') return Math.ceil(significantDigits(value) / 2) + 1;
  if (Array.isArray(value))
    return 3 + value.reduce<number>((sum, element) => sum + 1 + dynamoValueSize(element), 0);
  if (typeof value === 'object') {
    let size = 3;
    for (const [key, element] of Object.entries(value)) {
      if (element === undefined) continue;
      size += 1 + Buffer.byteLength(key) + dynamoValueSize(element);
    }
    return size;
  }
  throw new Error(`no DynamoDB type for ${typeof value}`);
}

/** Significant digits of a number as JavaScript writes it: leading and trailing zeros do not count. */
export function significantDigits(value: number): number {
  if (!Number.isFinite(value)) throw new Error(`DynamoDB cannot store ${value}`);
  const mantissa = Math.abs(value).toString().split('e')[0];
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(digits.length, 1);
}
