"""dws_customer — one row per customer seen in events or orders (all history)."""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT user_id,
       min(dt) AS first_active_date, max(dt) AS last_active_date,
       CAST(sum(count_pv) AS BIGINT) AS count_pv, CAST(sum(count_fav) AS BIGINT) AS count_fav,
       CAST(sum(count_cart) AS BIGINT) AS count_cart, CAST(sum(count_buy) AS BIGINT) AS count_buy,
       CAST(sum(count_orders) AS BIGINT) AS count_orders,
       min(dt) FILTER (WHERE count_orders > 0) AS first_order_date,
       max(dt) FILTER (WHERE count_orders > 0) AS last_order_date,
       CAST(sum(CAST(amount_paid AS DECIMAL(38, 6))) AS DOUBLE) AS amount_paid,
       CAST(sum(CAST(amount_returned AS DECIMAL(38, 6))) AS DOUBLE) AS amount_returned,
       CAST(greatest(sum(CAST(amount_paid AS DECIMAL(38, 6)))
                     - sum(CAST(amount_returned AS DECIMAL(38, 6))), 0) AS DOUBLE) AS amount_net,
       count(*) AS count_active_days
FROM dws_customer_day
GROUP BY user_id
"""

MODEL = Model(
    name="dws_customer",
    grain="one row per customer",
    description="Lifetime behaviour and purchase totals per customer.",
    depends=("dws_customer_day",),
    sql=SQL,
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("first_active_date", "DATE", not_null=True),
        Column("last_active_date", "DATE", not_null=True),
        Column("count_pv", "BIGINT", not_null=True),
        Column("count_fav", "BIGINT", not_null=True),
        Column("count_cart", "BIGINT", not_null=True),
        Column("count_buy", "BIGINT", not_null=True),
        Column("count_orders", "BIGINT", not_null=True),
        Column("first_order_date", "DATE"),
        Column("last_order_date", "DATE"),
        Column("amount_paid", "DOUBLE", not_null=True),
        Column("amount_returned", "DOUBLE", not_null=True),
        Column("amount_net", "DOUBLE", "paid − returned, clipped at 0", not_null=True),
        Column("count_active_days", "BIGINT", not_null=True),
    ),
)
