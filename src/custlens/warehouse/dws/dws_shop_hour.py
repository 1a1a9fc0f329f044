"""dws_shop_hour — events per local date and local hour, by behaviour.

ads_hourly regroups these by weekday; a day's 24 rows come from that day's events only,
so a daily build counts the new day and links the rest.
"""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT dt, CAST(hour(timezone({tz}, ts)) AS BIGINT) AS hour, count(*) AS events,
       count(CASE WHEN behavior = 'pv' THEN 1 END) AS events_pv,
       count(CASE WHEN behavior = 'fav' THEN 1 END) AS events_fav,
       count(CASE WHEN behavior = 'cart' THEN 1 END) AS events_cart,
       count(CASE WHEN behavior = 'buy' THEN 1 END) AS events_buy
FROM dwd_events
GROUP BY dt, hour
"""

MODEL = Model(
    name="dws_shop_hour",
    grain="one row per local date × local hour with events",
    description="Events by behaviour per local date and hour.",
    depends=("dwd_events",),
    sql=SQL,
    params=("tz",),
    partition_by="dt",
    incremental=(("dwd_events", "dt"),),
    columns=(
        Column("dt", "DATE", not_null=True),
        Column("hour", "BIGINT", "local hour 0–23", not_null=True),
        Column("events", "BIGINT", not_null=True),
        Column("events_pv", "BIGINT", not_null=True),
        Column("events_fav", "BIGINT", not_null=True),
        Column("events_cart", "BIGINT", not_null=True),
        Column("events_buy", "BIGINT", not_null=True),
    ),
)
