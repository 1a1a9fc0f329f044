WITH span AS (
  SELECT
    LEAST(
      (
        SELECT
          MIN(dt)
        FROM dwd_events
      ),
      (
        SELECT
          MIN(order_date)
        FROM dwd_orders
      )
    ) AS first_date
), days AS (
  SELECT
    c.date,
    c.kind,
    c.phase,
    c.weekday,
    c.is_weekend,
    c.holiday_known,
    CAST(YEAR(c.date) AS INT) AS year,
    CASE
      WHEN c.kind = 'daily'
      THEN LPAD(CAST(MONTH(c.date) AS STRING), 2, '0')
      ELSE c.period_name
    END AS period_key,
    CASE
      WHEN c.kind = 'daily'
      THEN CAST(YEAR(c.date) AS STRING) || '-' || LPAD(CAST(MONTH(c.date) AS STRING), 2, '0')
      ELSE c.period_name
    END AS period_name,
    CASE
      WHEN c.kind = 'daily'
      THEN CAST(YEAR(c.date) AS STRING) || '-' || LPAD(CAST(MONTH(c.date) AS STRING), 2, '0')
      ELSE c.period_name_en
    END AS period_name_en,
    (
      c.date >= s.first_date AND c.date < CAST('2025-01-01' AS DATE)
    ) AS in_span
  FROM dim_calendar AS c
  CROSS JOIN span AS s
), visits AS (
  SELECT
    dt,
    COUNT(*) AS visitors,
    COUNT(*) FILTER(WHERE
      count_pv = 1 AND count_fav + count_cart + count_buy = 0) AS bounced,
    CAST(SUM(count_pv) AS BIGINT) AS events_pv,
    COUNT(*) FILTER(WHERE
      count_fav + count_cart > 0) AS users_fav_or_cart
  FROM dws_customer_day
  WHERE
    count_pv + count_fav + count_cart + count_buy > 0
  GROUP BY
    dt
), sales AS (
  SELECT
    order_date AS dt,
    COUNT(*) FILTER(WHERE
      in_gmv) AS orders,
    COUNT(DISTINCT user_id) FILTER(WHERE
      in_gmv) AS buyers,
    COUNT(DISTINCT user_id) FILTER(WHERE
      is_first_order) AS new_buyers,
    CAST(COALESCE(SUM(CAST(amount AS DECIMAL(38, 6))) FILTER(WHERE
      in_gmv), 0) AS DOUBLE) AS gmv,
    COUNT(*) FILTER(WHERE
      in_gmv AND status = 'refunded') AS refunded_orders,
    CAST(COALESCE(
      SUM(CAST(amount AS DECIMAL(38, 6))) FILTER(WHERE
        in_gmv AND status = 'refunded'),
      0
    ) AS DOUBLE) AS refunded_amount,
    CAST(COALESCE(-SUM(CAST(amount AS DECIMAL(38, 6))) FILTER(WHERE
      amount < 0), 0) AS DOUBLE) AS returned_amount
  FROM dwd_orders
  GROUP BY
    order_date
)
SELECT
  d.date,
  d.kind,
  d.phase,
  d.year,
  d.period_key,
  d.period_name,
  d.period_name_en,
  d.kind || ':' || CAST(d.year AS STRING) || ':' || d.period_key || ':' || COALESCE(d.phase, '') AS period_id,
  d.weekday,
  d.is_weekend,
  d.holiday_known,
  d.in_span,
  COALESCE(v.visitors, 0) AS visitors,
  COALESCE(v.bounced, 0) AS bounced,
  COALESCE(v.events_pv, 0) AS events_pv,
  COALESCE(v.users_fav_or_cart, 0) AS users_fav_or_cart,
  COALESCE(s.buyers, 0) AS buyers,
  COALESCE(s.new_buyers, 0) AS new_buyers,
  COALESCE(s.orders, 0) AS orders,
  COALESCE(s.gmv, 0) AS gmv,
  COALESCE(s.refunded_orders, 0) AS refunded_orders,
  COALESCE(s.refunded_amount, 0) AS refunded_amount,
  COALESCE(s.returned_amount, 0) AS returned_amount,
  COALESCE(s.gmv, 0) - COALESCE(s.refunded_amount, 0) - COALESCE(s.returned_amount, 0) AS net_gmv
FROM days AS d
LEFT JOIN visits AS v
  ON v.dt = d.date AND d.in_span
LEFT JOIN sales AS s
  ON s.dt = d.date AND d.in_span
