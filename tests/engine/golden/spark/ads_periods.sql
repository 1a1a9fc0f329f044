WITH days AS (
  SELECT
    *
  FROM dws_shop_day
  WHERE
    in_span
), instances AS (
  SELECT
    period_id,
    ANY_VALUE(kind) IGNORE NULLS AS kind,
    ANY_VALUE(period_key) IGNORE NULLS AS period_key,
    ANY_VALUE(period_name) IGNORE NULLS AS period_name,
    ANY_VALUE(period_name_en) IGNORE NULLS AS period_name_en,
    ANY_VALUE(phase) IGNORE NULLS AS phase,
    ANY_VALUE(year) IGNORE NULLS AS year,
    MIN(date) AS start_date,
    MAX(date) AS end_date,
    COUNT(*) AS days,
    CAST(SUM(visitors) AS DOUBLE) / COUNT(*) AS visitors_per_day,
    CAST(SUM(CAST(gmv AS DECIMAL(38, 6))) AS DOUBLE) / COUNT(*) AS gmv_per_day,
    CAST(SUM(orders) AS DOUBLE) / COUNT(*) AS orders_per_day
  FROM days
  GROUP BY
    period_id
), lengths AS (
  SELECT
    period_id,
    COUNT(*) AS calendar_days
  FROM dws_shop_day
  GROUP BY
    period_id
), traffic AS (
  SELECT
    period_id,
    COUNT(*) AS visitors,
    COUNT(CASE WHEN count_pv = 1 AND count_fav + count_cart + count_buy = 0 THEN 1 END) AS bounced
  FROM dws_customer_period
  GROUP BY
    period_id
), sales AS (
  SELECT
    d.period_id,
    COUNT(*) FILTER(WHERE
      o.in_gmv) AS orders,
    COUNT(DISTINCT o.user_id) FILTER(WHERE
      o.in_gmv) AS buyers,
    COUNT(DISTINCT o.user_id) FILTER(WHERE
      o.is_first_order) AS new_buyers,
    CAST(COALESCE(SUM(CAST(o.amount AS DECIMAL(38, 6))) FILTER(WHERE
      o.in_gmv), 0) AS DOUBLE) AS gmv,
    COUNT(*) FILTER(WHERE
      o.in_gmv AND o.status = 'refunded') AS refunded_orders,
    CAST(COALESCE(
      SUM(CAST(o.amount AS DECIMAL(38, 6))) FILTER(WHERE
        o.in_gmv AND o.status = 'refunded'),
      0
    ) - COALESCE(SUM(CAST(o.amount AS DECIMAL(38, 6))) FILTER(WHERE
      o.amount < 0), 0) AS DOUBLE) AS refunds
  FROM dwd_orders AS o
  JOIN days AS d
    ON d.date = o.order_date
  GROUP BY
    d.period_id
), baseline AS (
  SELECT
    i.period_id,
    CAST(SUM(CAST(b.gmv AS DECIMAL(38, 6))) AS DOUBLE) / COUNT(*) AS gmv_per_day,
    CAST(SUM(b.visitors) AS DOUBLE) / COUNT(*) AS visitors_per_day,
    COUNT(*) AS days
  FROM instances AS i
  JOIN days AS b
    ON b.kind = 'daily'
    AND b.date BETWEEN i.start_date - INTERVAL '28' DAY AND i.end_date + INTERVAL '28' DAY
  WHERE
    i.kind <> 'daily'
  GROUP BY
    i.period_id
), joined AS (
  SELECT
    i.*,
    l.calendar_days,
    COALESCE(t.visitors, 0) AS visitors,
    COALESCE(t.bounced, 0) AS bounced,
    COALESCE(s.buyers, 0) AS buyers,
    COALESCE(s.new_buyers, 0) AS new_buyers,
    COALESCE(s.orders, 0) AS orders,
    COALESCE(s.gmv, 0) AS gmv,
    COALESCE(s.refunded_orders, 0) AS refunded_orders,
    COALESCE(s.refunds, 0) AS refunds,
    b.gmv_per_day AS baseline_gmv_per_day,
    b.visitors_per_day AS baseline_visitors_per_day,
    COALESCE(b.days, 0) AS baseline_days
  FROM instances AS i
  JOIN lengths AS l
    USING (period_id)
  LEFT JOIN traffic AS t
    USING (period_id)
  LEFT JOIN sales AS s
    USING (period_id)
  LEFT JOIN baseline AS b
    USING (period_id)
), compared AS (
  SELECT
    j.*,
    LAG(j.gmv_per_day) OVER (PARTITION BY j.kind, j.phase ORDER BY j.start_date NULLS LAST) AS previous_gmv_per_day,
    LAG(j.period_id) OVER (PARTITION BY j.kind, j.phase ORDER BY j.start_date NULLS LAST) AS previous_period_id,
    y.gmv_per_day AS last_year_gmv_per_day
  FROM joined AS j
  LEFT JOIN joined AS y
    ON y.kind = j.kind
    AND y.period_key = j.period_key
    AND COALESCE(y.phase, '') = COALESCE(j.phase, '')
    AND y.year = j.year - 1
)
SELECT
  period_id,
  kind,
  period_name,
  period_name_en,
  phase,
  year,
  start_date,
  end_date,
  days,
  calendar_days,
  days = calendar_days AS is_complete,
  visitors,
  buyers,
  new_buyers,
  buyers - new_buyers AS returning_buyers,
  orders,
  gmv,
  gmv - refunds AS net_gmv,
  gmv / NULLIF(buyers, 0) AS gmv_per_buyer,
  gmv / NULLIF(orders, 0) AS gmv_per_order,
  CAST(buyers AS DOUBLE) / NULLIF(visitors, 0) AS conversion,
  CAST(bounced AS DOUBLE) / NULLIF(visitors, 0) AS bounce_rate,
  CAST(refunded_orders AS DOUBLE) / NULLIF(orders, 0) AS refund_rate,
  visitors_per_day,
  orders_per_day,
  gmv_per_day,
  baseline_days,
  baseline_gmv_per_day,
  gmv_per_day / NULLIF(baseline_gmv_per_day, 0) AS gmv_lift,
  visitors_per_day / NULLIF(baseline_visitors_per_day, 0) AS visitors_lift,
  previous_period_id,
  gmv_per_day / NULLIF(previous_gmv_per_day, 0) - 1 AS gmv_per_day_mom,
  gmv_per_day / NULLIF(last_year_gmv_per_day, 0) - 1 AS gmv_per_day_yoy
FROM compared
