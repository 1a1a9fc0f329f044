WITH user_day AS (
  SELECT
    user_id,
    dt,
    count_pv AS pv,
    count_fav AS fav,
    count_cart AS cart,
    count_buy AS buy
  FROM dws_customer_day
  WHERE
    dt < CAST('2025-01-01' AS DATE)
    AND (
      NULL IS NULL OR dt >= NULL
    )
    AND count_pv + count_fav + count_cart + count_buy > 0
), by_period AS (
  SELECT
    p.period_id,
    p.user_id,
    p.count_pv AS pv,
    p.count_fav AS fav,
    p.count_cart AS cart,
    p.count_buy AS buy
  FROM dws_customer_period AS p
  WHERE
    NULL IS NULL
  UNION ALL
  SELECT
    s.period_id,
    u.user_id,
    SUM(u.pv),
    SUM(u.fav),
    SUM(u.cart),
    SUM(u.buy)
  FROM user_day AS u
  JOIN dws_shop_day AS s
    ON s.date = u.dt
  WHERE
    NOT NULL IS NULL
  GROUP BY
    s.period_id,
    u.user_id
), by_all AS (
  SELECT
    user_id,
    SUM(pv) AS pv,
    SUM(fav) AS fav,
    SUM(cart) AS cart,
    SUM(buy) AS buy
  FROM by_period
  GROUP BY
    user_id
), by_channel AS (
  SELECT
    COALESCE(channel, '(none)') AS channel,
    user_id,
    CAST(SUM(count_pv) AS BIGINT) AS pv,
    CAST(SUM(count_fav) AS BIGINT) AS fav,
    CAST(SUM(count_cart) AS BIGINT) AS cart,
    CAST(SUM(count_buy) AS BIGINT) AS buy
  FROM dws_customer_category_day
  WHERE
    dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
  GROUP BY
    1,
    user_id
), by_category AS (
  SELECT
    COALESCE(category_id, '(none)') AS category_id,
    user_id,
    CAST(SUM(count_pv) AS BIGINT) AS pv,
    CAST(SUM(count_fav) AS BIGINT) AS fav,
    CAST(SUM(count_cart) AS BIGINT) AS cart,
    CAST(SUM(count_buy) AS BIGINT) AS buy
  FROM dws_customer_category_day
  WHERE
    dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
  GROUP BY
    1,
    user_id
), funnel AS (
  SELECT
    'all' AS breakdown,
    'all' AS value,
    COUNT(*) AS visitors,
    COUNT(CASE WHEN pv > 0 THEN 1 END) AS users_pv,
    COUNT(CASE WHEN fav > 0 THEN 1 END) AS users_fav,
    COUNT(CASE WHEN cart > 0 THEN 1 END) AS users_cart,
    COUNT(CASE WHEN fav + cart > 0 THEN 1 END) AS users_fav_or_cart,
    COUNT(CASE WHEN buy > 0 THEN 1 END) AS users_buy,
    CAST(COALESCE(SUM(pv), 0) AS BIGINT) AS events_pv,
    CAST(COALESCE(SUM(fav), 0) AS BIGINT) AS events_fav,
    CAST(COALESCE(SUM(cart), 0) AS BIGINT) AS events_cart,
    CAST(COALESCE(SUM(buy), 0) AS BIGINT) AS events_buy,
    COUNT(CASE WHEN pv = 1 AND fav + cart + buy = 0 THEN 1 END) AS bounced
  FROM by_all
  UNION ALL
  SELECT
    'channel',
    channel,
    COUNT(*) AS visitors,
    COUNT(CASE WHEN pv > 0 THEN 1 END) AS users_pv,
    COUNT(CASE WHEN fav > 0 THEN 1 END) AS users_fav,
    COUNT(CASE WHEN cart > 0 THEN 1 END) AS users_cart,
    COUNT(CASE WHEN fav + cart > 0 THEN 1 END) AS users_fav_or_cart,
    COUNT(CASE WHEN buy > 0 THEN 1 END) AS users_buy,
    CAST(COALESCE(SUM(pv), 0) AS BIGINT) AS events_pv,
    CAST(COALESCE(SUM(fav), 0) AS BIGINT) AS events_fav,
    CAST(COALESCE(SUM(cart), 0) AS BIGINT) AS events_cart,
    CAST(COALESCE(SUM(buy), 0) AS BIGINT) AS events_buy,
    COUNT(CASE WHEN pv = 1 AND fav + cart + buy = 0 THEN 1 END) AS bounced
  FROM by_channel
  GROUP BY
    channel
  UNION ALL
  SELECT
    'category',
    category_id,
    COUNT(*) AS visitors,
    COUNT(CASE WHEN pv > 0 THEN 1 END) AS users_pv,
    COUNT(CASE WHEN fav > 0 THEN 1 END) AS users_fav,
    COUNT(CASE WHEN cart > 0 THEN 1 END) AS users_cart,
    COUNT(CASE WHEN fav + cart > 0 THEN 1 END) AS users_fav_or_cart,
    COUNT(CASE WHEN buy > 0 THEN 1 END) AS users_buy,
    CAST(COALESCE(SUM(pv), 0) AS BIGINT) AS events_pv,
    CAST(COALESCE(SUM(fav), 0) AS BIGINT) AS events_fav,
    CAST(COALESCE(SUM(cart), 0) AS BIGINT) AS events_cart,
    CAST(COALESCE(SUM(buy), 0) AS BIGINT) AS events_buy,
    COUNT(CASE WHEN pv = 1 AND fav + cart + buy = 0 THEN 1 END) AS bounced
  FROM by_category
  GROUP BY
    category_id
  UNION ALL
  SELECT
    'day',
    CAST(dt AS STRING),
    COUNT(*) AS visitors,
    COUNT(CASE WHEN pv > 0 THEN 1 END) AS users_pv,
    COUNT(CASE WHEN fav > 0 THEN 1 END) AS users_fav,
    COUNT(CASE WHEN cart > 0 THEN 1 END) AS users_cart,
    COUNT(CASE WHEN fav + cart > 0 THEN 1 END) AS users_fav_or_cart,
    COUNT(CASE WHEN buy > 0 THEN 1 END) AS users_buy,
    CAST(COALESCE(SUM(pv), 0) AS BIGINT) AS events_pv,
    CAST(COALESCE(SUM(fav), 0) AS BIGINT) AS events_fav,
    CAST(COALESCE(SUM(cart), 0) AS BIGINT) AS events_cart,
    CAST(COALESCE(SUM(buy), 0) AS BIGINT) AS events_buy,
    COUNT(CASE WHEN pv = 1 AND fav + cart + buy = 0 THEN 1 END) AS bounced
  FROM user_day
  GROUP BY
    dt
  UNION ALL
  SELECT
    'period',
    period_id,
    COUNT(*) AS visitors,
    COUNT(CASE WHEN pv > 0 THEN 1 END) AS users_pv,
    COUNT(CASE WHEN fav > 0 THEN 1 END) AS users_fav,
    COUNT(CASE WHEN cart > 0 THEN 1 END) AS users_cart,
    COUNT(CASE WHEN fav + cart > 0 THEN 1 END) AS users_fav_or_cart,
    COUNT(CASE WHEN buy > 0 THEN 1 END) AS users_buy,
    CAST(COALESCE(SUM(pv), 0) AS BIGINT) AS events_pv,
    CAST(COALESCE(SUM(fav), 0) AS BIGINT) AS events_fav,
    CAST(COALESCE(SUM(cart), 0) AS BIGINT) AS events_cart,
    CAST(COALESCE(SUM(buy), 0) AS BIGINT) AS events_buy,
    COUNT(CASE WHEN pv = 1 AND fav + cart + buy = 0 THEN 1 END) AS bounced
  FROM by_period
  GROUP BY
    period_id
), bought AS (
  SELECT DISTINCT
    user_id,
    item_id
  FROM dwd_events
  WHERE
    dt < CAST('2025-01-01' AS DATE)
    AND (
      NULL IS NULL OR dt >= NULL
    )
    AND behavior = 'buy'
    AND NOT item_id IS NULL
), pairs AS (
  SELECT
    e.user_id,
    e.item_id,
    MIN(e.ts) FILTER(WHERE
      e.behavior = 'pv') AS first_pv,
    MIN(e.ts) FILTER(WHERE
      e.behavior = 'buy') AS first_buy,
    MIN(e.dt) FILTER(WHERE
      e.behavior = 'buy') AS buy_dt,
    COALESCE(MIN(e.channel), '(none)') AS channel,
    COALESCE(MIN(e.category_id), '(none)') AS category_id
  FROM dwd_events AS e
  JOIN bought AS b
    ON b.user_id = e.user_id AND b.item_id = e.item_id
  WHERE
    e.dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
  GROUP BY
    e.user_id,
    e.item_id
), waits AS (
  SELECT
    p.*,
    s.period_id,
    CAST(DATEDIFF(SECOND, first_pv, first_buy) AS DOUBLE) / 3600 AS hours
  FROM pairs AS p
  JOIN dws_shop_day AS s
    ON s.date = p.buy_dt
  WHERE
    NOT first_pv IS NULL AND first_buy >= first_pv
), time_to_buy AS (
  SELECT
    'all' AS breakdown,
    'all' AS value,
    MEDIAN(hours) AS median_hours_to_buy
  FROM waits
  UNION ALL
  SELECT
    'channel',
    channel,
    MEDIAN(hours)
  FROM waits
  GROUP BY
    channel
  UNION ALL
  SELECT
    'category',
    category_id,
    MEDIAN(hours)
  FROM waits
  GROUP BY
    category_id
  UNION ALL
  SELECT
    'day',
    CAST(buy_dt AS STRING),
    MEDIAN(hours)
  FROM waits
  GROUP BY
    buy_dt
  UNION ALL
  SELECT
    'period',
    period_id,
    MEDIAN(hours)
  FROM waits
  GROUP BY
    period_id
)
SELECT
  f.*,
  CAST(f.bounced AS DOUBLE) / NULLIF(f.visitors, 0) AS bounce_rate,
  CAST(f.users_fav_or_cart AS DOUBLE) / NULLIF(f.users_pv, 0) AS pv_to_fav_or_cart,
  CAST(f.users_buy AS DOUBLE) / NULLIF(f.users_fav_or_cart, 0) AS fav_or_cart_to_buy,
  CAST(f.users_buy AS DOUBLE) / NULLIF(f.visitors, 0) AS conversion,
  CAST(f.events_buy AS DOUBLE) / NULLIF(f.events_pv, 0) AS events_buy_per_pv,
  t.median_hours_to_buy
FROM funnel AS f
LEFT JOIN time_to_buy AS t
  ON t.breakdown = f.breakdown AND t.value = f.value
