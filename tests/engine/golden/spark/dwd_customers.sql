SELECT
  user_id,
  register_ts,
  birthday,
  birthday_is_lunar,
  member_level,
  phone,
  email,
  address
FROM (
  WITH latest AS (
    SELECT
      *
    FROM (
      SELECT
        *,
        ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY _batch_id DESC, _line DESC) AS _w
      FROM ods_customers
    ) AS _t
    WHERE
      _w = 1
  )
  SELECT
    COALESCE(i.person_id, c.user_id) AS user_id,
    c.register_ts,
    c.birthday,
    COALESCE(c.birthday_is_lunar, FALSE) AS birthday_is_lunar,
    c.member_level,
    c.phone,
    c.email,
    c.address,
    ROW_NUMBER() OVER (
      PARTITION BY COALESCE(i.person_id, COALESCE(i.person_id, c.user_id))
      ORDER BY COALESCE(i.person_id, c.user_id) = COALESCE(i.person_id, COALESCE(i.person_id, c.user_id)) DESC, c._batch_id DESC, c._line DESC
    ) AS _w
  FROM latest AS c
  LEFT JOIN dim_identity AS i
    ON i.source IN ('customer', '*') AND i.source_id = c.user_id
) AS _t
WHERE
  _w = 1
