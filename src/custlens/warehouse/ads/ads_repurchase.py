"""ads_repurchase — per item and per category: who comes back for it, and how soon.

复购率 (DESIGN.md) = buyers with ≥ 2 paid orders holding it ÷ its buyers. The median gap
is over consecutive purchase days of the same customer. `returning_share` is the share
of its buyers who ordered anything again later (did the product bring them back?).
A membership candidate has enough buyers (`repurchase.min_buyers`), a high rate
(`min_rate`) and a short rhythm (`max_median_gap_days`); the item master's daily-use
flag is shown beside it, but the data decides, so shops without one get candidates too.
`rate_rank` ranks the keys with at least `min_buyers` buyers first: a rate over two
buyers is noise, not a finding.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH bought AS (
    SELECT user_id, item_id, category_id, dt, orders
    FROM dws_customer_item_day
    WHERE dt < {as_of} AND ({since} IS NULL OR dt >= {since})
),
keyed AS (
    SELECT 'item' AS level, item_id AS key, user_id, dt, orders FROM bought
    UNION ALL
    SELECT 'category', category_id, user_id, dt, orders FROM bought WHERE category_id IS NOT NULL
),
user_days AS (
    SELECT level, key, user_id, dt, sum(orders) AS orders
    FROM keyed GROUP BY level, key, user_id, dt
),
gaps AS (
    SELECT level, key, user_id, dt, orders,
           date_diff('day', lag(dt) OVER (PARTITION BY level, key, user_id ORDER BY dt), dt)
               AS gap_days
    FROM user_days
),
last_order AS (
    SELECT user_id, max(dt) AS last_dt FROM bought GROUP BY user_id
),
per_user AS (
    SELECT g.level, g.key, g.user_id, sum(g.orders) AS orders, min(g.dt) AS first_dt,
           any_value(l.last_dt) AS last_any_dt
    FROM gaps g JOIN last_order l ON l.user_id = g.user_id
    GROUP BY g.level, g.key, g.user_id
),
per_key AS (
    SELECT level, key, count(*) AS buyers,
           count(*) FILTER (WHERE orders >= 2) AS repeat_buyers,
           count(*) FILTER (WHERE last_any_dt > first_dt) AS returning_buyers,
           CAST(sum(orders) AS BIGINT) AS orders
    FROM per_user GROUP BY level, key
),
rhythm AS (
    SELECT level, key, median(gap_days) AS median_gap_days
    FROM gaps WHERE gap_days IS NOT NULL GROUP BY level, key
),
daily_use AS (
    SELECT 'item' AS level, item_id AS key, is_daily_use FROM dwd_items
    UNION ALL
    SELECT 'category', category_id, bool_or(is_daily_use) FROM dwd_items
    WHERE category_id IS NOT NULL GROUP BY category_id
),
measured AS (
    SELECT p.level, p.key, p.buyers, p.repeat_buyers, p.orders,
           CAST(p.repeat_buyers AS DOUBLE) / p.buyers AS repurchase_rate,
           CAST(r.median_gap_days AS DOUBLE) AS median_gap_days,
           CAST(p.returning_buyers AS DOUBLE) / p.buyers AS returning_share,
           coalesce(d.is_daily_use, false) AS is_daily_use
    FROM per_key p
    LEFT JOIN rhythm r ON r.level = p.level AND r.key = p.key
    LEFT JOIN daily_use d ON d.level = p.level AND d.key = p.key
)
SELECT *,
       buyers >= {min_buyers} AND repurchase_rate >= {min_rate}
           AND coalesce(median_gap_days <= {max_gap_days}, false) AS is_membership_candidate,
       CAST(rank() OVER (PARTITION BY level
                         ORDER BY buyers >= {min_buyers} DESC, repurchase_rate DESC, buyers DESC)
            AS BIGINT) AS rate_rank
FROM measured
"""

MODEL = Model(
    name="ads_repurchase",
    grain="one row per level (item, category) × key with a purchase",
    description="Repurchase rate, rhythm and returning share per item and category; "
    "membership candidates.",
    depends=("dws_customer_item_day", "dwd_items"),
    sql=SQL,
    params=("as_of", "since", "repurchase"),
    columns=(
        Column("level", "VARCHAR", not_null=True, accepted=("item", "category")),
        Column("key", "VARCHAR", "item_id or category_id", not_null=True),
        Column("buyers", "BIGINT", not_null=True),
        Column("repeat_buyers", "BIGINT", "bought it in ≥ 2 paid orders", not_null=True),
        Column("orders", "BIGINT", "paid orders holding it", not_null=True),
        Column("repurchase_rate", "DOUBLE", "复购率: repeat buyers ÷ buyers", not_null=True),
        Column("median_gap_days", "DOUBLE", "between a customer's purchase days of it"),
        Column("returning_share", "DOUBLE", "buyers who bought anything on a later day",
               not_null=True),
        Column("is_daily_use", "BOOLEAN", "flagged daily-use in the item master",
               not_null=True),
        Column("is_membership_candidate", "BOOLEAN", not_null=True),
        Column("rate_rank", "BIGINT", "1 = highest rate at its level (≥ min_buyers first)",
               not_null=True),
    ),
)
