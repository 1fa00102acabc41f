import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocalEndpointsByService, LocalServices } from './services';

export interface LocalClients {
  kinesis: KinesisClient;
  s3: S3Client;
  documents: DynamoDBDocumentClient;
  sns: SNSClient;
}

/**
 * SDK clients with an explicit endpoint for each embedded service: the standard SDK configuration,
 * nothing special to local mode in the code that uses them. Kinesis gets an HTTP/1.1 handler, which
 * kinesalite speaks; S3 uses path-style addressing, which s3rver needs.
 */
export function localClients(
  services: Pick<LocalServices, 'region' | 'credentials' | 'endpoints'>,
): LocalClients {
  const base = (service: keyof LocalEndpointsByService) => ({
    region: services.region,
    credentials: services.credentials,
    endpoint: services.endpoints[service],
    maxAttempts: 3,
  });
  return {
    kinesis: new KinesisClient({
      ...base('kinesis'),
      requestHandler: new NodeHttpHandler({ requestTimeout: 30_000 }),
    }),
    s3: new S3Client({ ...base('s3'), forcePathStyle: true }),
    documents: DynamoDBDocumentClient.from(new DynamoDBClient(base('dynamodb')), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sns: new SNSClient(base('sns')),
  };
}
