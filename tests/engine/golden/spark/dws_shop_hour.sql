SELECT
  dt,
  CAST(HOUR(FROM_UTC_TIMESTAMP(CAST(ts AS TIMESTAMP), 'Asia/Shanghai')) AS BIGINT) AS hour,
  COUNT(*) AS events,
  COUNT(CASE WHEN behavior = 'pv' THEN 1 END) AS events_pv,
  COUNT(CASE WHEN behavior = 'fav' THEN 1 END) AS events_fav,
  COUNT(CASE WHEN behavior = 'cart' THEN 1 END) AS events_cart,
  COUNT(CASE WHEN behavior = 'buy' THEN 1 END) AS events_buy
FROM dwd_events
GROUP BY
  dt,
  hour
