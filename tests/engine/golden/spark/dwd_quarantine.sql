SELECT
  _batch_id AS batch_id,
  table_name,
  _source AS source,
  _line AS line,
  _offset AS byte_offset,
  field,
  value,
  reason,
  raw
FROM ods_rejected
