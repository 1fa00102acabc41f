import type { KinesisStreamEvent } from 'aws-lambda';
import { createDocumentClient, createSnsClient } from '../shared/aws/clients';
import { createObservability, withObservability } from '../shared/observability';
import { loadAlerterConfig } from './config';
import { type AlerterDeps, processAlerterBatch } from './process-batch';

const observability = createObservability('alerter');
const deps: AlerterDeps = {
  config: loadAlerterConfig(process.env),
  sns: createSnsClient(),
  documents: createDocumentClient(),
  episodes: new Map(),
  ...observability,
};

export const handler = withObservability(
  (event: KinesisStreamEvent, context) => processAlerterBatch(event, deps, context),
  observability,
);
