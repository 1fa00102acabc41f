-- One row per reading, whatever the retries did. The transform names each CSV object after the first
-- record of its batch, so a retried batch overwrites its own object; but a batch that Lambda bisects
-- after its object was written, and whose first half then goes to the dead-letter queue, leaves the
-- second half's readings in two objects. A reading is identified by shard, sequence number and its
-- index within the record: this view keeps one copy of each. Query this view, not the table.
-- Closed hours come from the curated zone: an hour that the hourly curation wrote to curated_readings
-- (Parquet, already deduplicated) is read there, every other hour (the current one, one whose curation
-- has not run or failed) from the CSV lake, an hour being curated when curated_readings has a row of it.
-- The CSV copies are deduplicated over the whole CSV lake, curated hours included, so a copy in an hour
-- after a curated one still counts once.
-- Cost: the deduplication sees every copy, so a filter on dt or hour cannot reach the CSV table through
-- it: a query of this view reads the whole CSV lake (a few days: lakeRetentionDays) and, for the
-- curated hours, the columns it uses. For a few hours, filter on dt first, as the query_* reference
-- queries do.
-- Text as the producer sent it: the transform puts a ' before any text cell a spreadsheet would run as
-- a formula (one starting with = + - @, a tab or a carriage return) or that starts with ' itself, so
-- this view drops one leading ' from each text column.
CREATE OR REPLACE VIEW "${DATABASE}".readings AS
SELECT
  stream, shard_id, partition_key, sequence_number, reading_index, arrival_time, "timestamp",
  equipment_id, {{feature_columns}},
  anomaly_score, is_anomaly, anomalous_features, reasons, model_version,
  dt, hour
FROM "${DATABASE}".curated_readings
UNION ALL
SELECT
  regexp_replace(stream, '^''', '') AS stream,
  regexp_replace(shard_id, '^''', '') AS shard_id,
  regexp_replace(partition_key, '^''', '') AS partition_key,
  regexp_replace(sequence_number, '^''', '') AS sequence_number,
  reading_index, arrival_time, "timestamp",
{{#integer_ids}}
  equipment_id, {{feature_list}},
{{/integer_ids}}
{{#string_ids}}
  {{equipment_value}} AS equipment_id, {{feature_list}},
{{/string_ids}}
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
) AS lake
WHERE
  copy_number = 1
  AND NOT EXISTS (
    SELECT 1 FROM "${DATABASE}".curated_readings AS curated
    WHERE curated.dt = lake.dt AND curated.hour = lake.hour
  )
