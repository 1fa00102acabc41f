import { createDocumentClient, createSnsClient } from '../shared/aws/clients';
import { ALERTER_SERVICE } from '../shared/metrics-catalog';
import { createObservability } from '../shared/observability';
import { createAlerterHandler } from './handler';

export const handler = createAlerterHandler(
  process.env,
  { sns: createSnsClient(), documents: createDocumentClient() },
  createObservability(ALERTER_SERVICE),
);
