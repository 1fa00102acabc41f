import type { KinesisStreamEvent } from 'aws-lambda';
import { createDocumentClient, createKinesisClient, createS3Client } from '../shared/aws/clients';
import { createDetector } from '../shared/detector';
import { loadModelFile } from '../shared/model-file';
import { createObservability, withObservability } from '../shared/observability';
import { loadTransformConfig } from './config';
import { processTransformBatch, type TransformDeps } from './process-batch';

const config = loadTransformConfig(process.env);
const observability = createObservability('transform');
const deps: TransformDeps = {
  config,
  detector: createDetector(loadModelFile(config.modelPath), { scoreThreshold: config.scoreThreshold }),
  s3: createS3Client(),
  documents: createDocumentClient(),
  kinesis: createKinesisClient(),
  ...observability,
};

export const handler = withObservability(
  (event: KinesisStreamEvent, context) => processTransformBatch(event, deps, context),
  observability,
);
