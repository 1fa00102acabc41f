import type { Context } from 'aws-lambda';
import { budgetMinute } from '../../lambdas/alerter/alert-budget';
import { createAlerterHandler } from '../../lambdas/alerter/handler';
import type { AnomalyEvent } from '../../lambdas/shared/anomaly-events';
import { createObservability } from '../../lambdas/shared/observability';
import { localClients } from '../../local/clients';
import { LOCAL_NAMES } from '../../local/names';
import { createLocalResources } from '../../local/pipeline';
import { type LocalServices, startLocalServices } from '../../local/services';
import { kinesisEvent, sequenceNumber } from '../fixtures/kinesis-event';

/**
 * The alert budget on the services `npm start` runs: its counters are a real DynamoDB UpdateItem (ADD,
 * UPDATED_NEW) on the embedded emulator, and the summary goes through the local SNS sink that prints alerts.
 */

const BUDGET = 3;

function anomaly(equipmentId: number, timestampMs: number): AnomalyEvent {
  return {
    event_id: `shardId-000000000000:${equipmentId}:0`,
    equipment_id: equipmentId,
    timestamp: new Date(timestampMs).toISOString(),
    timestamp_ms: timestampMs,
    score: 0.97,
    anomalous_features: ['temperature'],
    reasons: ['temperature +50% over baseline'],
    values: { vibration_amplitude: 250, vibration_frequency: 1000, temperature: 90, humidity: 30 },
    model_version: 'test',
    source: {
      stream: 'sensor-readings',
      shard_id: 'shardId-000000000000',
      sequence_number: '1',
      reading_index: 0,
    },
  };
}

let services: LocalServices;
const printed: string[] = [];

beforeAll(async () => {
  services = await startLocalServices({ onAlert: (message) => printed.push(`ALERT ${message.subject}`) });
  await createLocalResources(localClients(services), 1);
}, 60_000);
afterAll(() => services?.close());

test('a storm of 30 equipment on the local services sends the budget of alerts and one printed summary', async () => {
  const handler = createAlerterHandler(
    {
      READINGS_TABLE: LOCAL_NAMES.table,
      ALERTS_TOPIC_ARN: LOCAL_NAMES.alertsTopicArn,
      ALERT_BUDGET_PER_MINUTE: String(BUDGET),
    },
    localClients(services),
    createObservability('alerter'),
  );
  // Both batches in one budget minute: start early in a minute, never seconds before its end.
  const intoMinuteMs = Date.now() % 60_000;
  if (intoMinuteMs > 40_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinuteMs));
  const nowMs = Date.now();
  const storm = (firstId: number) =>
    kinesisEvent(
      Array.from({ length: 15 }, (_, i) => ({
        sequenceNumber: sequenceNumber(firstId + i),
        data: [anomaly(firstId + i, nowMs)],
        partitionKey: String(firstId + i),
      })),
    );
  const context = { functionName: 'alerter', awsRequestId: 'test' } as Context;

  // Two batches, as two shards' alerters might send them in the same minute.
  expect(await handler(storm(101), context)).toEqual({ batchItemFailures: [] });
  expect(await handler(storm(201), context)).toEqual({ batchItemFailures: [] });

  const { messages } = services.sns;
  const summaries = messages.filter((message) => message.attributes.kind === 'budget-summary');
  // Exactly the budget and one summary.
  expect(budgetMinute(Date.now())).toBe(budgetMinute(nowMs));
  expect(messages).toHaveLength(BUDGET + 1);
  expect(summaries).toHaveLength(1);
  expect(summaries[0].attributes).toMatchObject({ suppressed_count: '12', severity: 'high' });
  expect(JSON.parse(summaries[0].attributes.equipment_ids)).toEqual(
    Array.from({ length: 12 }, (_, i) => 104 + i),
  );
  expect(printed).toContain(`ALERT ${summaries[0].subject}`);
  expect(summaries[0].subject).toMatch(
    /^Alert budget reached: 12 more equipment went anomalous at \d\d:\d\d UTC$/,
  );
}, 60_000);
