SELECT
  user_id,
  dt,
  category_id,
  channel,
  COUNT(CASE WHEN behavior = 'pv' THEN 1 END) AS count_pv,
  COUNT(CASE WHEN behavior = 'fav' THEN 1 END) AS count_fav,
  COUNT(CASE WHEN behavior = 'cart' THEN 1 END) AS count_cart,
  COUNT(CASE WHEN behavior = 'buy' THEN 1 END) AS count_buy
FROM dwd_events
GROUP BY
  user_id,
  dt,
  category_id,
  channel
