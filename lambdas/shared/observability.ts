import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from './metrics-catalog';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

/** Structured JSON logs and embedded-format metrics, as Powertools sets them up. */
export function createObservability(
  serviceName: string,
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT',
): Observability {
  return {
    logger: new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) }),
    metrics: new Metrics({ serviceName, namespace: METRICS_NAMESPACE }),
  };
}

/** A Lambda handler with the request context in every log line and metrics flushed after each call. */
export function withObservability<E, R>(
  handle: (event: E, context: Context) => Promise<R>,
  { logger, metrics }: Observability,
) {
  return middy(handle)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
