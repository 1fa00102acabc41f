-- The curation's row-count check for one hour ({DT}, {HOUR}; {PREVIOUS_DT}, {PREVIOUS_HOUR} the hour
-- before, as in curate_hour.sql): one row with lake_readings, the hour's readings in the CSV lake
-- deduplicated exactly as curate_hour.sql deduplicates them, curated_readings, the rows of the hour in
-- curated_readings, and of those the anomalies and the equipment. The curation succeeded when
-- lake_readings = curated_readings.
WITH lake AS (
  SELECT
    dt,
    hour,
    row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
  FROM "${DATABASE}".processed_readings
  WHERE (dt = '{DT}' AND hour = '{HOUR}') OR (dt = '{PREVIOUS_DT}' AND hour = '{PREVIOUS_HOUR}')
)
SELECT
  (SELECT count(*) FROM lake WHERE copy_number = 1 AND dt = '{DT}' AND hour = '{HOUR}') AS lake_readings,
  count(*) AS curated_readings,
  count_if(is_anomaly) AS curated_anomalies,
  count(DISTINCT equipment_id) AS equipment
FROM "${DATABASE}".curated_readings
WHERE dt = '{DT}' AND hour = '{HOUR}'
