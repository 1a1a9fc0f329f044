"""ads_hourly — activity by day of week and local hour of day: when to send, when to staff.

Counts are of events, not distinct users: a distinct count per cell would cost as much
as the rest of the analyses together at scale, and the pattern is the same.
Every weekday × hour cell is present (zeros included); per-day figures divide by the
number of such weekdays in the data's span, so a span with more Saturdays does not
make Saturday look busier.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH span_days AS (
    SELECT weekday, count(*) AS days FROM dws_shop_day
    WHERE in_span AND ({since} IS NULL OR date >= {since})
    GROUP BY weekday
),
cells AS (
    SELECT w.weekday, h.hour
    FROM span_days w CROSS JOIN (SELECT CAST(hour AS BIGINT) AS hour FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16), (17), (18), (19), (20), (21), (22), (23)) AS hours(hour)) h
),
counts AS (
    SELECT CAST(isodow(dt) AS BIGINT) AS weekday, hour,
           CAST(sum(events) AS BIGINT) AS events, CAST(sum(events_pv) AS BIGINT) AS events_pv,
           CAST(sum(events_fav) AS BIGINT) AS events_fav,
           CAST(sum(events_cart) AS BIGINT) AS events_cart,
           CAST(sum(events_buy) AS BIGINT) AS events_buy
    FROM dws_shop_hour
    WHERE dt < {as_of} AND ({since} IS NULL OR dt >= {since})
    GROUP BY 1, hour
)
SELECT c.weekday, c.hour, d.days,
       coalesce(n.events, 0) AS events, coalesce(n.events_pv, 0) AS events_pv,
       coalesce(n.events_fav, 0) AS events_fav, coalesce(n.events_cart, 0) AS events_cart,
       coalesce(n.events_buy, 0) AS events_buy,
       CAST(coalesce(n.events, 0) AS DOUBLE) / d.days AS events_per_day,
       CAST(coalesce(n.events_buy, 0) AS DOUBLE) / d.days AS buys_per_day
FROM cells c JOIN span_days d ON d.weekday = c.weekday
LEFT JOIN counts n ON n.weekday = c.weekday AND n.hour = c.hour
"""

MODEL = Model(
    name="ads_hourly",
    grain="one row per day of week (1 = Monday) × local hour (0–23)",
    description="Events by weekday and local hour, per day of that weekday.",
    depends=("dws_shop_hour", "dws_shop_day"),
    sql=SQL,
    params=("as_of", "since"),
    columns=(
        Column("weekday", "BIGINT", "1 = Monday … 7 = Sunday", not_null=True),
        Column("hour", "BIGINT", "local hour", not_null=True),
        Column("days", "BIGINT", "days of this weekday in the span", not_null=True),
        Column("events", "BIGINT", not_null=True),
        Column("events_pv", "BIGINT", not_null=True),
        Column("events_fav", "BIGINT", not_null=True),
        Column("events_cart", "BIGINT", not_null=True),
        Column("events_buy", "BIGINT", not_null=True),
        Column("events_per_day", "DOUBLE", not_null=True),
        Column("buys_per_day", "DOUBLE", not_null=True),
    ),
)
