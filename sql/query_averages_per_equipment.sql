-- Reference query: per equipment, the mean of each feature and of the anomaly score over the readings
-- that arrived in the last 24 hours, each counted once, and the same means over the normal readings
-- alone (each equipment's usual level). The dt and hour filters reach the table, so only those 25
-- hourly partitions are read.
-- The hours curated are read from curated_readings (Parquet: the columns used only), the others from
-- the CSV lake, deduplicated as the readings view does.
WITH lake AS (
  SELECT
    *,
    row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
  FROM "${DATABASE}".processed_readings
  WHERE
    dt >= date_format((current_timestamp - INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y-%m-%d')
    AND concat(dt, '-', hour) >= date_format((current_timestamp - INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y-%m-%d-%H')
),
curated AS (
  SELECT *
  FROM "${DATABASE}".curated_readings
  WHERE
    dt >= date_format((current_timestamp - INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y-%m-%d')
    AND concat(dt, '-', hour) >= date_format((current_timestamp - INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y-%m-%d-%H')
),
recent AS (
  SELECT equipment_id, "timestamp", anomaly_score, is_anomaly, {{feature_columns}}
  FROM curated
  UNION ALL
  SELECT {{equipment_value}} AS equipment_id, "timestamp", anomaly_score, is_anomaly, {{feature_list}}
  FROM lake
  WHERE
    copy_number = 1
    AND NOT EXISTS (SELECT 1 FROM curated WHERE curated.dt = lake.dt AND curated.hour = lake.hour)
)
SELECT
  equipment_id,
  count(*) AS readings,
{{#features}}
  avg({{column}}) AS avg_{{name}},
{{/features}}
  avg(anomaly_score) AS avg_anomaly_score,
{{#features}}
  avg({{column}}) FILTER (WHERE NOT is_anomaly) AS normal_avg_{{name}}{{^last}},{{/last}}
{{/features}}
FROM recent
GROUP BY equipment_id
ORDER BY equipment_id
