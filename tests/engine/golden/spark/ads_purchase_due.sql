WITH order_days AS (
  SELECT DISTINCT
    user_id,
    order_date AS dt
  FROM dwd_orders
  WHERE
    is_paid
    AND NOT user_id IS NULL
    AND order_date < CAST('2025-01-01' AS DATE)
    AND (
      NULL IS NULL OR order_date >= NULL
    )
), gaps AS (
  SELECT
    user_id,
    dt,
    DATEDIFF(DAY, LAG(dt) OVER (PARTITION BY user_id ORDER BY dt NULLS LAST), dt) AS gap_days
  FROM order_days
), rhythm AS (
  SELECT
    user_id,
    COUNT(*) AS purchase_days,
    MAX(dt) AS last_purchase_date,
    CAST(ROUND(MEDIAN(gap_days)) AS INT) AS median_gap_days
  FROM gaps
  GROUP BY
    user_id
  HAVING
    COUNT(*) >= 2
)
SELECT
  user_id,
  purchase_days,
  last_purchase_date,
  median_gap_days,
  CAST(last_purchase_date + median_gap_days AS DATE) AS next_due_date,
  CAST(DATEDIFF(DAY, CAST('2025-01-01' AS DATE), CAST(last_purchase_date + median_gap_days AS DATE)) AS BIGINT) AS days_until_due
FROM rhythm
