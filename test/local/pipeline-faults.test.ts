import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { LocalPipeline } from '../../local/pipeline';
import { readBackCounts } from '../../local/read-back';
import { isPoison, sendLabSteps } from '../fixtures/lab-sender';

/** Runs the pipeline, lets `scenario` put data and inject faults, drains it and returns the stored counts. */
async function withPipeline(
  options: Parameters<typeof LocalPipeline.start>[0],
  scenario: (pipeline: LocalPipeline) => Promise<void>,
) {
  const pipeline = await LocalPipeline.start({ transform: { retryBaseDelayMs: 500 }, ...options });
  try {
    await scenario(pipeline);
    await pipeline.drain(120_000);
    return { pipeline, counts: await readBackCounts(pipeline.clients) };
  } finally {
    await pipeline.stop();
  }
}

describe('local pipeline under faults', () => {
  test('DynamoDB down for a few seconds mid-run: the runner retries and the final counts are exact, with no duplicates', async () => {
    let sent = 0;
    const { counts, pipeline } = await withPipeline({}, async (p) => {
      sent += (await sendLabSteps(p, { steps: 3, burst: 200, pauseMs: 200 })).readings;
      await p.services.stopDynamo();
      sent += (await sendLabSteps(p, { steps: 3, burst: 200, pauseMs: 500 })).readings;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await p.services.startDynamo();
      sent += (await sendLabSteps(p, { steps: 3, burst: 200, pauseMs: 200 })).readings;
    });

    expect(
      pipeline.transform.stats.functionErrors + pipeline.transform.stats.partialFailures,
    ).toBeGreaterThan(0);
    expect(counts).toMatchObject({
      valid: sent,
      csvRows: sent,
      dynamoReadings: sent,
      archivedReadings: sent,
      quarantined: 0,
      deadLettered: 0,
    });
  });

  test('a handler that throws on one poison record: only that record goes to the dead-letter destination and the shard keeps moving', async () => {
    let sent = { readings: 0, poisonReadings: 0 };
    const { counts, pipeline } = await withPipeline(
      {
        transform: { retryBaseDelayMs: 20, maxRetryAttempts: 2 },
        wrapTransform: (handler) => async (event, context) => {
          if (event.Records.some((record) => isPoison(record.kinesis.data))) throw new Error('poison record');
          return handler(event, context);
        },
      },
      async (p) => {
        sent = await sendLabSteps(p, { steps: 8, burst: 100, poisonStep: 4 });
      },
    );

    expect(counts.deadLettered).toBe(1);
    expect(pipeline.transform.stats.recordsDeadLettered).toBe(1);
    expect(counts).toMatchObject({
      valid: sent.readings - sent.poisonReadings,
      csvRows: sent.readings - sent.poisonReadings,
      dynamoReadings: sent.readings - sent.poisonReadings,
      archivedReadings: sent.readings,
    });
  });

  test('replaying a processed batch (same sequence numbers) changes no count', async () => {
    const batches: KinesisStreamEvent[] = [];
    const pipeline = await LocalPipeline.start({
      wrapTransform: (handler) => async (event, context) => {
        batches.push(event);
        return handler(event, context);
      },
    });
    try {
      await sendLabSteps(pipeline, { steps: 4, burst: 250, hotStep: 2 });
      await pipeline.drain(60_000);
      const before = await readBackCounts(pipeline.clients);
      const alertsBefore = pipeline.services.sns.messages.length;

      const response = await pipeline.transformHandler(batches[0], {
        functionName: 'replay',
        awsRequestId: 'replay',
      } as Context);
      await pipeline.drain(60_000);

      expect(response).toEqual({ batchItemFailures: [] });
      expect(before).toMatchObject({
        valid: 3_000,
        csvRows: 3_000,
        dynamoReadings: 3_000,
        archivedReadings: 3_000,
      });
      expect(before.anomalies).toBeGreaterThan(0);
      expect(await readBackCounts(pipeline.clients)).toEqual(before);
      expect(alertsBefore).toBe(1);
      expect(pipeline.services.sns.messages).toHaveLength(alertsBefore);
    } finally {
      await pipeline.stop();
    }
  });
});
