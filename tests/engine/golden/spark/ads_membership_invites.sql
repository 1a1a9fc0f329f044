WITH candidates AS (
  SELECT
    level,
    key,
    repurchase_rate,
    median_gap_days
  FROM ads_repurchase
  WHERE
    is_membership_candidate
), bought AS (
  SELECT
    'item' AS level,
    item_id AS key,
    user_id,
    dt,
    orders
  FROM dws_customer_item_day
  WHERE
    dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
  UNION ALL
  SELECT
    'category',
    category_id,
    user_id,
    dt,
    orders
  FROM dws_customer_item_day
  WHERE
    dt < CAST('2025-01-01' AS DATE)
    AND (
      NULL IS NULL OR dt >= NULL
    )
    AND NOT category_id IS NULL
), per_user AS (
  SELECT
    b.level,
    b.key,
    b.user_id,
    CAST(SUM(b.orders) AS BIGINT) AS orders,
    MAX(b.dt) AS last_purchase_date
  FROM bought AS b
  JOIN candidates AS c
    ON c.level = b.level AND c.key = b.key
  GROUP BY
    b.level,
    b.key,
    b.user_id
)
SELECT
  p.level,
  p.key,
  p.user_id,
  p.orders,
  p.last_purchase_date,
  p.orders >= 2 AS is_repeat_buyer,
  c.class,
  c.segment,
  c.segment_en
FROM per_user AS p
LEFT JOIN ads_customer_class AS c
  ON c.user_id = p.user_id
