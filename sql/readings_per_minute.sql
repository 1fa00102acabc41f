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
{{#features}}
  avg({{column}}) AS avg_{{name}},
  min({{column}}) AS min_{{name}},
  max({{column}}) AS max_{{name}}{{^last}},{{/last}}
{{/features}}
FROM (
  SELECT
    *,
    date_trunc('minute', CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) AS window_start
  FROM "${DATABASE}".readings
)
GROUP BY equipment_id, window_start
