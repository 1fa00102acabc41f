-- The readings of the raw archive, one row per reading: each line is parsed as JSON and, when it is an
-- array, unnested (reading_index is the reading's position in its record, from 0, as in the CSV lake;
-- 0 for a record holding one reading). Fields are read as sent, before any validation: readings the
-- transform rejected are here too (numbers sent as strings are converted, other bad values are NULL),
-- and `reading` is the reading's JSON text; a line that is JSON but neither a reading nor an array
-- (a number, say) gives one row of NULLs. Lines that are not JSON give no row (the transform
-- quarantined them, with their reason, under quarantine/ of the processed bucket), and neither do
-- records holding Python's bare NaN or Infinity, which Athena's json_parse refuses though the
-- transform reads them (their valid readings are in the CSV lake).
-- Filter on dt and hour: those filters reach the table, so only those partitions are read.
CREATE OR REPLACE VIEW "${DATABASE}".raw_readings AS
SELECT
  dt,
  hour,
  CAST(ordinal - 1 AS INTEGER) AS reading_index,
  json_extract_scalar(reading, '$.timestamp') AS "timestamp",
  try_cast(json_extract_scalar(reading, '$.equipment_id') AS INTEGER) AS equipment_id,
  try_cast(json_extract_scalar(reading, '$.vibration_amplitude') AS DOUBLE) AS vibration_amplitude,
  try_cast(json_extract_scalar(reading, '$.vibration_frequency') AS DOUBLE) AS vibration_frequency,
  try_cast(json_extract_scalar(reading, '$.temperature') AS DOUBLE) AS temperature,
  try_cast(json_extract_scalar(reading, '$.humidity') AS DOUBLE) AS humidity,
  json_format(reading) AS reading
FROM (
  SELECT dt, hour, try(json_parse(line)) AS record
  FROM "${DATABASE}".raw_archive
)
CROSS JOIN UNNEST(coalesce(try(CAST(record AS ARRAY(JSON))), ARRAY[record])) WITH ORDINALITY AS r (reading, ordinal)
WHERE record IS NOT NULL
