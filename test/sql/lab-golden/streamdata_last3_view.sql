-- The lab's STREAMDATA_LAST3_VIEW: the readings of the last 3 minutes before the newest reading (not
-- before now), with the columns of streamdata_view, as the lab's view is. Window: from the newest
-- TIMESTAMP minus 3 minutes to the newest, both included, as `npm run last3 -- --relative-to latest`.
-- Cost: Athena prunes partitions only on values it knows when it plans the query, never on the result
-- of a subquery such as the newest timestamp, so "dt >= the newest reading's date" would still read the
-- whole lake to find that reading. Both the newest reading and the window are therefore looked for in
-- the partitions of the current and the previous UTC hour of arrival (the constants below), about two
-- hours of data: at 3,000 readings/s, about 5 GB. A CSV object is filed under the arrival hour of its
-- batch's first record, and a reading arrives at most 15 minutes before its own time, so the window
-- is complete while readings keep coming (unless a batch waited over an hour in the stream); when
-- nothing arrived in those two hours, the view is empty. For an older period, query streamdata_view or
-- processed_readings with a dt filter. The readings are deduplicated among those partitions
-- (filtering the readings view instead would read the whole lake, see readings.sql), and their text
-- columns given back as sent, without the ' that the CSV puts before formula-like text (readings.sql).
CREATE OR REPLACE VIEW "${DATABASE}".streamdata_last3_view AS
SELECT
  "STREAM", "KEY", "PARTITION", "OFFSET", "BATCH_TIMESTAMP", "TIMESTAMP", "EQUIPMENT_ID",
  "VIBRATION_AMPLITUDE", "VIBRATION_FREQUENCY", "TEMPERATURE", "HUMIDITY", "INFERENCE"
FROM (
  SELECT
    regexp_replace(stream, '^''', '') AS "STREAM",
    regexp_replace(partition_key, '^''', '') AS "KEY",
    regexp_replace(shard_id, '^''', '') AS "PARTITION",
    concat(regexp_replace(sequence_number, '^''', ''), ':', CAST(reading_index AS VARCHAR)) AS "OFFSET",
    CAST(from_iso8601_timestamp(arrival_time) AS TIMESTAMP) AS "BATCH_TIMESTAMP",
    CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP) AS "TIMESTAMP",
    equipment_id AS "EQUIPMENT_ID",
    vibration_amplitude AS "VIBRATION_AMPLITUDE",
    vibration_frequency AS "VIBRATION_FREQUENCY",
    temperature AS "TEMPERATURE",
    humidity AS "HUMIDITY",
    CASE WHEN is_anomaly THEN 1 ELSE 0 END AS "INFERENCE",
    max(CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP)) OVER () AS newest
  FROM (
    SELECT
      *,
      row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
    FROM "${DATABASE}".processed_readings
    WHERE
      dt IN (
        date_format(current_timestamp AT TIME ZONE 'UTC', '%Y-%m-%d'),
        date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%Y-%m-%d')
      )
      AND hour IN (
        date_format(current_timestamp AT TIME ZONE 'UTC', '%H'),
        date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%H')
      )
      AND concat(dt, '-', hour) >= date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%Y-%m-%d-%H')
  )
  WHERE copy_number = 1
)
WHERE "TIMESTAMP" >= newest - INTERVAL '3' MINUTE
