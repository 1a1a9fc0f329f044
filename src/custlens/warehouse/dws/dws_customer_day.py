"""dws_customer_day — one row per customer per local date with any activity.

A day's rows come from that day's events and orders only, so the table is incremental by
`dt`: a daily build computes the new day (and any day that received late rows) and links
the rest."""

from custlens.warehouse.model import Column, Model

SQL = """
WITH behaviour AS (
    SELECT user_id, dt,
           count(*) FILTER (WHERE behavior = 'pv') AS count_pv,
           count(*) FILTER (WHERE behavior = 'fav') AS count_fav,
           count(*) FILTER (WHERE behavior = 'cart') AS count_cart,
           count(*) FILTER (WHERE behavior = 'buy') AS count_buy
    FROM dwd_events
    GROUP BY user_id, dt
),
purchases AS (
    SELECT user_id, order_date AS dt,
           count(*) FILTER (WHERE is_paid) AS count_orders,
           count(*) FILTER (WHERE NOT is_paid AND amount >= 0) AS count_unpaid_orders,
           CAST(coalesce(sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE is_paid), 0) AS DOUBLE)
               AS amount_paid,
           CAST(coalesce(-sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE amount < 0), 0) AS DOUBLE)
               AS amount_returned
    FROM dwd_orders
    WHERE user_id IS NOT NULL
    GROUP BY user_id, order_date
)
SELECT coalesce(b.user_id, p.user_id) AS user_id, coalesce(b.dt, p.dt) AS dt,
       coalesce(count_pv, 0) AS count_pv, coalesce(count_fav, 0) AS count_fav,
       coalesce(count_cart, 0) AS count_cart, coalesce(count_buy, 0) AS count_buy,
       coalesce(count_orders, 0) AS count_orders,
       coalesce(count_unpaid_orders, 0) AS count_unpaid_orders,
       coalesce(amount_paid, 0) AS amount_paid,
       coalesce(amount_returned, 0) AS amount_returned
FROM behaviour b FULL JOIN purchases p ON b.user_id = p.user_id AND b.dt = p.dt
"""

MODEL = Model(
    name="dws_customer_day",
    grain="one row per customer per local date",
    description="Behaviour counts and paid orders per customer and day; the base of "
    "every as-of summary.",
    depends=("dwd_events", "dwd_orders"),
    sql=SQL,
    partition_by="dt",
    incremental=(("dwd_events", "dt"), ("dwd_orders", "order_date")),
    columns=(
        Column("user_id", "VARCHAR", not_null=True),
        Column("dt", "DATE", not_null=True),
        Column("count_pv", "BIGINT", not_null=True),
        Column("count_fav", "BIGINT", not_null=True),
        Column("count_cart", "BIGINT", not_null=True),
        Column("count_buy", "BIGINT", not_null=True),
        Column("count_orders", "BIGINT", "paid orders (any amount ≥ 0)", not_null=True),
        Column("count_unpaid_orders", "BIGINT", "orders placed but cancelled, refunded or "
               "not paid", not_null=True),
        Column("amount_paid", "DOUBLE", "gross paid amount", not_null=True),
        Column("amount_returned", "DOUBLE", "returns (negative rows), as a positive amount",
               not_null=True),
    ),
)
