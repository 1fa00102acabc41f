-- Reference query: per hour of the readings' own time (UTC) and equipment, the readings, the anomalies
-- and the anomaly rate (anomalies / readings), over the readings that arrived in the last 24 hours, each
-- counted once. The dt and hour filters reach the table, so only those 25 hourly partitions are read.
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
  SELECT equipment_id, "timestamp", anomaly_score, is_anomaly, vibration_amplitude, vibration_frequency, temperature, humidity
  FROM curated
  UNION ALL
  SELECT equipment_id AS equipment_id, "timestamp", anomaly_score, is_anomaly, vibration_amplitude, vibration_frequency, temperature, humidity
  FROM lake
  WHERE
    copy_number = 1
    AND NOT EXISTS (SELECT 1 FROM curated WHERE curated.dt = lake.dt AND curated.hour = lake.hour)
)
SELECT
  date_trunc('hour', CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) AS reading_hour,
  equipment_id,
  count(*) AS readings,
  count_if(is_anomaly) AS anomalies,
  CAST(count_if(is_anomaly) AS DOUBLE) / count(*) AS anomaly_rate
FROM recent
GROUP BY 1, 2
ORDER BY 1, 2
