WITH days AS (
  SELECT
    *,
    CASE WHEN is_weekend THEN 'weekend' ELSE 'workday' END AS day_type
  FROM dws_shop_day
  WHERE
    in_span
), grouped AS (
  SELECT
    kind,
    COALESCE(day_type, 'all') AS day_type,
    COUNT(*) AS days,
    CAST(SUM(visitors) AS DOUBLE) / COUNT(*) AS visitors_per_day,
    CAST(SUM(buyers) AS DOUBLE) / COUNT(*) AS buyers_per_day,
    CAST(SUM(orders) AS DOUBLE) / COUNT(*) AS orders_per_day,
    CAST(SUM(CAST(gmv AS DECIMAL(38, 6))) AS DOUBLE) / COUNT(*) AS gmv_per_day,
    CAST(SUM(CAST(net_gmv AS DECIMAL(38, 6))) AS DOUBLE) / COUNT(*) AS net_gmv_per_day,
    CAST(SUM(buyers) AS DOUBLE) / NULLIF(SUM(visitors), 0) AS conversion,
    CAST(SUM(bounced) AS DOUBLE) / NULLIF(SUM(visitors), 0) AS bounce_rate
  FROM days
  GROUP BY
    GROUPING SETS (
      (
        kind
      ),
      (kind, day_type)
    )
)
SELECT
  g.*,
  g.visitors_per_day / NULLIF(d.visitors_per_day, 0) AS visitors_lift,
  g.gmv_per_day / NULLIF(d.gmv_per_day, 0) AS gmv_lift
FROM grouped AS g
LEFT JOIN grouped AS d
  ON d.kind = 'daily' AND d.day_type = g.day_type
