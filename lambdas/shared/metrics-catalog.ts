import type { Feature } from './features';
import type { ReadingSchema } from './reading-schema';

/**
 * The CloudWatch metrics the Lambdas emit (embedded metric format, through Powertools): one place for
 * their names, which the handlers emit and the monitoring construct's dashboard and alarms read.
 */
export const METRICS_NAMESPACE = 'SensorPipeline';

/** Powertools adds this dimension, valued with the service name, to every metric. */
export const SERVICE_DIMENSION = 'service';
export const TRANSFORM_SERVICE = 'transform';
export const ALERTER_SERVICE = 'alerter';

/** Per batch, dimension service=transform. */
export const TRANSFORM_METRICS = {
  recordsProcessed: 'RecordsProcessed',
  recordsFailed: 'RecordsFailed',
  readingsValid: 'ReadingsValid',
  readingsQuarantined: 'ReadingsQuarantined',
  readingsAnomalous: 'ReadingsAnomalous',
  /** Scored while the detector was still learning their equipment (see the detector's warm-up). */
  readingsWarmingUp: 'ReadingsWarmingUp',
  detectorStatesRestored: 'DetectorStatesRestored',
  detectorStatesSaved: 'DetectorStatesSaved',
  detectorStateBytes: 'DetectorStateBytes',
} as const;

/**
 * Per batch and equipment, dimensions service=transform and equipment_id. A feature's average over a
 * period is the sum of its sums over the sum of the readings, which is exact whatever the batch sizes.
 */
export const EQUIPMENT_DIMENSION = 'equipment_id';
export const EQUIPMENT_METRICS = {
  readings: 'EquipmentReadings',
  anomalies: 'EquipmentAnomalies',
  /** The lab schema's features' sums (featureSumMetric of each). */
  featureSums: {
    vibration_amplitude: 'VibrationAmplitudeSum',
    vibration_frequency: 'VibrationFrequencySum',
    temperature: 'TemperatureSum',
    humidity: 'HumiditySum',
  } satisfies Record<Feature, string>,
} as const;

/** A feature's sum per batch and equipment: `volume_flow_rate_rms` is `VolumeFlowRateRmsSum`. */
export function featureSumMetric(feature: string): string {
  return `${pascalCase(feature)}Sum`;
}

/**
 * How many readings had an optional feature (the divisor of its average; for the others it is the
 * equipment's readings): `frequency_hz` is `FrequencyHzReadings`.
 */
export function featureReadingsMetric(feature: string): string {
  return `${pascalCase(feature)}Readings`;
}

/** Every per-equipment metric the transform emits for the readings of a schema, in the order it emits them. */
export function equipmentMetricNames(schema: Pick<ReadingSchema, 'features'>): string[] {
  return [
    EQUIPMENT_METRICS.readings,
    EQUIPMENT_METRICS.anomalies,
    ...schema.features.flatMap((feature) =>
      feature.optional
        ? [featureSumMetric(feature.name), featureReadingsMetric(feature.name)]
        : [featureSumMetric(feature.name)],
    ),
  ];
}

function pascalCase(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** Per batch, dimension service=alerter. */
export const ALERTER_METRICS = {
  alertsSent: 'AlertsSent',
  /** New episodes past the topic's alert budget for their minute: recorded, but no message of their own. */
  alertsSuppressed: 'AlertsSuppressed',
  /** The one message per minute that sums up the episodes past the budget. */
  budgetSummariesSent: 'AlertBudgetSummariesSent',
} as const;
