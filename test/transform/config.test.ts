import { loadTransformConfig } from '../../lambdas/transform/config';

const REQUIRED = {
  PROCESSED_BUCKET: 'processed',
  READINGS_TABLE: 'sensor-readings',
  ANOMALIES_STREAM: 'anomalies',
  MODEL_PATH: '/var/task/model.json',
};

describe('transform configuration', () => {
  test('defaults apply to everything but the resources it writes to', () => {
    const config = loadTransformConfig(REQUIRED);
    expect(config).toMatchObject({
      scoreThreshold: 0.5,
      featureScoreThresholds: {},
      ttlSeconds: 7 * 86_400,
      windowLatenessMs: 120_000,
      keySuffixes: 1,
      limits: { maxRecordBytes: 1_048_576, maxReadingBytes: 1_024, maxClockSkewMs: 900_000 },
    });
  });

  test('per-feature thresholds are read from FEATURE_SCORE_THRESHOLDS', () => {
    const config = loadTransformConfig({
      ...REQUIRED,
      FEATURE_SCORE_THRESHOLDS: 'temperature=0.7,humidity=0.65',
    });
    expect(config.featureScoreThresholds).toEqual({ temperature: 0.7, humidity: 0.65 });
  });

  test('a missing variable or a bad threshold is named in the error', () => {
    expect(() => loadTransformConfig({ ...REQUIRED, PROCESSED_BUCKET: undefined })).toThrow(
      /PROCESSED_BUCKET/,
    );
    expect(() => loadTransformConfig({ ...REQUIRED, FEATURE_SCORE_THRESHOLDS: 'temperature=2' })).toThrow(
      /FEATURE_SCORE_THRESHOLDS: "temperature=2": a threshold is between 0 and 1/,
    );
  });

  test('TABLE_KEY_SUFFIXES sets K, from 1 to 500', () => {
    expect(loadTransformConfig({ ...REQUIRED, TABLE_KEY_SUFFIXES: '8' }).keySuffixes).toBe(8);
    for (const bad of ['0', '501', '2.5', 'many'])
      expect(() => loadTransformConfig({ ...REQUIRED, TABLE_KEY_SUFFIXES: bad })).toThrow(
        /TABLE_KEY_SUFFIXES/,
      );
  });
});
