WITH buys AS (
  SELECT
    user_id,
    order_date,
    is_first_order
  FROM dwd_orders
  WHERE
    in_gmv AND NOT user_id IS NULL AND order_date < CAST('2025-01-01' AS DATE)
), units AS (
  SELECT
    'month' AS unit
  UNION ALL
  SELECT
    'week'
), firsts AS (
  SELECT
    u.unit,
    b.user_id,
    CAST(CASE u.unit
      WHEN 'month'
      THEN DATE_TRUNC('MONTH', b.order_date)
      ELSE DATE_TRUNC('WEEK', b.order_date)
    END AS DATE) AS cohort
  FROM buys AS b
  CROSS JOIN units AS u
  WHERE
    b.is_first_order
), active AS (
  SELECT DISTINCT
    u.unit,
    b.user_id,
    CAST(CASE u.unit
      WHEN 'month'
      THEN DATE_TRUNC('MONTH', b.order_date)
      ELSE DATE_TRUNC('WEEK', b.order_date)
    END AS DATE) AS period_start
  FROM buys AS b
  CROSS JOIN units AS u
), cells AS (
  SELECT
    f.unit,
    f.cohort,
    CAST(CASE f.unit
      WHEN 'month'
      THEN DATEDIFF(MONTH, f.cohort, a.period_start)
      ELSE DATEDIFF(WEEK, f.cohort, a.period_start)
    END AS BIGINT) AS periods_since,
    a.period_start,
    COUNT(*) AS buyers
  FROM firsts AS f
  JOIN active AS a
    ON a.unit = f.unit AND a.user_id = f.user_id
  WHERE
    a.period_start >= f.cohort
  GROUP BY
    f.unit,
    f.cohort,
    a.period_start
), sizes AS (
  SELECT
    unit,
    cohort,
    COUNT(*) AS cohort_size
  FROM firsts
  GROUP BY
    unit,
    cohort
)
SELECT
  c.unit,
  c.cohort,
  c.periods_since,
  s.cohort_size,
  c.buyers,
  CAST(c.buyers AS DOUBLE) / s.cohort_size AS rate,
  CASE c.unit
    WHEN 'month'
    THEN c.period_start + INTERVAL '1' MONTH
    ELSE c.period_start + INTERVAL '7' DAY
  END > CAST('2025-01-01' AS DATE) AS is_partial
FROM cells AS c
JOIN sizes AS s
  ON s.unit = c.unit AND s.cohort = c.cohort
