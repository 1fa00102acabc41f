import { createDocumentClient, createKinesisClient, createS3Client } from '../shared/aws/clients';
import { createObservability } from '../shared/observability';
import { createTransformHandler } from './handler';

export const handler = createTransformHandler(
  process.env,
  { s3: createS3Client(), documents: createDocumentClient(), kinesis: createKinesisClient() },
  createObservability('transform'),
);
