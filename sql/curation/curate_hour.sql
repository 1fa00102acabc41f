-- Curates one hour of the CSV lake: its readings, one copy of each, written as Parquet (ZSTD) into the
-- hour's folder of the curated_readings table. {DT} and {HOUR} are the hour (2026-11-28, 17),
-- {PREVIOUS_DT} and {PREVIOUS_HOUR} the hour before it; the curation state machine and npm run curate
-- replace them. Deduplicated as the readings view deduplicates (one copy per shard, sequence number and
-- index in the record, the copy of the earliest hour kept), among the copies in this hour and the hour
-- before: a bisected retry's copy lands in its batch's arrival hour or the next, so a reading already in
-- the hour before (and curated with it) is not curated again. Only those two hours of CSV are read.
-- Idempotent: UNLOAD writes into an empty folder only, so the state machine (and npm run curate) first
-- deletes what an earlier run of the same hour wrote; a re-run replaces the hour, never adds to it.
UNLOAD (
  SELECT
    regexp_replace(stream, '^''', '') AS stream,
    regexp_replace(shard_id, '^''', '') AS shard_id,
    regexp_replace(partition_key, '^''', '') AS partition_key,
    regexp_replace(sequence_number, '^''', '') AS sequence_number,
    reading_index, arrival_time, "timestamp",
    {{equipment_value}} AS equipment_id,
{{#features}}
    {{value}} AS {{column}},
{{/features}}
    anomaly_score, is_anomaly,
    regexp_replace(anomalous_features, '^''', '') AS anomalous_features,
    regexp_replace(reasons, '^''', '') AS reasons,
    regexp_replace(model_version, '^''', '') AS model_version
  FROM (
    SELECT
      *,
      row_number() OVER (PARTITION BY shard_id, sequence_number, reading_index ORDER BY dt, hour) AS copy_number
    FROM "${DATABASE}".processed_readings
    WHERE (dt = '{DT}' AND hour = '{HOUR}') OR (dt = '{PREVIOUS_DT}' AND hour = '{PREVIOUS_HOUR}')
  )
  WHERE copy_number = 1 AND dt = '{DT}' AND hour = '{HOUR}'
  ORDER BY equipment_id, "timestamp"
)
TO 's3://${PROCESSED_BUCKET}/{{curated_prefix}}dt={DT}/hour={HOUR}/'
WITH (format = 'PARQUET', compression = 'ZSTD')
