import type { KinesisStreamEvent } from 'aws-lambda';
import { DetectorStateStore } from '../shared/aws/detector-state';
import { createDetector } from '../shared/detector';
import { TRANSFORM_SERVICE } from '../shared/metrics-catalog';
import { loadModelFile } from '../shared/model-file';
import { createObservability, type Observability, withObservability } from '../shared/observability';
import { loadTransformConfig } from './config';
import { processTransformBatch, type TransformDeps } from './process-batch';

export type TransformClients = Pick<TransformDeps, 's3' | 'documents' | 'kinesis'>;

/** The transform handler from its environment and clients: Lambda's index.ts and local mode both build it here. */
export function createTransformHandler(
  env: NodeJS.ProcessEnv,
  clients: TransformClients,
  observability: Observability,
) {
  const config = loadTransformConfig(env);
  const detector = createDetector(
    config.modelPath ? loadModelFile(config.modelPath) : undefined,
    {
      scoreThreshold: config.scoreThreshold,
      featureThresholds: config.featureScoreThresholds,
      limits: config.featureLimits,
      adaptive: { horizonMs: config.horizonMs },
    },
    config.schema,
  );
  const deps: TransformDeps = {
    config,
    detector,
    detectorState: new DetectorStateStore(clients.documents, detector.streams, {
      tableName: config.readingsTable,
      ...config.detectorState,
    }),
    ...clients,
    ...observability,
    equipmentMetrics: createObservability(TRANSFORM_SERVICE).metrics,
  };
  return withObservability(
    (event: KinesisStreamEvent, context) => processTransformBatch(event, deps, context),
    observability,
  );
}
