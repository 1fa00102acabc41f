-- The lab's STREAMDATA_VIEW: every reading of the readings view (one copy of each), under the lab's
-- column names. STREAM is the Kinesis stream, KEY the record's partition key (the equipment id),
-- PARTITION the shard, OFFSET the record's sequence number and the reading's index within the record
-- as '<sequence number>:<index>' (a string: a Kinesis sequence number has too many digits for any SQL
-- number, and a record holds many readings), BATCH_TIMESTAMP the record's arrival time in Kinesis,
-- TIMESTAMP the reading's own time (UTC), INFERENCE the model's verdict: 1 anomalous, 0 normal (the
-- score, in [0, 1], is anomaly_score in readings). The names are quoted (PARTITION, OFFSET, KEY and
-- TIMESTAMP are keywords); Athena stores column names in lower case, and matches them in any case.
-- Cost: reads the whole lake, as the readings view does.
CREATE OR REPLACE VIEW "${DATABASE}".streamdata_view AS
SELECT
  stream AS "STREAM",
  partition_key AS "KEY",
  shard_id AS "PARTITION",
  concat(sequence_number, ':', CAST(reading_index AS VARCHAR)) AS "OFFSET",
  CAST(from_iso8601_timestamp(arrival_time) AS TIMESTAMP) AS "BATCH_TIMESTAMP",
  CAST(from_iso8601_timestamp("timestamp") AS TIMESTAMP) AS "TIMESTAMP",
  equipment_id AS "EQUIPMENT_ID",
{{#features}}
  {{column}} AS "{{upper_name}}",
{{/features}}
  CASE WHEN is_anomaly THEN 1 ELSE 0 END AS "INFERENCE"
FROM "${DATABASE}".readings
