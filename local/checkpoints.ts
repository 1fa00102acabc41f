import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where each consumer of each shard got to: the sequence number of the last record it finished. With a
 * file (under --data-dir) a restarted pipeline resumes after it, so nothing is read twice.
 */
export interface CheckpointStore {
  get(consumer: string, shardId: string): string | undefined;
  set(consumer: string, shardId: string, sequenceNumber: string): void;
}

export function memoryCheckpoints(): CheckpointStore {
  const positions = new Map<string, string>();
  return {
    get: (consumer, shardId) => positions.get(`${consumer}/${shardId}`),
    set: (consumer, shardId, sequenceNumber) => {
      positions.set(`${consumer}/${shardId}`, sequenceNumber);
    },
  };
}

export function fileCheckpoints(path: string): CheckpointStore {
  const positions: Record<string, string> = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  mkdirSync(dirname(path), { recursive: true });
  return {
    get: (consumer, shardId) => positions[`${consumer}/${shardId}`],
    set: (consumer, shardId, sequenceNumber) => {
      positions[`${consumer}/${shardId}`] = sequenceNumber;
      // Write then rename, so a crash mid-write never leaves a truncated file.
      writeFileSync(`${path}.tmp`, JSON.stringify(positions, null, 2));
      renameSync(`${path}.tmp`, path);
    },
  };
}
