import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { FeatureNormal, StreamDetector } from '../detector';
import type { EquipmentId } from '../reading';

/**
 * The detector's per-equipment state in the readings table, so that a new execution environment (a
 * deployment, a recycle, a scale-out, a re-sharded stream) continues where the last one stopped.
 *
 * - Item: pk `state#<equipment id>`, sk `detector`; the state as a binary attribute, with the time of
 *   the newest reading it has learnt (`last_ms`), and what it holds normal per feature (`normal`, for
 *   the dashboard: the forecast and its band, the limits, the threshold).
 * - Read (consistently) when an environment first sees an equipment; a state of another model or
 *   settings is left aside, and the detector learns afresh (and overwrites it at its next save).
 * - Written at most every `saveIntervalMs` per equipment, and only when it has learnt something new:
 *   an update whose `last_ms` is not newer than the stored one is refused by a condition, so a retried
 *   batch, or an older environment still holding the equipment after a re-shard, never overwrites a
 *   newer state. An environment whose save is refused drops its copy and reads the newer one next.
 */

export const DETECTOR_STATE_PK_PREFIX = 'state#';
export const DETECTOR_STATE_SK = 'detector';

export function detectorStateKey(equipmentId: EquipmentId): { pk: string; sk: string } {
  return { pk: `${DETECTOR_STATE_PK_PREFIX}${equipmentId}`, sk: DETECTOR_STATE_SK };
}

export interface DetectorStateOptions {
  tableName: string;
  /** At most one save per equipment this often (wall clock). */
  saveIntervalMs: number;
  /** A state no equipment refreshes for this long expires (DynamoDB TTL). */
  ttlSeconds: number;
  now?: () => number;
}

export interface RestoreOutcome {
  restored: number;
  /** No state stored: learnt from scratch. */
  fresh: number;
  /** A stored state of another model or settings, or damaged: learnt from scratch. */
  refused: { equipmentId: EquipmentId; reason: string }[];
}

export interface SaveOutcome {
  saved: number;
  bytes: number;
  /** A newer state was already stored (another environment): the local copy was dropped. */
  superseded: number;
}

/**
 * The `normal` attribute, for the dashboard: per feature name, what the detector holds normal (the
 * fields of FeatureNormal it has), to 6 significant digits.
 */
export function normalAttribute(
  features: readonly string[],
  normals: readonly FeatureNormal[],
): Record<string, FeatureNormal> {
  const attribute: Record<string, FeatureNormal> = {};
  normals.forEach((normal, f) => {
    const stored: FeatureNormal = { threshold: normal.threshold };
    for (const [name, value] of Object.entries(normal) as [keyof FeatureNormal, number | undefined][]) {
      if (value !== undefined && Number.isFinite(value)) stored[name] = Number(value.toPrecision(6));
    }
    attribute[features[f]] = stored;
  });
  return attribute;
}

export class DetectorStateStore {
  /** Per equipment: when this environment last saved, and the newest reading that save held. */
  private readonly saves = new Map<EquipmentId, { atMs: number; lastMs: number }>();
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly detector: StreamDetector,
    private readonly options: DetectorStateOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Restores the stored state of every equipment this environment does not hold yet. */
  async restoreUnseen(equipmentIds: Iterable<EquipmentId>): Promise<RestoreOutcome> {
    const outcome: RestoreOutcome = { restored: 0, fresh: 0, refused: [] };
    const unseen = [...new Set(equipmentIds)].filter((id) => !this.detector.has(id));
    await Promise.all(
      unseen.map(async (equipmentId) => {
        const { Item } = await this.client.send(
          new GetCommand({
            TableName: this.options.tableName,
            Key: detectorStateKey(equipmentId),
            ConsistentRead: true,
            ProjectionExpression: '#state, last_ms',
            ExpressionAttributeNames: { '#state': 'state' },
          }),
        );
        // An equipment another record of this batch restored meanwhile is left as it is.
        if (this.detector.has(equipmentId)) return;
        const state = Item?.state as Uint8Array | undefined;
        if (!(state instanceof Uint8Array)) {
          outcome.fresh++;
          return;
        }
        try {
          this.detector.restoreState(equipmentId, state);
          this.saves.set(equipmentId, { atMs: this.now(), lastMs: Number(Item?.last_ms) });
          outcome.restored++;
        } catch (error) {
          outcome.refused.push({ equipmentId, reason: (error as Error).message });
        }
      }),
    );
    return outcome;
  }

  /** Saves the state of each equipment that learnt something since its last save, at most once an interval. */
  async saveDue(equipmentIds: Iterable<EquipmentId>): Promise<SaveOutcome> {
    const outcome: SaveOutcome = { saved: 0, bytes: 0, superseded: 0 };
    const now = this.now();
    const due = [...new Set(equipmentIds)].filter((id) => {
      const last = this.saves.get(id);
      const learntMs = this.detector.lastLearntMs(id);
      return (
        learntMs !== undefined &&
        Number.isFinite(learntMs) &&
        (!last || (now - last.atMs >= this.options.saveIntervalMs && learntMs > last.lastMs))
      );
    });
    await Promise.all(
      due.map(async (equipmentId) => {
        const state = this.detector.saveState(equipmentId);
        const lastMs = this.detector.lastLearntMs(equipmentId);
        if (!state || lastMs === undefined) return;
        try {
          await this.client.send(
            new UpdateCommand({
              TableName: this.options.tableName,
              Key: detectorStateKey(equipmentId),
              UpdateExpression:
                'SET #state = :state, #normal = :normal, last_ms = :last, equipment_id = :equipment, model_version = :model, saved_at = :saved, expires_at = :expires',
              ConditionExpression: 'attribute_not_exists(last_ms) OR last_ms < :last',
              ExpressionAttributeNames: { '#state': 'state', '#normal': 'normal' },
              ExpressionAttributeValues: {
                ':state': state,
                ':normal': normalAttribute(this.detector.features, this.detector.normal(equipmentId) ?? []),
                ':last': lastMs,
                ':equipment': equipmentId,
                ':model': this.detector.modelVersion,
                ':saved': new Date(now).toISOString(),
                ':expires': Math.floor(now / 1000) + this.options.ttlSeconds,
              },
            }),
          );
          this.saves.set(equipmentId, { atMs: now, lastMs });
          outcome.saved++;
          outcome.bytes += state.length;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          // Another environment saved a newer state: continue from it rather than from this copy.
          this.detector.forget(equipmentId);
          this.saves.delete(equipmentId);
          outcome.superseded++;
        }
      }),
    );
    return outcome;
  }
}
