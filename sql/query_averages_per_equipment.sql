-- Reference query: per equipment, the mean of each feature and of the anomaly score over the readings
-- that arrived in the last 24 hours, each counted once, and the same means over the normal readings
-- alone (each equipment's usual level). The dt and hour filters reach the table, so only those 25
-- hourly partitions are read.
WITH recent AS (
  SELECT
    *,
    row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
  FROM "${DATABASE}".processed_readings
  WHERE
    dt >= date_format((current_timestamp - INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y-%m-%d')
    AND concat(dt, '-', hour) >= date_format((current_timestamp - INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y-%m-%d-%H')
)
SELECT
  equipment_id,
  count(*) AS readings,
{{#features}}
  avg({{value}}) AS avg_{{name}},
{{/features}}
  avg(anomaly_score) AS avg_anomaly_score,
{{#features}}
  avg({{value}}) FILTER (WHERE NOT is_anomaly) AS normal_avg_{{name}}{{^last}},{{/last}}
{{/features}}
FROM recent
WHERE copy_number = 1
GROUP BY equipment_id
ORDER BY equipment_id
