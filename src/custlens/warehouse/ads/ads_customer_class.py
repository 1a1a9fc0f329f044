"""ads_customer_class — one row per customer active before the analysis date.

Exactly one class, first match wins: core, low_repurchase (buyers, from ads_rfm),
intent (favourited or carted, never bought; or placed orders, none of them paid — a
customer whose orders were all cancelled or refunded showed intent), browser (page views
only, no order).
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH activity AS (
    SELECT user_id,
           CAST(sum(count_pv) AS BIGINT) AS count_pv, CAST(sum(count_fav) AS BIGINT) AS count_fav,
           CAST(sum(count_cart) AS BIGINT) AS count_cart, CAST(sum(count_buy) AS BIGINT) AS count_buy,
           CAST(sum(count_unpaid_orders) AS BIGINT) AS count_unpaid_orders,
           max(dt) AS last_active_date
    FROM dws_customer_day
    WHERE dt < {as_of} AND ({since} IS NULL OR dt >= {since})
    GROUP BY user_id
)
SELECT a.user_id,
       CASE WHEN r.user_id IS NOT NULL THEN r.class
            WHEN a.count_fav + a.count_cart + a.count_unpaid_orders > 0 THEN 'intent'
            ELSE 'browser' END AS class,
       r.user_id IS NOT NULL AS is_buyer,
       coalesce(r.is_lapsed, date_diff('day', a.last_active_date, {as_of}) > {lapse_days}) AS is_lapsed,
       coalesce(r.is_campaign_only, false) AS is_campaign_only,
       r.segment, r.segment_en,
       a.count_pv, a.count_fav, a.count_cart, a.count_buy, a.last_active_date,
       {as_of} AS as_of_date
FROM activity a LEFT JOIN ads_rfm r ON r.user_id = a.user_id
"""

MODEL = Model(
    name="ads_customer_class",
    grain="one row per customer with activity before the analysis date",
    description="Operational class and flags for every customer, buyers or not.",
    depends=("dws_customer_day", "ads_rfm"),
    sql=SQL,
    params=("as_of", "since", "classes"),
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("class", "VARCHAR", not_null=True,
               accepted=("core", "low_repurchase", "intent", "browser")),
        Column("is_buyer", "BOOLEAN", not_null=True),
        Column("is_lapsed", "BOOLEAN", "no order (buyers) or no activity (others) for "
               "more than classes.lapse_days", not_null=True),
        Column("is_campaign_only", "BOOLEAN", not_null=True),
        Column("segment", "VARCHAR", "buyers only"),
        Column("segment_en", "VARCHAR"),
        Column("count_pv", "BIGINT", not_null=True),
        Column("count_fav", "BIGINT", not_null=True),
        Column("count_cart", "BIGINT", not_null=True),
        Column("count_buy", "BIGINT", not_null=True),
        Column("last_active_date", "DATE", not_null=True),
        Column("as_of_date", "DATE", not_null=True),
    ),
)
