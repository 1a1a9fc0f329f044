WITH bought AS (
  SELECT
    user_id,
    item_id,
    category_id,
    dt,
    orders
  FROM dws_customer_item_day
  WHERE
    dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
), keyed AS (
  SELECT
    'item' AS level,
    item_id AS key,
    user_id,
    dt,
    orders
  FROM bought
  UNION ALL
  SELECT
    'category',
    category_id,
    user_id,
    dt,
    orders
  FROM bought
  WHERE
    NOT category_id IS NULL
), user_days AS (
  SELECT
    level,
    key,
    user_id,
    dt,
    SUM(orders) AS orders
  FROM keyed
  GROUP BY
    level,
    key,
    user_id,
    dt
), gaps AS (
  SELECT
    level,
    key,
    user_id,
    dt,
    orders,
    DATEDIFF(DAY, LAG(dt) OVER (PARTITION BY level, key, user_id ORDER BY dt NULLS LAST), dt) AS gap_days
  FROM user_days
), last_order AS (
  SELECT
    user_id,
    MAX(dt) AS last_dt
  FROM bought
  GROUP BY
    user_id
), per_user AS (
  SELECT
    g.level,
    g.key,
    g.user_id,
    SUM(g.orders) AS orders,
    MIN(g.dt) AS first_dt,
    ANY_VALUE(l.last_dt) IGNORE NULLS AS last_any_dt
  FROM gaps AS g
  JOIN last_order AS l
    ON l.user_id = g.user_id
  GROUP BY
    g.level,
    g.key,
    g.user_id
), per_key AS (
  SELECT
    level,
    key,
    COUNT(*) AS buyers,
    COUNT(*) FILTER(WHERE
      orders >= 2) AS repeat_buyers,
    COUNT(*) FILTER(WHERE
      last_any_dt > first_dt) AS returning_buyers,
    CAST(SUM(orders) AS BIGINT) AS orders
  FROM per_user
  GROUP BY
    level,
    key
), rhythm AS (
  SELECT
    level,
    key,
    MEDIAN(gap_days) AS median_gap_days
  FROM gaps
  WHERE
    NOT gap_days IS NULL
  GROUP BY
    level,
    key
), daily_use AS (
  SELECT
    'item' AS level,
    item_id AS key,
    is_daily_use
  FROM dwd_items
  UNION ALL
  SELECT
    'category',
    category_id,
    BOOL_OR(is_daily_use)
  FROM dwd_items
  WHERE
    NOT category_id IS NULL
  GROUP BY
    category_id
), measured AS (
  SELECT
    p.level,
    p.key,
    p.buyers,
    p.repeat_buyers,
    p.orders,
    CAST(p.repeat_buyers AS DOUBLE) / p.buyers AS repurchase_rate,
    CAST(r.median_gap_days AS DOUBLE) AS median_gap_days,
    CAST(p.returning_buyers AS DOUBLE) / p.buyers AS returning_share,
    COALESCE(d.is_daily_use, FALSE) AS is_daily_use
  FROM per_key AS p
  LEFT JOIN rhythm AS r
    ON r.level = p.level AND r.key = p.key
  LEFT JOIN daily_use AS d
    ON d.level = p.level AND d.key = p.key
)
SELECT
  *,
  buyers >= 20 AND repurchase_rate >= 0.3 AND COALESCE(median_gap_days <= 90, FALSE) AS is_membership_candidate,
  CAST(RANK() OVER (PARTITION BY level ORDER BY buyers >= 20 DESC, repurchase_rate DESC, buyers DESC) AS BIGINT) AS rate_rank
FROM measured
