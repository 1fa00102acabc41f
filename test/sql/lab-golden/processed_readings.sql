-- The CSV lake written by the transform Lambda: one GZIP object per batch under
-- s3://<processed bucket>/readings/dt=YYYY-MM-DD/hour=HH/<shard id>-<first sequence number>.csv.gz
-- (Athena unzips by the .gz extension; objects of earlier versions, .csv, are read as they are).
-- Columns are in the order of the CSV header (lambdas/shared/processed-reading.ts READING_COLUMNS).
-- Partition projection on dt and hour: no crawler and no ADD PARTITION needed.
-- A text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
-- return), or that starts with ', is stored with a ' before it; the views (readings.sql) drop it.
-- ${PROCESSED_BUCKET} is replaced by the processed bucket's name.
CREATE EXTERNAL TABLE IF NOT EXISTS processed_readings (
  stream STRING,
  shard_id STRING,
  partition_key STRING,
  sequence_number STRING,
  reading_index INT,
  arrival_time STRING,
  `timestamp` STRING,
  equipment_id INT,
  vibration_amplitude DOUBLE,
  vibration_frequency DOUBLE,
  temperature DOUBLE,
  humidity DOUBLE,
  anomaly_score DOUBLE,
  is_anomaly BOOLEAN,
  anomalous_features STRING,
  reasons STRING,
  model_version STRING
)
PARTITIONED BY (dt STRING, hour STRING)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\\')
LOCATION 's3://${PROCESSED_BUCKET}/readings/'
TBLPROPERTIES (
  'skip.header.line.count' = '1',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/readings/dt=${dt}/hour=${hour}/'
)
