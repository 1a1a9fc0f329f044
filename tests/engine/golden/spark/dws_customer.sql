SELECT
  user_id,
  MIN(dt) AS first_active_date,
  MAX(dt) AS last_active_date,
  CAST(SUM(count_pv) AS BIGINT) AS count_pv,
  CAST(SUM(count_fav) AS BIGINT) AS count_fav,
  CAST(SUM(count_cart) AS BIGINT) AS count_cart,
  CAST(SUM(count_buy) AS BIGINT) AS count_buy,
  CAST(SUM(count_orders) AS BIGINT) AS count_orders,
  MIN(dt) FILTER(WHERE
    count_orders > 0) AS first_order_date,
  MAX(dt) FILTER(WHERE
    count_orders > 0) AS last_order_date,
  CAST(SUM(CAST(amount_paid AS DECIMAL(38, 6))) AS DOUBLE) AS amount_paid,
  CAST(SUM(CAST(amount_returned AS DECIMAL(38, 6))) AS DOUBLE) AS amount_returned,
  CAST(GREATEST(
    SUM(CAST(amount_paid AS DECIMAL(38, 6))) - SUM(CAST(amount_returned AS DECIMAL(38, 6))),
    0
  ) AS DOUBLE) AS amount_net,
  COUNT(*) AS count_active_days
FROM dws_customer_day
GROUP BY
  user_id
