-- Reference query: per hour of the readings' own time (UTC) and equipment, the readings, the anomalies
-- and the anomaly rate (anomalies / readings), over the readings that arrived in the last 24 hours, each
-- counted once. The dt and hour filters reach the table, so only those 25 hourly partitions are read.
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
  date_trunc('hour', CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) AS reading_hour,
  equipment_id,
  count(*) AS readings,
  count_if(is_anomaly) AS anomalies,
  CAST(count_if(is_anomaly) AS DOUBLE) / count(*) AS anomaly_rate
FROM recent
WHERE copy_number = 1
GROUP BY 1, 2
ORDER BY 1, 2
