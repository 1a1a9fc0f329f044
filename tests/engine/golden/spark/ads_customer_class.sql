WITH activity AS (
  SELECT
    user_id,
    CAST(SUM(count_pv) AS BIGINT) AS count_pv,
    CAST(SUM(count_fav) AS BIGINT) AS count_fav,
    CAST(SUM(count_cart) AS BIGINT) AS count_cart,
    CAST(SUM(count_buy) AS BIGINT) AS count_buy,
    CAST(SUM(count_unpaid_orders) AS BIGINT) AS count_unpaid_orders,
    MAX(dt) AS last_active_date
  FROM dws_customer_day
  WHERE
    dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
  GROUP BY
    user_id
)
SELECT
  a.user_id,
  CASE
    WHEN NOT r.user_id IS NULL
    THEN r.class
    WHEN a.count_fav + a.count_cart + a.count_unpaid_orders > 0
    THEN 'intent'
    ELSE 'browser'
  END AS class,
  NOT r.user_id IS NULL AS is_buyer,
  COALESCE(r.is_lapsed, DATEDIFF(DAY, a.last_active_date, CAST('2025-01-01' AS DATE)) > 90) AS is_lapsed,
  COALESCE(r.is_campaign_only, FALSE) AS is_campaign_only,
  r.segment,
  r.segment_en,
  a.count_pv,
  a.count_fav,
  a.count_cart,
  a.count_buy,
  a.last_active_date,
  CAST('2025-01-01' AS DATE) AS as_of_date
FROM activity AS a
LEFT JOIN ads_rfm AS r
  ON r.user_id = a.user_id
