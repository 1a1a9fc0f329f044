"""dws_customer_category_day — each customer's behaviour per local date, category and channel.

The funnel's category and channel breakdowns count distinct customers over the whole
window, so they need customer-level rows; these are about a third as many as the events
(a customer browses a few categories a day, mostly through one channel), and a day's rows
come from that day's events only, so a daily build computes the new day and links the
rest instead of regrouping every event of history.
"""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT user_id, dt, category_id, channel,
       count(CASE WHEN behavior = 'pv' THEN 1 END) AS count_pv,
       count(CASE WHEN behavior = 'fav' THEN 1 END) AS count_fav,
       count(CASE WHEN behavior = 'cart' THEN 1 END) AS count_cart,
       count(CASE WHEN behavior = 'buy' THEN 1 END) AS count_buy
FROM dwd_events
GROUP BY user_id, dt, category_id, channel
"""

MODEL = Model(
    name="dws_customer_category_day",
    grain="one row per customer × local date × category × channel with behaviour",
    description="Behaviour counts per customer, day, category and channel (NULL: none "
    "recorded); the base of the funnel's category and channel breakdowns.",
    depends=("dwd_events",),
    sql=SQL,
    partition_by="dt",
    incremental=(("dwd_events", "dt"),),
    columns=(
        Column("user_id", "VARCHAR", not_null=True),
        Column("dt", "DATE", not_null=True),
        Column("category_id", "VARCHAR"),
        Column("channel", "VARCHAR"),
        Column("count_pv", "BIGINT", not_null=True),
        Column("count_fav", "BIGINT", not_null=True),
        Column("count_cart", "BIGINT", not_null=True),
        Column("count_buy", "BIGINT", not_null=True),
    ),
)
