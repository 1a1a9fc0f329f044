WITH explicit AS (
  SELECT
    source,
    source_id,
    person_id,
    rule
  FROM (
    SELECT
      LOWER(source) AS source,
      source_id,
      user_id AS person_id,
      'explicit' AS rule,
      ROW_NUMBER() OVER (PARTITION BY LOWER(LOWER(source)), source_id ORDER BY _batch_id DESC, _line DESC) AS _w
    FROM ods_identity
  ) AS _t
  WHERE
    _w = 1
), customers AS (
  SELECT
    user_id,
    phone
  FROM (
    SELECT
      user_id,
      RIGHT(REGEXP_REPLACE(phone, '[^0-9]', ''), 11) AS phone,
      ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY _batch_id DESC, _line DESC) AS _w
    FROM ods_customers
  ) AS _t
  WHERE
    _w = 1
), by_phone AS (
  SELECT
    'customer' AS source,
    user_id AS source_id,
    MIN(user_id) OVER (PARTITION BY phone) AS person_id,
    'phone' AS rule
  FROM customers
  WHERE
    TRUE AND LENGTH(phone) >= 7
)
SELECT
  source,
  source_id,
  person_id,
  rule
FROM explicit
UNION ALL
SELECT
  p.source,
  p.source_id,
  p.person_id,
  p.rule
FROM by_phone AS p
WHERE
  p.source_id <> p.person_id
  AND NOT EXISTS(
    SELECT
      1
    FROM explicit AS e
    WHERE
      e.source IN ('customer', '*') AND e.source_id = p.source_id
  )
