-- Per-minute aggregates of event time, per equipment: 1-minute tumbling windows on the readings' own
-- timestamps (UTC), as streaming SQL engines compute them with TUMBLE. For each equipment and minute:
-- the number of readings, the anomalies, and the mean, minimum and maximum of each feature. Batch SQL
-- sees every reading stored, late ones included, so no watermark applies: a window's figures here can
-- exceed the live per-minute aggregates, which count readings later than the allowed lateness apart.
-- Over the readings view (one copy of each reading). Cost: reads the whole lake, as readings does;
-- filter processed_readings on dt for a few days of a large lake.
CREATE OR REPLACE VIEW "${DATABASE}".readings_per_minute AS
SELECT
  equipment_id,
  window_start,
  window_start + INTERVAL '1' MINUTE AS window_end,
  count(*) AS readings,
  count_if(is_anomaly) AS anomalies,
  avg(vibration_amplitude) AS avg_vibration_amplitude,
  min(vibration_amplitude) AS min_vibration_amplitude,
  max(vibration_amplitude) AS max_vibration_amplitude,
  avg(vibration_frequency) AS avg_vibration_frequency,
  min(vibration_frequency) AS min_vibration_frequency,
  max(vibration_frequency) AS max_vibration_frequency,
  avg(temperature) AS avg_temperature,
  min(temperature) AS min_temperature,
  max(temperature) AS max_temperature,
  avg(humidity) AS avg_humidity,
  min(humidity) AS min_humidity,
  max(humidity) AS max_humidity
FROM (
  SELECT
    *,
    date_trunc('minute', CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) AS window_start
  FROM "${DATABASE}".readings
)
GROUP BY equipment_id, window_start
