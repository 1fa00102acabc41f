import { LAB_SCHEMA } from '../../lambdas/shared/reading-schema';
import { toAlertSummary } from '../../local/dashboard-source';
import { POWER_METER_SCHEMA } from './rows';

/** An episode alert as the local SNS sink keeps it: message attributes as strings. */
function published(equipmentId: string, startedMs: number) {
  return {
    subject: `Anomaly on equipment ${equipmentId}: voltage 470 V over its limit 440 V`,
    attributes: {
      kind: 'episode',
      equipment_id: equipmentId,
      episode_id: `${equipmentId}-${startedMs}`,
      severity: 'high',
      features: JSON.stringify(['voltage_v']),
    },
  };
}

describe("npm start's alert list", () => {
  test("an alert's equipment id is the schema's kind of id: a number for the lab, the string for string ids", () => {
    expect(toAlertSummary(published('102', 1_000), LAB_SCHEMA)).toMatchObject({
      equipmentId: 102,
      startedMs: 1_000,
    });
    // A string id may hold '-': the start time is the episode id's last part.
    expect(toAlertSummary(published('feeder-01', 2_000), POWER_METER_SCHEMA)).toEqual({
      startedMs: 2_000,
      equipmentId: 'feeder-01',
      subject: 'Anomaly on equipment feeder-01: voltage 470 V over its limit 440 V',
      severity: 'high',
      features: ['voltage_v'],
      episodeId: 'feeder-01-2000',
    });
  });
});
