WITH lines AS (
  SELECT
    o.user_id,
    l.item_id,
    o.order_date AS dt,
    o.order_id,
    l.qty,
    CAST(l.amount AS DOUBLE) AS amount
  FROM dwd_order_items AS l
  JOIN dwd_orders AS o
    ON o.order_id = l.order_id
  WHERE
    o.is_paid AND l.qty > 0 AND NOT o.user_id IS NULL
), buys AS (
  SELECT
    user_id,
    item_id,
    dt,
    CAST(event_id AS STRING) AS order_id,
    1.0 AS qty,
    CAST(NULL AS DOUBLE) AS amount,
    category_id
  FROM dwd_events
  WHERE
    behavior = 'buy'
    AND NOT item_id IS NULL
    AND NOT EXISTS(
      SELECT
        1
      FROM dwd_order_items
    )
), purchases AS (
  SELECT
    user_id,
    item_id,
    dt,
    order_id,
    qty,
    amount,
    CAST(NULL AS STRING) AS category_id
  FROM lines
  UNION ALL
  SELECT
    *
  FROM buys
)
SELECT
  p.user_id,
  p.item_id,
  p.dt,
  COALESCE(ANY_VALUE(i.category_id) IGNORE NULLS, ANY_VALUE(p.category_id) IGNORE NULLS) AS category_id,
  COUNT(DISTINCT p.order_id) AS orders,
  SUM(p.qty) AS qty,
  SUM(p.amount) AS amount
FROM purchases AS p
LEFT JOIN dwd_items AS i
  ON i.item_id = p.item_id
GROUP BY
  p.user_id,
  p.item_id,
  p.dt
