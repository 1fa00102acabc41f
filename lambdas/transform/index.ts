import { createDocumentClient, createKinesisClient, createS3Client } from '../shared/aws/clients';
import { TRANSFORM_SERVICE } from '../shared/metrics-catalog';
import { createObservability } from '../shared/observability';
import { createTransformHandler } from './handler';

export const handler = createTransformHandler(
  process.env,
  { s3: createS3Client(), documents: createDocumentClient(), kinesis: createKinesisClient() },
  createObservability(TRANSFORM_SERVICE),
);
