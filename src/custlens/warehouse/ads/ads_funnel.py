"""ads_funnel — the behaviour funnel (pv → fav / cart → buy), overall and broken down by
day, period, channel and category; by users and by events.

A user counts at a stage of a breakdown value when they did it there (a user who browses
two categories counts in both). 跳失率 is the share of visitors whose only activity in
that slice was one page view. Time to purchase is the median hours from a customer's
first page view of an item to their first purchase of it, for the items they bought.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH ev AS (
    SELECT user_id, dt, coalesce(channel, '(none)') AS channel,
           coalesce(category_id, '(none)') AS category_id, item_id, behavior, ts
    FROM dwd_events
    WHERE dt < {as_of} AND ({since} IS NULL OR dt >= {since})
),
user_slice AS (
    SELECT user_id, channel, category_id,
           count(*) FILTER (WHERE behavior = 'pv') AS pv,
           count(*) FILTER (WHERE behavior = 'fav') AS fav,
           count(*) FILTER (WHERE behavior = 'cart') AS cart,
           count(*) FILTER (WHERE behavior = 'buy') AS buy
    FROM ev GROUP BY user_id, channel, category_id
),
user_day AS (
    SELECT c.user_id, c.dt, s.period_id, c.count_pv AS pv, c.count_fav AS fav,
           c.count_cart AS cart, c.count_buy AS buy
    FROM dws_customer_day c JOIN dws_shop_day s ON s.date = c.dt
    WHERE c.dt < {as_of} AND ({since} IS NULL OR c.dt >= {since})
      AND c.count_pv + c.count_fav + c.count_cart + c.count_buy > 0
),
per_user AS (
    SELECT 'all' AS breakdown, 'all' AS value, user_id,
           sum(pv) AS pv, sum(fav) AS fav, sum(cart) AS cart, sum(buy) AS buy
    FROM user_slice GROUP BY user_id
    UNION ALL
    SELECT 'channel', channel, user_id, sum(pv), sum(fav), sum(cart), sum(buy)
    FROM user_slice GROUP BY channel, user_id
    UNION ALL
    SELECT 'category', category_id, user_id, sum(pv), sum(fav), sum(cart), sum(buy)
    FROM user_slice GROUP BY category_id, user_id
    UNION ALL
    SELECT 'day', CAST(dt AS VARCHAR), user_id, pv, fav, cart, buy FROM user_day
    UNION ALL
    SELECT 'period', period_id, user_id, sum(pv), sum(fav), sum(cart), sum(buy)
    FROM user_day GROUP BY period_id, user_id
),
funnel AS (
    SELECT breakdown, value, count(*) AS visitors,
           count(*) FILTER (WHERE pv > 0) AS users_pv,
           count(*) FILTER (WHERE fav > 0) AS users_fav,
           count(*) FILTER (WHERE cart > 0) AS users_cart,
           count(*) FILTER (WHERE fav + cart > 0) AS users_fav_or_cart,
           count(*) FILTER (WHERE buy > 0) AS users_buy,
           CAST(sum(pv) AS BIGINT) AS events_pv, CAST(sum(fav) AS BIGINT) AS events_fav,
           CAST(sum(cart) AS BIGINT) AS events_cart, CAST(sum(buy) AS BIGINT) AS events_buy,
           count(*) FILTER (WHERE pv = 1 AND fav + cart + buy = 0) AS bounced
    FROM per_user GROUP BY breakdown, value
),
pairs AS (
    SELECT user_id, item_id,
           min(ts) FILTER (WHERE behavior = 'pv') AS first_pv,
           min(ts) FILTER (WHERE behavior = 'buy') AS first_buy,
           min(dt) FILTER (WHERE behavior = 'buy') AS buy_dt,
           min(channel) AS channel, min(category_id) AS category_id
    FROM ev WHERE item_id IS NOT NULL
    GROUP BY user_id, item_id
),
waits AS (
    SELECT p.*, s.period_id, date_diff('second', first_pv, first_buy) / 3600.0 AS hours
    FROM pairs p JOIN dws_shop_day s ON s.date = p.buy_dt
    WHERE first_pv IS NOT NULL AND first_buy >= first_pv
),
time_to_buy AS (
    SELECT 'all' AS breakdown, 'all' AS value, median(hours) AS median_hours_to_buy FROM waits
    UNION ALL SELECT 'channel', channel, median(hours) FROM waits GROUP BY channel
    UNION ALL SELECT 'category', category_id, median(hours) FROM waits GROUP BY category_id
    UNION ALL SELECT 'day', CAST(buy_dt AS VARCHAR), median(hours) FROM waits GROUP BY buy_dt
    UNION ALL SELECT 'period', period_id, median(hours) FROM waits GROUP BY period_id
)
SELECT f.*,
       CAST(f.bounced AS DOUBLE) / nullif(f.visitors, 0) AS bounce_rate,
       CAST(f.users_fav_or_cart AS DOUBLE) / nullif(f.users_pv, 0) AS pv_to_fav_or_cart,
       CAST(f.users_buy AS DOUBLE) / nullif(f.users_fav_or_cart, 0) AS fav_or_cart_to_buy,
       CAST(f.users_buy AS DOUBLE) / nullif(f.visitors, 0) AS conversion,
       CAST(f.events_buy AS DOUBLE) / nullif(f.events_pv, 0) AS events_buy_per_pv,
       t.median_hours_to_buy
FROM funnel f LEFT JOIN time_to_buy t ON t.breakdown = f.breakdown AND t.value = f.value
"""

MODEL = Model(
    name="ads_funnel",
    grain="one row per breakdown (all, day, period, channel, category) × value",
    description="Funnel stages by users and events, bounce rate, conversion and time to "
    "purchase.",
    depends=("dwd_events", "dws_customer_day", "dws_shop_day"),
    sql=SQL,
    params=("as_of", "since"),
    columns=(
        Column("breakdown", "VARCHAR", not_null=True,
               accepted=("all", "day", "period", "channel", "category")),
        Column("value", "VARCHAR", "the date, period_id, channel or category", not_null=True),
        Column("visitors", "BIGINT", "users with any behaviour", not_null=True),
        Column("users_pv", "BIGINT", not_null=True),
        Column("users_fav", "BIGINT", not_null=True),
        Column("users_cart", "BIGINT", not_null=True),
        Column("users_fav_or_cart", "BIGINT", not_null=True),
        Column("users_buy", "BIGINT", not_null=True),
        Column("events_pv", "BIGINT", not_null=True),
        Column("events_fav", "BIGINT", not_null=True),
        Column("events_cart", "BIGINT", not_null=True),
        Column("events_buy", "BIGINT", not_null=True),
        Column("bounced", "BIGINT", "visitors whose only activity was one page view",
               not_null=True),
        Column("bounce_rate", "DOUBLE", "跳失率"),
        Column("pv_to_fav_or_cart", "DOUBLE", "users: fav or cart ÷ page view"),
        Column("fav_or_cart_to_buy", "DOUBLE", "users: buy ÷ fav or cart"),
        Column("conversion", "DOUBLE", "users who bought ÷ visitors"),
        Column("events_buy_per_pv", "DOUBLE", "buy events ÷ page views"),
        Column("median_hours_to_buy", "DOUBLE",
               "first page view of an item → first purchase of it"),
    ),
)
