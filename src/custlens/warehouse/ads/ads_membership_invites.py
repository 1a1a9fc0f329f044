"""ads_membership_invites — whom to invite to a membership programme: the buyers of the
membership candidates (ads_repurchase), repeat buyers first.

One row per customer and candidate item or category, with their class and segment so an
operator can word the invitation.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH candidates AS (
    SELECT level, key, repurchase_rate, median_gap_days
    FROM ads_repurchase WHERE is_membership_candidate
),
bought AS (
    SELECT 'item' AS level, item_id AS key, user_id, dt, orders FROM dws_customer_item_day
    WHERE dt < {as_of} AND ({since} IS NULL OR dt >= {since})
    UNION ALL
    SELECT 'category', category_id, user_id, dt, orders FROM dws_customer_item_day
    WHERE dt < {as_of} AND ({since} IS NULL OR dt >= {since}) AND category_id IS NOT NULL
),
per_user AS (
    SELECT b.level, b.key, b.user_id, CAST(sum(b.orders) AS BIGINT) AS orders,
           max(b.dt) AS last_purchase_date
    FROM bought b JOIN candidates c ON c.level = b.level AND c.key = b.key
    GROUP BY b.level, b.key, b.user_id
)
SELECT p.level, p.key, p.user_id, p.orders, p.last_purchase_date,
       p.orders >= 2 AS is_repeat_buyer,
       c.class, c.segment, c.segment_en
FROM per_user p LEFT JOIN ads_customer_class c ON c.user_id = p.user_id
"""

MODEL = Model(
    name="ads_membership_invites",
    grain="one row per customer × membership-candidate item or category they bought",
    description="Customers to invite to a membership programme.",
    depends=("ads_repurchase", "dws_customer_item_day", "ads_customer_class"),
    sql=SQL,
    params=("as_of", "since"),
    columns=(
        Column("level", "VARCHAR", not_null=True, accepted=("item", "category")),
        Column("key", "VARCHAR", not_null=True),
        Column("user_id", "VARCHAR", not_null=True),
        Column("orders", "BIGINT", "paid orders holding it", not_null=True),
        Column("last_purchase_date", "DATE", not_null=True),
        Column("is_repeat_buyer", "BOOLEAN", not_null=True),
        Column("class", "VARCHAR"),
        Column("segment", "VARCHAR"),
        Column("segment_en", "VARCHAR"),
    ),
)
