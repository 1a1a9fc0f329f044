"""dws_customer_period — each customer's behaviour within each period instance.

The per-period distinct counts (visitors, bounces, funnel stages) of ads_periods and
ads_funnel both read it, so a visitor and a bounce mean the same in both, and the
regrouping of customer-days into periods is done once.
"""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT s.period_id, c.user_id,
       CAST(sum(c.count_pv) AS BIGINT) AS count_pv, CAST(sum(c.count_fav) AS BIGINT) AS count_fav,
       CAST(sum(c.count_cart) AS BIGINT) AS count_cart, CAST(sum(c.count_buy) AS BIGINT) AS count_buy
FROM dws_customer_day c JOIN dws_shop_day s ON s.date = c.dt
WHERE s.in_span AND c.count_pv + c.count_fav + c.count_cart + c.count_buy > 0
GROUP BY s.period_id, c.user_id
"""

MODEL = Model(
    name="dws_customer_period",
    grain="one row per period instance × customer with behaviour in it",
    description="Behaviour counts per customer within each period instance.",
    depends=("dws_customer_day", "dws_shop_day"),
    sql=SQL,
    columns=(
        Column("period_id", "VARCHAR", not_null=True),
        Column("user_id", "VARCHAR", not_null=True),
        Column("count_pv", "BIGINT", not_null=True),
        Column("count_fav", "BIGINT", not_null=True),
        Column("count_cart", "BIGINT", not_null=True),
        Column("count_buy", "BIGINT", not_null=True),
    ),
)
