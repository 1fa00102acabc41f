import { loadAlerterConfig } from '../../lambdas/alerter/config';

const REQUIRED = {
  ALERTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:anomaly-alerts',
  READINGS_TABLE: 't',
};

describe('alerter config', () => {
  test('the alert budget is 20 new-episode alerts a minute by default, ALERT_BUDGET_PER_MINUTE otherwise', () => {
    expect(loadAlerterConfig(REQUIRED).alertBudgetPerMinute).toBe(20);
    expect(loadAlerterConfig({ ...REQUIRED, ALERT_BUDGET_PER_MINUTE: '5' }).alertBudgetPerMinute).toBe(5);
  });

  test.each(['0', '-1', '2.5', 'many'])(
    'ALERT_BUDGET_PER_MINUTE=%s is refused, naming the variable',
    (value) => {
      expect(() => loadAlerterConfig({ ...REQUIRED, ALERT_BUDGET_PER_MINUTE: value })).toThrow(
        /ALERT_BUDGET_PER_MINUTE/,
      );
    },
  );
});
