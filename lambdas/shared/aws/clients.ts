import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * SDK clients. Endpoints come from the standard configuration (AWS_ENDPOINT_URL_<SERVICE>), which is
 * how local mode points the same code at its embedded services. Kinesis is given an HTTP/1.1 handler:
 * PutRecords and GetRecords do not need HTTP/2, and local emulators do not speak it.
 */
export function createKinesisClient(region?: string, connection: KinesisConnection = {}): KinesisClient {
  return new KinesisClient({
    region,
    ...connection,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  });
}

/** An explicit endpoint (a local emulator, say) and credentials, overriding the configured ones. */
export type KinesisConnection = Pick<KinesisClientConfig, 'endpoint' | 'credentials'>;

export function createDocumentClient(region?: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ region }), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createS3Client(region?: string): S3Client {
  return new S3Client({ region, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) });
}

export function createSnsClient(region?: string): SNSClient {
  return new SNSClient({ region });
}
