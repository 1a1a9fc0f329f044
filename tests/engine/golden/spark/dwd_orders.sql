WITH latest AS (
  SELECT
    order_id,
    user_id,
    order_ts,
    status,
    amount,
    channel
  FROM (
    SELECT
      order_id,
      user_id,
      order_ts,
      COALESCE(status, 'paid') AS status,
      amount,
      channel,
      ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY _batch_id DESC, _line DESC) AS _w
    FROM ods_orders
  ) AS _t
  WHERE
    _w = 1
), line_totals AS (
  SELECT
    order_id,
    SUM(amount) AS amount
  FROM dwd_order_items
  GROUP BY
    order_id
), headers AS (
  SELECT
    h.order_id,
    h.user_id,
    h.order_ts,
    h.status,
    COALESCE(h.amount, l.amount) AS amount,
    h.channel
  FROM latest AS h
  LEFT JOIN line_totals AS l
    ON l.order_id = h.order_id
  WHERE
    NOT COALESCE(h.amount, l.amount) IS NULL
), from_lines AS (
  SELECT
    order_id,
    MIN(user_id) AS user_id,
    MIN(order_ts) AS order_ts,
    CASE WHEN SUM(amount) < 0 THEN 'refunded' ELSE 'paid' END AS status,
    SUM(amount) AS amount,
    CAST(NULL AS STRING) AS channel
  FROM dwd_order_items
  WHERE
    NOT order_id IN (
      SELECT
        order_id
      FROM headers
    ) AND NOT order_ts IS NULL
  GROUP BY
    order_id
), from_events AS (
  SELECT
    CAST(event_id AS STRING) AS order_id,
    user_id,
    ts AS order_ts,
    'paid' AS status,
    1.0 AS amount,
    channel
  FROM dwd_events
  WHERE
    behavior = 'buy' AND FALSE
), orders AS (
  SELECT
    o.order_id,
    COALESCE(i.person_id, o.user_id) AS user_id,
    o.order_ts,
    o.status,
    o.amount,
    o.channel
  FROM (
    SELECT
      *
    FROM headers
    UNION ALL
    SELECT
      *
    FROM from_lines
  ) AS o
  LEFT JOIN dim_identity AS i
    ON i.source IN ('customer', '*') AND i.source_id = o.user_id
  UNION ALL
  SELECT
    *
  FROM from_events
)
SELECT
  order_id,
  user_id,
  order_ts,
  status,
  amount,
  channel,
  CAST(FROM_UTC_TIMESTAMP(CAST(order_ts AS TIMESTAMP), 'Asia/Shanghai') AS DATE) AS order_date,
  (
    status = 'paid' AND amount >= 0
  ) AS is_paid,
  (
    status IN ('paid', 'refunded') AND amount >= 0
  ) AS in_gmv,
  (
    status IN ('paid', 'refunded')
    AND amount >= 0
    AND NOT user_id IS NULL
    AND ROW_NUMBER() OVER (
      PARTITION BY user_id, status IN ('paid', 'refunded') AND amount >= 0
      ORDER BY order_ts NULLS LAST, order_id NULLS LAST
    ) = 1
  ) AS is_first_order
FROM orders
