import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for SNS: an HTTP endpoint speaking the Publish action of the SNS query protocol, so
 * the alerter's unchanged SNS client publishes to it. Each message is kept (for the dashboard and the
 * report) and handed to `onMessage` (npm start prints it).
 */

export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  attributes: Record<string, string>;
  receivedMs: number;
}

export interface SnsSink {
  endpoint: string;
  messages: PublishedMessage[];
  close(): Promise<void>;
}

export async function startSnsSink(
  options: { onMessage?: (message: PublishedMessage) => void } = {},
): Promise<SnsSink> {
  const messages: PublishedMessage[] = [];
  const server = createServer((request, response) => {
    readBody(request)
      .then((body) => handle(new URLSearchParams(body), response))
      .catch((error: Error) => reply(response, 500, errorXml('InternalError', error.message)));
  });

  function handle(params: URLSearchParams, response: ServerResponse): void {
    const action = params.get('Action');
    if (action !== 'Publish') {
      reply(
        response,
        400,
        errorXml('InvalidAction', `the local SNS sink implements Publish only, not ${action}`),
      );
      return;
    }
    const message: PublishedMessage = {
      messageId: randomUUID(),
      topicArn: params.get('TopicArn') ?? '',
      subject: params.get('Subject') ?? undefined,
      message: params.get('Message') ?? '',
      attributes: messageAttributes(params),
      receivedMs: Date.now(),
    };
    messages.push(message);
    options.onMessage?.(message);
    reply(
      response,
      200,
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${message.messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  }

  await listen(server);
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    messages,
    close: () => closeServer(server),
  };
}

/** `MessageAttributes.entry.N.Name` / `.Value.StringValue` pairs as a plain map. */
function messageAttributes(params: URLSearchParams): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let n = 1; params.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const name = params.get(`MessageAttributes.entry.${n}.Name`) as string;
    attributes[name] = params.get(`MessageAttributes.entry.${n}.Value.StringValue`) ?? '';
  }
  return attributes;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, xml: string): void {
  response.writeHead(status, { 'content-type': 'text/xml' });
  response.end(xml);
}

function errorXml(code: string, message: string): string {
  return `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

export function listen(server: Server, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
