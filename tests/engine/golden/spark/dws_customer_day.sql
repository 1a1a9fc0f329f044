WITH behaviour AS (
  SELECT
    user_id,
    dt,
    COUNT(*) FILTER(WHERE
      behavior = 'pv') AS count_pv,
    COUNT(*) FILTER(WHERE
      behavior = 'fav') AS count_fav,
    COUNT(*) FILTER(WHERE
      behavior = 'cart') AS count_cart,
    COUNT(*) FILTER(WHERE
      behavior = 'buy') AS count_buy
  FROM dwd_events
  GROUP BY
    user_id,
    dt
), purchases AS (
  SELECT
    user_id,
    order_date AS dt,
    COUNT(*) FILTER(WHERE
      is_paid) AS count_orders,
    COUNT(*) FILTER(WHERE
      NOT is_paid AND amount >= 0) AS count_unpaid_orders,
    CAST(COALESCE(SUM(CAST(amount AS DECIMAL(38, 6))) FILTER(WHERE
      is_paid), 0) AS DOUBLE) AS amount_paid,
    CAST(COALESCE(-SUM(CAST(amount AS DECIMAL(38, 6))) FILTER(WHERE
      amount < 0), 0) AS DOUBLE) AS amount_returned
  FROM dwd_orders
  WHERE
    NOT user_id IS NULL
  GROUP BY
    user_id,
    order_date
)
SELECT
  COALESCE(b.user_id, p.user_id) AS user_id,
  COALESCE(b.dt, p.dt) AS dt,
  COALESCE(count_pv, 0) AS count_pv,
  COALESCE(count_fav, 0) AS count_fav,
  COALESCE(count_cart, 0) AS count_cart,
  COALESCE(count_buy, 0) AS count_buy,
  COALESCE(count_orders, 0) AS count_orders,
  COALESCE(count_unpaid_orders, 0) AS count_unpaid_orders,
  COALESCE(amount_paid, 0) AS amount_paid,
  COALESCE(amount_returned, 0) AS amount_returned
FROM behaviour AS b
FULL JOIN purchases AS p
  ON b.user_id = p.user_id AND b.dt = p.dt
