/**
 * Key suffixes: the documents (and the per-minute window contributions) of a minute are spread over K
 * partition keys, `<prefix><minute>` for suffix 0 (the key every document had before, so K = 1 is the
 * old layout and old documents sit where suffix 0 is read) and `<prefix><minute>#<k>` for k = 1..K-1.
 * A DynamoDB partition takes at most 1,000 write units a second; K partitions take K times that
 * (docs/storage.md has the arithmetic).
 *
 * An item's suffix is a hash of its sort key, which names the record (shard and sequence number) and
 * the part: a retried record rewrites the same keys, and a record's items spread like any others.
 *
 * Readers learn K from one item the transform writes (pk `settings`, sk `key-suffixes`, attribute
 * `suffixes`): the largest K any transform has written with. It only ever rises, so documents written
 * before K was lowered are still read; and readers drop a reading (or window contribution) seen twice,
 * so a record retried under another K counts once.
 */

export const KEY_SUFFIXES_PK = 'settings';
export const KEY_SUFFIXES_SK = 'key-suffixes';
/** The most suffixes a deployment may use (and a reader accepts from the table). */
export const MAX_KEY_SUFFIXES = 500;

/** The suffix (0 to suffixes - 1) of the item with this sort key: FNV-1a of its text. */
export function keySuffix(sortKey: string, suffixes: number): number {
  if (suffixes <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < sortKey.length; i++) {
    hash ^= sortKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % suffixes;
}

/** `base` for suffix 0, `base#<suffix>` otherwise. */
export function suffixedKey(base: string, suffix: number): string {
  return suffix === 0 ? base : `${base}#${suffix}`;
}

/** Every key of `base` a reader queries when K is `suffixes`. */
export function suffixedKeys(base: string, suffixes: number): string[] {
  return Array.from({ length: Math.max(1, suffixes) }, (_, suffix) => suffixedKey(base, suffix));
}

/** Whether a value read from the table is a usable K; anything else is refused by name. */
export function checkKeySuffixes(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_KEY_SUFFIXES)
    return value;
  throw new Error(
    `${where}: ${JSON.stringify(value)} is not a number of key suffixes (1 to ${MAX_KEY_SUFFIXES})`,
  );
}

/**
 * The default K of a deployment: one suffix per input shard. A shard takes up to 1,000 records a
 * second; a record of one reading still writes a document and a window contribution of at least a
 * write unit each, so one shard alone can fill a partition (1,000 write units a second) in each key
 * family. On-demand streams start with 4 shards' worth of write capacity.
 */
export function defaultKeySuffixes(streamMode: 'provisioned' | 'on-demand', inputShardCount: number): number {
  return Math.min(
    MAX_KEY_SUFFIXES,
    streamMode === 'on-demand' ? Math.max(4, inputShardCount) : inputShardCount,
  );
}
