-- Reference query: per equipment, the readings, the anomalies and the first and last reading time, over
-- the readings that arrived in the last 24 hours, each counted once. The dt and hour filters reach the
-- table, so only those 25 hourly partitions are read (at 3,000 readings/s, about 65 GB); change them
-- for another period: every hour added is read.
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
  count_if(is_anomaly) AS anomalies,
  min(CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) AS first_reading,
  max(CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) AS last_reading
FROM recent
GROUP BY equipment_id
ORDER BY equipment_id
