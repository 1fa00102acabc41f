-- The raw archive written by Firehose: every record of the input stream as it was sent, GZIP objects
-- under s3://<raw bucket>/raw/dt=YYYY-MM-DD/hour=HH/ (the hour the record reached Firehose, UTC), one
-- record per line. A record is one reading or a JSON array of readings, which no JSON SerDe maps to
-- one set of columns: the table holds each line as one string (the text SerDe's field delimiter is
-- \001, which JSON text never contains unescaped), and the raw_readings view parses it.
-- Partition projection on dt and hour: no crawler and no ADD PARTITION needed.
-- ${RAW_BUCKET} is replaced by the raw bucket's name.
CREATE EXTERNAL TABLE IF NOT EXISTS raw_archive (
  line STRING
)
PARTITIONED BY (dt STRING, hour STRING)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'
WITH SERDEPROPERTIES ('serialization.format' = '1')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${RAW_BUCKET}/raw/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = 's3://${RAW_BUCKET}/raw/dt=${dt}/hour=${hour}/'
)
