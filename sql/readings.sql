-- One row per reading, whatever the retries did. The transform names each CSV object after the first
-- record of its batch, so a retried batch overwrites its own object; but a batch that Lambda bisects
-- after its object was written, and whose first half then goes to the dead-letter queue, leaves the
-- second half's readings in two objects. A reading is identified by shard, sequence number and its
-- index within the record: this view keeps one copy of each. Query this view, not the table.
-- Cost: the deduplication sees every copy, so a filter on dt or hour cannot reach the table through
-- it: a query of this view reads the whole lake. For a few days of a large lake, filter
-- processed_readings on dt first and deduplicate those rows, as the query_* reference queries do.
CREATE OR REPLACE VIEW "${DATABASE}".readings AS
SELECT
  stream, shard_id, partition_key, sequence_number, reading_index, arrival_time, "timestamp",
  equipment_id, vibration_amplitude, vibration_frequency, temperature, humidity,
  anomaly_score, is_anomaly, anomalous_features, reasons, model_version, dt, hour
FROM (
  SELECT
    *,
    row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
  FROM "${DATABASE}".processed_readings
)
WHERE copy_number = 1
