-- The curated zone: the readings of each closed hour of the CSV lake, one copy of each (deduplicated as
-- the readings view deduplicates), their text as the producer sent it and every feature a DOUBLE, in
-- Parquet (ZSTD) under s3://<processed bucket>/{{curated_prefix}}dt=YYYY-MM-DD/hour=HH/. The hourly
-- curation writes it (sql/curation/curate_hour.sql, run by the curation state machine, or locally by
-- npm run curate); docs/lake.md. dt and hour are those of the CSV lake (the arrival hour of the batch's
-- first record). Query the readings view, which reads this table for the hours curated and the CSV lake
-- for the others; a query of one equipment here reads its columns and row groups only.
-- Partition projection on dt and hour: no crawler and no ADD PARTITION needed.
-- ${PROCESSED_BUCKET} is replaced by the processed bucket's name.
CREATE EXTERNAL TABLE IF NOT EXISTS curated_readings (
  stream STRING,
  shard_id STRING,
  partition_key STRING,
  sequence_number STRING,
  reading_index INT,
  arrival_time STRING,
  `timestamp` STRING,
  equipment_id {{equipment_type}},
{{#features}}
  {{ddl_column}} DOUBLE,
{{/features}}
  anomaly_score DOUBLE,
  is_anomaly BOOLEAN,
  anomalous_features STRING,
  reasons STRING,
  model_version STRING
)
PARTITIONED BY (dt STRING, hour STRING)
STORED AS PARQUET
LOCATION 's3://${PROCESSED_BUCKET}/{{curated_prefix}}'
TBLPROPERTIES (
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/{{curated_prefix}}dt=${dt}/hour=${hour}/'
)
