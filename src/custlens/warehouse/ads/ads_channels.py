"""ads_channels — per channel and ad campaign: spend, traffic, buyers, and the orders and
revenue attributed to it, under each attribution model (last, first, linear touch).

A touch is a customer's first event of a day from a channel and ad campaign; it can
earn an order placed within `channels.lookback_days` after it. Last touch gives the
order to the latest touch, first touch to the earliest, linear splits it evenly. An
order with no touch in the window goes to the order's own channel (or "(none)").
Revenue is the attributed GMV; ROAS = revenue ÷ cost; CPA = cost ÷ attributed orders.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH ev AS (
    SELECT user_id, dt, ts, behavior, channel, coalesce(ad_campaign, '') AS ad_campaign
    FROM dwd_events
    WHERE channel IS NOT NULL AND dt < {as_of} AND ({since} IS NULL OR dt >= {since})
),
traffic AS (
    SELECT channel, ad_campaign, count(DISTINCT user_id) AS visitors,
           count(DISTINCT user_id) FILTER (WHERE behavior = 'cart') AS carters,
           count(DISTINCT user_id) FILTER (WHERE behavior = 'buy') AS buyers
    FROM ev GROUP BY channel, ad_campaign
),
spend AS (
    SELECT channel, ad_campaign, CAST(sum(impressions) AS BIGINT) AS impressions,
           CAST(sum(clicks) AS BIGINT) AS clicks,
           CAST(sum(CAST(cost AS DECIMAL(38, 6))) AS DOUBLE) AS cost
    FROM dwd_ad_spend
    WHERE date < {as_of} AND ({since} IS NULL OR date >= {since})
    GROUP BY channel, ad_campaign
),
touches AS (
    SELECT user_id, channel, ad_campaign, min(ts) AS ts FROM ev
    GROUP BY user_id, dt, channel, ad_campaign
),
orders AS (
    SELECT order_id, user_id, order_ts, amount, is_first_order,
           coalesce(channel, '(none)') AS own_channel
    FROM dwd_orders
    WHERE in_gmv AND order_date < {as_of} AND ({since} IS NULL OR order_date >= {since})
),
matched AS (
    SELECT o.order_id, t.channel, t.ad_campaign, t.ts,
           row_number() OVER (PARTITION BY o.order_id ORDER BY t.ts DESC, t.channel, t.ad_campaign)
               AS from_last,
           row_number() OVER (PARTITION BY o.order_id ORDER BY t.ts, t.channel, t.ad_campaign)
               AS from_first,
           count(*) OVER (PARTITION BY o.order_id) AS touches
    FROM orders o JOIN touches t
      ON t.user_id = o.user_id AND t.ts <= o.order_ts
     AND t.ts >= o.order_ts - INTERVAL {lookback_days} DAY
),
credits AS (
    SELECT 'last' AS attribution, order_id, channel, ad_campaign, 1.0 AS weight
    FROM matched WHERE from_last = 1
    UNION ALL
    SELECT 'first', order_id, channel, ad_campaign, 1.0 FROM matched WHERE from_first = 1
    UNION ALL
    SELECT 'linear', order_id, channel, ad_campaign, 1.0 / touches FROM matched
    UNION ALL
    SELECT m.attribution, o.order_id, o.own_channel, '', 1.0
    FROM orders o CROSS JOIN (VALUES ('last'), ('first'), ('linear')) m(attribution)
    WHERE o.order_id NOT IN (SELECT order_id FROM matched)
),
attributed AS (
    SELECT c.attribution, c.channel, c.ad_campaign, sum(c.weight) AS orders,
           sum(c.weight * o.amount) AS revenue,
           sum(c.weight) FILTER (WHERE o.is_first_order) AS new_customer_orders
    FROM credits c JOIN orders o ON o.order_id = c.order_id
    GROUP BY c.attribution, c.channel, c.ad_campaign
),
keys AS (
    SELECT m.attribution, k.channel, k.ad_campaign
    FROM (SELECT channel, ad_campaign FROM traffic UNION SELECT channel, ad_campaign FROM spend
          UNION SELECT channel, ad_campaign FROM attributed) k
    CROSS JOIN (VALUES ('last'), ('first'), ('linear')) m(attribution)
)
SELECT k.attribution, k.channel, k.ad_campaign,
       coalesce(s.impressions, 0) AS impressions, coalesce(s.clicks, 0) AS clicks,
       coalesce(s.cost, 0) AS cost,
       coalesce(t.visitors, 0) AS visitors, coalesce(t.carters, 0) AS carters,
       coalesce(t.buyers, 0) AS buyers,
       CAST(t.buyers AS DOUBLE) / nullif(t.visitors, 0) AS conversion,
       CAST(s.clicks AS DOUBLE) / nullif(s.impressions, 0) AS ctr,
       coalesce(a.orders, 0) AS orders, coalesce(a.revenue, 0) AS revenue,
       coalesce(a.new_customer_orders, 0) / nullif(a.orders, 0) AS new_customer_share,
       coalesce(a.revenue, 0) / nullif(s.cost, 0) AS roas,
       s.cost / nullif(a.orders, 0) AS cpa
FROM keys k
LEFT JOIN traffic t ON t.channel = k.channel AND t.ad_campaign = k.ad_campaign
LEFT JOIN spend s ON s.channel = k.channel AND s.ad_campaign = k.ad_campaign
LEFT JOIN attributed a ON a.attribution = k.attribution AND a.channel = k.channel
                      AND a.ad_campaign = k.ad_campaign
"""

MODEL = Model(
    name="ads_channels",
    grain="one row per attribution model × channel × ad campaign",
    description="Ad spend, traffic, buyers, attributed orders and revenue, ROAS, CPA and "
    "new-customer share per channel and campaign.",
    depends=("dwd_events", "dwd_ad_spend", "dwd_orders"),
    sql=SQL,
    params=("as_of", "since", "channels"),
    columns=(
        Column("attribution", "VARCHAR", not_null=True, accepted=("last", "first", "linear")),
        Column("channel", "VARCHAR", not_null=True),
        Column("ad_campaign", "VARCHAR", "'' when none", not_null=True),
        Column("impressions", "BIGINT", not_null=True),
        Column("clicks", "BIGINT", not_null=True),
        Column("cost", "DOUBLE", not_null=True),
        Column("visitors", "BIGINT", "users with an event from it", not_null=True),
        Column("carters", "BIGINT", "of them, users who added to cart from it", not_null=True),
        Column("buyers", "BIGINT", "users with a buy event from it", not_null=True),
        Column("conversion", "DOUBLE", "buyers ÷ visitors"),
        Column("ctr", "DOUBLE", "clicks ÷ impressions"),
        Column("orders", "DOUBLE", "attributed orders (fractional under linear)",
               not_null=True),
        Column("revenue", "DOUBLE", "attributed GMV", not_null=True),
        Column("new_customer_share", "DOUBLE", "attributed orders that were first orders"),
        Column("roas", "DOUBLE", "revenue ÷ cost"),
        Column("cpa", "DOUBLE", "cost ÷ attributed orders"),
    ),
)
