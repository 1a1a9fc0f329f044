"""ads_funnel — the behaviour funnel (pv → fav / cart → buy), overall and broken down by
day, period, channel and category; by users and by events.

A user counts at a stage of a breakdown value when they did it there (a user who browses
two categories counts in both). 跳失率 is the share of visitors whose only activity in
that slice was one page view. Time to purchase is the median hours from a customer's
first page view of an item to their first purchase of it, for the items they bought.
"""

from custlens.warehouse.model import Column, Model

# count(CASE …) rather than count(*) FILTER: the same result, a quarter faster in DuckDB
STAGES = """count(*) AS visitors,
           count(CASE WHEN pv > 0 THEN 1 END) AS users_pv,
           count(CASE WHEN fav > 0 THEN 1 END) AS users_fav,
           count(CASE WHEN cart > 0 THEN 1 END) AS users_cart,
           count(CASE WHEN fav + cart > 0 THEN 1 END) AS users_fav_or_cart,
           count(CASE WHEN buy > 0 THEN 1 END) AS users_buy,
           CAST(coalesce(sum(pv), 0) AS BIGINT) AS events_pv,
           CAST(coalesce(sum(fav), 0) AS BIGINT) AS events_fav,
           CAST(coalesce(sum(cart), 0) AS BIGINT) AS events_cart,
           CAST(coalesce(sum(buy), 0) AS BIGINT) AS events_buy,
           count(CASE WHEN pv = 1 AND fav + cart + buy = 0 THEN 1 END) AS bounced"""

SUMS = """CAST(sum(count_pv) AS BIGINT) AS pv, CAST(sum(count_fav) AS BIGINT) AS fav,
           CAST(sum(count_cart) AS BIGINT) AS cart, CAST(sum(count_buy) AS BIGINT) AS buy"""

# each part reads its table itself: a CTE read by several parts is materialized whole
WINDOW = "dt < {as_of} AND ({since} IS NULL OR dt >= {since})"

# Each breakdown is aggregated on its own key (a date stays a date until the few result
# rows are labelled): one union of per-user rows keyed by text cost twice as much.
SQL = """
WITH user_day AS (
    SELECT user_id, dt, count_pv AS pv, count_fav AS fav, count_cart AS cart, count_buy AS buy
    FROM dws_customer_day
    WHERE WINDOW AND count_pv + count_fav + count_cart + count_buy > 0
),
by_period AS (
    SELECT p.period_id, p.user_id, p.count_pv AS pv, p.count_fav AS fav, p.count_cart AS cart,
           p.count_buy AS buy
    FROM dws_customer_period p
    WHERE {since} IS NULL
    UNION ALL
    SELECT s.period_id, u.user_id, sum(u.pv), sum(u.fav), sum(u.cart), sum(u.buy)
    FROM user_day u JOIN dws_shop_day s ON s.date = u.dt
    WHERE {since} IS NOT NULL
    GROUP BY s.period_id, u.user_id
),
by_all AS (
    SELECT user_id, sum(pv) AS pv, sum(fav) AS fav, sum(cart) AS cart, sum(buy) AS buy
    FROM by_period GROUP BY user_id
),
by_channel AS (
    SELECT coalesce(channel, '(none)') AS channel, user_id, SUMS
    FROM dws_customer_category_day WHERE WINDOW GROUP BY 1, user_id
),
by_category AS (
    SELECT coalesce(category_id, '(none)') AS category_id, user_id, SUMS
    FROM dws_customer_category_day WHERE WINDOW GROUP BY 1, user_id
),
funnel AS (
    SELECT 'all' AS breakdown, 'all' AS value, STAGES FROM by_all
    UNION ALL SELECT 'channel', channel, STAGES FROM by_channel GROUP BY channel
    UNION ALL SELECT 'category', category_id, STAGES FROM by_category GROUP BY category_id
    UNION ALL SELECT 'day', CAST(dt AS VARCHAR), STAGES FROM user_day GROUP BY dt
    UNION ALL SELECT 'period', period_id, STAGES FROM by_period GROUP BY period_id
),
bought AS (
    SELECT DISTINCT user_id, item_id FROM dwd_events
    WHERE WINDOW AND behavior = 'buy' AND item_id IS NOT NULL
),
pairs AS (
    SELECT e.user_id, e.item_id,
           min(e.ts) FILTER (WHERE e.behavior = 'pv') AS first_pv,
           min(e.ts) FILTER (WHERE e.behavior = 'buy') AS first_buy,
           min(e.dt) FILTER (WHERE e.behavior = 'buy') AS buy_dt,
           coalesce(min(e.channel), '(none)') AS channel,
           coalesce(min(e.category_id), '(none)') AS category_id
    FROM dwd_events e JOIN bought b ON b.user_id = e.user_id AND b.item_id = e.item_id
    WHERE e.WINDOW
    GROUP BY e.user_id, e.item_id
),
waits AS (
    SELECT p.*, s.period_id, CAST(date_diff('second', first_pv, first_buy) AS DOUBLE) / 3600 AS hours
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
""".replace("STAGES", STAGES).replace("SUMS", SUMS).replace("WINDOW", WINDOW)

MODEL = Model(
    name="ads_funnel",
    grain="one row per breakdown (all, day, period, channel, category) × value",
    description="Funnel stages by users and events, bounce rate, conversion and time to "
    "purchase.",
    depends=("dwd_events", "dws_customer_day", "dws_customer_period",
             "dws_customer_category_day", "dws_shop_day"),
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
