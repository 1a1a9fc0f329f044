SELECT
  s.period_id,
  c.user_id,
  CAST(SUM(c.count_pv) AS BIGINT) AS count_pv,
  CAST(SUM(c.count_fav) AS BIGINT) AS count_fav,
  CAST(SUM(c.count_cart) AS BIGINT) AS count_cart,
  CAST(SUM(c.count_buy) AS BIGINT) AS count_buy
FROM dws_customer_day AS c
JOIN dws_shop_day AS s
  ON s.date = c.dt
WHERE
  s.in_span AND c.count_pv + c.count_fav + c.count_cart + c.count_buy > 0
GROUP BY
  s.period_id,
  c.user_id
