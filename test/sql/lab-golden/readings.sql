-- One row per reading, whatever the retries did. The transform names each CSV object after the first
-- record of its batch, so a retried batch overwrites its own object; but a batch that Lambda bisects
-- after its object was written, and whose first half then goes to the dead-letter queue, leaves the
-- second half's readings in two objects. A reading is identified by shard, sequence number and its
-- index within the record: this view keeps one copy of each. Query this view, not the table.
-- Cost: the deduplication sees every copy, so a filter on dt or hour cannot reach the table through
-- it: a query of this view reads the whole lake. For a few days of a large lake, filter
-- processed_readings on dt first and deduplicate those rows, as the query_* reference queries do.
-- Text as the producer sent it: the transform puts a ' before any text cell a spreadsheet would run as
-- a formula (one starting with = + - @, a tab or a carriage return) or that starts with ' itself, so
-- this view drops one leading ' from each text column.
CREATE OR REPLACE VIEW "${DATABASE}".readings AS
SELECT
  regexp_replace(stream, '^''', '') AS stream,
  regexp_replace(shard_id, '^''', '') AS shard_id,
  regexp_replace(partition_key, '^''', '') AS partition_key,
  regexp_replace(sequence_number, '^''', '') AS sequence_number,
  reading_index, arrival_time, "timestamp",
  equipment_id, vibration_amplitude, vibration_frequency, temperature, humidity,
  anomaly_score, is_anomaly,
  regexp_replace(anomalous_features, '^''', '') AS anomalous_features,
  regexp_replace(reasons, '^''', '') AS reasons,
  regexp_replace(model_version, '^''', '') AS model_version,
  dt, hour
FROM (
  SELECT
    *,
    row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
  FROM "${DATABASE}".processed_readings
)
WHERE copy_number = 1
