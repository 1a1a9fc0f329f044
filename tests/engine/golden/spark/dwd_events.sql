WITH src AS (
  SELECT
    event_id,
    user_id,
    item_id,
    category_id,
    behavior,
    ts,
    channel,
    ad_campaign,
    session_id,
    shop_id,
    dt,
    _batch_id,
    _line
  FROM ods_events
), repeated AS (
  SELECT
    event_id
  FROM src
  GROUP BY
    event_id
  HAVING
    COUNT(*) > 1
), unique_rows AS (
  SELECT
    *
  FROM src
  WHERE
    NOT event_id IN (
      SELECT
        event_id
      FROM repeated
    )
), first_copies AS (
  SELECT
    *
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY event_id, dt ORDER BY _batch_id NULLS LAST, _line NULLS LAST) AS _w
    FROM src
    WHERE
      event_id IN (
        SELECT
          event_id
        FROM repeated
      )
  ) AS _t
  WHERE
    _w = 1
)
SELECT
  e.event_id,
  COALESCE(i.person_id, e.user_id) AS user_id,
  e.item_id,
  e.category_id,
  e.behavior,
  e.ts,
  e.channel,
  e.ad_campaign,
  e.session_id,
  e.shop_id,
  e.dt
FROM (
  SELECT
    *
  FROM unique_rows
  UNION ALL
  SELECT
    *
  FROM first_copies
) AS e
LEFT JOIN dim_identity AS i
  ON i.source IN ('log', '*') AND i.source_id = e.user_id
