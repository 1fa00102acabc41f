/**
 * Decoding a Kinesis record's data: one reading object or a JSON array of readings. Python producers
 * write NaN and Infinity as bare tokens, which JSON.parse rejects; they are read as numbers here so the
 * one bad reading is quarantined with a clear reason and the rest of the record still goes through.
 */

export interface DecodeLimits {
  maxRecordBytes: number;
}

/** Kinesis's classic per-record limit. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxRecordBytes: 1024 * 1024 };

/**
 * Nesting deeper than this rejects the record whole. A record of readings nests 2 levels (an array of
 * objects); the limit leaves room for wrong readings to be told apart, and it bounds the depth of
 * everything done to a decoded value afterwards (validation, measuring, writing the quarantine), which
 * must never recurse on a depth the input chooses.
 */
export const MAX_JSON_DEPTH = 16;

export type DecodedRecord = { ok: true; readings: unknown[] } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeRecordData(
  data: Uint8Array,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodedRecord {
  if (data.byteLength > limits.maxRecordBytes) {
    return {
      ok: false,
      reason: `record is ${data.byteLength} bytes, over the ${limits.maxRecordBytes}-byte limit`,
    };
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { ok: false, reason: 'record is not valid UTF-8 text' };
  }
  if (text.trim() === '') return { ok: false, reason: 'record is empty' };
  const tooDeep = { ok: false, reason: `record nests JSON more than ${MAX_JSON_DEPTH} levels deep` } as const;
  let value: unknown;
  try {
    // V8's JSON.parse is iterative (no stack to exhaust) and its memory linear in the text, so the
    // depth is checked on the parsed value: a walk of its objects, a tenth of a scan of its text.
    value = JSON.parse(text);
  } catch (error) {
    // The lenient parse uses a reviver, which V8 runs recursively: the text is checked first.
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return tooDeep;
    try {
      value = parseNonFiniteTokens(text, error);
    } catch (lenientError) {
      return { ok: false, reason: `record is not JSON: ${(lenientError as Error).message}` };
    }
  }
  if (valueNestsDeeperThan(value, MAX_JSON_DEPTH)) return tooDeep;
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: false, reason: 'record is an empty JSON array (no readings)' };
    return { ok: true, readings: value };
  }
  if (value !== null && typeof value === 'object') return { ok: true, readings: [value] };
  const kind = value === null ? 'null' : typeof value;
  return { ok: false, reason: `record is a JSON ${kind}, expected a reading object or an array of readings` };
}

/** Whether JSON text opens more than `limit` arrays and objects inside one another (strings skipped). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: skip to its closing quote, over escaped characters.
      for (i++; i < length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

const SENTINEL = '\u0000non-finite:';
/** The sentinel as JSON text: a raw control character is not allowed inside a JSON string. */
const SENTINEL_JSON = '\\u0000non-finite:';
const NON_FINITE_TOKENS: ReadonlyArray<[string, number]> = [
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['NaN', Number.NaN],
];

/** JSON.parse, also accepting the bare NaN, Infinity and -Infinity tokens that Python's json module writes. */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    return parseNonFiniteTokens(text, error);
  }
}

/** The second try of a parse that failed with `error`: NaN and Infinity tokens read as numbers. */
function parseNonFiniteTokens(text: string, error: unknown): unknown {
  if (!/NaN|Infinity/.test(text)) throw error;
  return JSON.parse(quoteNonFiniteTokens(text), (_key, value) =>
    typeof value === 'string' && value.startsWith(SENTINEL) ? Number(value.slice(SENTINEL.length)) : value,
  );
}

/** Whether a parsed value holds arrays and objects more than `limit` inside one another (no recursion). */
export function valueNestsDeeperThan(root: unknown, limit: number): boolean {
  if (root === null || typeof root !== 'object') return false;
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as Record<string, unknown> | unknown[];
    const depth = depths.pop() as number;
    if (depth > limit) return true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i];
        if (child !== null && typeof child === 'object') {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in node) {
        const child = node[key];
        if (child !== null && typeof child === 'object') {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

function quoteNonFiniteTokens(text: string): string {
  let out = '';
  let copiedUpTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') {
      inString = true;
      continue;
    }
    for (const [token, number] of NON_FINITE_TOKENS) {
      if (text.startsWith(token, i)) {
        out += `${text.slice(copiedUpTo, i)}"${SENTINEL_JSON}${number}"`;
        i += token.length - 1;
        copiedUpTo = i + 1;
        break;
      }
    }
  }
  return out + text.slice(copiedUpTo);
}
