import type { KinesisStreamEvent } from 'aws-lambda';
import { type Observability, withObservability } from '../shared/observability';
import { loadAlerterConfig } from './config';
import { type AlerterDeps, processAlerterBatch } from './process-batch';

export type AlerterClients = Pick<AlerterDeps, 'sns' | 'documents'>;

/** The alerter handler from its environment and clients: Lambda's index.ts and local mode both build it here. */
export function createAlerterHandler(
  env: NodeJS.ProcessEnv,
  clients: AlerterClients,
  observability: Observability,
) {
  const deps: AlerterDeps = {
    config: loadAlerterConfig(env),
    ...clients,
    episodes: new Map(),
    now: Date.now,
    ...observability,
  };
  return withObservability(
    (event: KinesisStreamEvent, context) => processAlerterBatch(event, deps, context),
    observability,
  );
}
