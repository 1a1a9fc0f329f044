WITH ev AS (
  SELECT
    user_id,
    dt,
    ts,
    behavior,
    channel,
    COALESCE(ad_campaign, '') AS ad_campaign
  FROM dwd_events
  WHERE
    NOT channel IS NULL
    AND dt < CAST('2025-01-01' AS DATE)
    AND (
      NULL IS NULL OR dt >= NULL
    )
), traffic AS (
  SELECT
    channel,
    ad_campaign,
    COUNT(DISTINCT user_id) AS visitors,
    COUNT(DISTINCT user_id) FILTER(WHERE
      behavior = 'cart') AS carters,
    COUNT(DISTINCT user_id) FILTER(WHERE
      behavior = 'buy') AS buyers
  FROM ev
  GROUP BY
    channel,
    ad_campaign
), spend AS (
  SELECT
    channel,
    ad_campaign,
    CAST(SUM(impressions) AS BIGINT) AS impressions,
    CAST(SUM(clicks) AS BIGINT) AS clicks,
    CAST(SUM(CAST(cost AS DECIMAL(38, 6))) AS DOUBLE) AS cost
  FROM dwd_ad_spend
  WHERE
    date < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR date >= NULL
    )
  GROUP BY
    channel,
    ad_campaign
), touches AS (
  SELECT
    user_id,
    channel,
    ad_campaign,
    MIN(ts) AS ts
  FROM ev
  GROUP BY
    user_id,
    dt,
    channel,
    ad_campaign
), orders AS (
  SELECT
    order_id,
    user_id,
    order_ts,
    amount,
    is_first_order,
    COALESCE(channel, '(none)') AS own_channel
  FROM dwd_orders
  WHERE
    in_gmv
    AND order_date < CAST('2025-01-01' AS DATE)
    AND (
      NULL IS NULL OR order_date >= NULL
    )
), matched AS (
  SELECT
    o.order_id,
    t.channel,
    t.ad_campaign,
    t.ts,
    ROW_NUMBER() OVER (
      PARTITION BY o.order_id
      ORDER BY t.ts DESC, t.channel NULLS LAST, t.ad_campaign NULLS LAST
    ) AS from_last,
    ROW_NUMBER() OVER (
      PARTITION BY o.order_id
      ORDER BY t.ts NULLS LAST, t.channel NULLS LAST, t.ad_campaign NULLS LAST
    ) AS from_first,
    COUNT(*) OVER (PARTITION BY o.order_id) AS touches
  FROM orders AS o
  JOIN touches AS t
    ON t.user_id = o.user_id
    AND t.ts <= o.order_ts
    AND t.ts >= o.order_ts - INTERVAL '7' DAY
), credits AS (
  SELECT
    'last' AS attribution,
    order_id,
    channel,
    ad_campaign,
    1.0 AS weight
  FROM matched
  WHERE
    from_last = 1
  UNION ALL
  SELECT
    'first',
    order_id,
    channel,
    ad_campaign,
    1.0
  FROM matched
  WHERE
    from_first = 1
  UNION ALL
  SELECT
    'linear',
    order_id,
    channel,
    ad_campaign,
    1.0 / touches
  FROM matched
  UNION ALL
  SELECT
    m.attribution,
    o.order_id,
    o.own_channel,
    '',
    1.0
  FROM orders AS o
  CROSS JOIN VALUES
    ('last'),
    ('first'),
    ('linear') AS m(attribution)
  WHERE
    NOT o.order_id IN (
      SELECT
        order_id
      FROM matched
    )
), attributed AS (
  SELECT
    c.attribution,
    c.channel,
    c.ad_campaign,
    SUM(c.weight) AS orders,
    SUM(c.weight * o.amount) AS revenue,
    SUM(c.weight) FILTER(WHERE
      o.is_first_order) AS new_customer_orders
  FROM credits AS c
  JOIN orders AS o
    ON o.order_id = c.order_id
  GROUP BY
    c.attribution,
    c.channel,
    c.ad_campaign
), keys AS (
  SELECT
    m.attribution,
    k.channel,
    k.ad_campaign
  FROM (
    SELECT
      channel,
      ad_campaign
    FROM traffic
    UNION
    SELECT
      channel,
      ad_campaign
    FROM spend
    UNION
    SELECT
      channel,
      ad_campaign
    FROM attributed
  ) AS k
  CROSS JOIN VALUES
    ('last'),
    ('first'),
    ('linear') AS m(attribution)
)
SELECT
  k.attribution,
  k.channel,
  k.ad_campaign,
  COALESCE(s.impressions, 0) AS impressions,
  COALESCE(s.clicks, 0) AS clicks,
  COALESCE(s.cost, 0) AS cost,
  COALESCE(t.visitors, 0) AS visitors,
  COALESCE(t.carters, 0) AS carters,
  COALESCE(t.buyers, 0) AS buyers,
  CAST(t.buyers AS DOUBLE) / NULLIF(t.visitors, 0) AS conversion,
  CAST(s.clicks AS DOUBLE) / NULLIF(s.impressions, 0) AS ctr,
  COALESCE(a.orders, 0) AS orders,
  COALESCE(a.revenue, 0) AS revenue,
  COALESCE(a.new_customer_orders, 0) / NULLIF(a.orders, 0) AS new_customer_share,
  COALESCE(a.revenue, 0) / NULLIF(s.cost, 0) AS roas,
  s.cost / NULLIF(a.orders, 0) AS cpa
FROM keys AS k
LEFT JOIN traffic AS t
  ON t.channel = k.channel AND t.ad_campaign = k.ad_campaign
LEFT JOIN spend AS s
  ON s.channel = k.channel AND s.ad_campaign = k.ad_campaign
LEFT JOIN attributed AS a
  ON a.attribution = k.attribution
  AND a.channel = k.channel
  AND a.ad_campaign = k.ad_campaign
