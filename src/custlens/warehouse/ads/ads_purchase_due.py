"""ads_purchase_due — per repeat buyer, when the next purchase is due by their own rhythm.

The rhythm is the median gap between the customer's purchase days (paid orders); due =
last purchase + that gap. Negative `days_until_due` means overdue: a reminder is late.
Customers with one purchase day have no rhythm and are not here.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH order_days AS (
    SELECT DISTINCT user_id, order_date AS dt FROM dwd_orders
    WHERE is_paid AND user_id IS NOT NULL AND order_date < {as_of}
      AND ({since} IS NULL OR order_date >= {since})
),
gaps AS (
    SELECT user_id, dt,
           date_diff('day', lag(dt) OVER (PARTITION BY user_id ORDER BY dt), dt) AS gap_days
    FROM order_days
),
rhythm AS (
    SELECT user_id, count(*) AS purchase_days, max(dt) AS last_purchase_date,
           CAST(round(median(gap_days)) AS INTEGER) AS median_gap_days
    FROM gaps GROUP BY user_id HAVING count(*) >= 2
)
SELECT user_id, purchase_days, last_purchase_date, median_gap_days,
       CAST(last_purchase_date + median_gap_days AS DATE) AS next_due_date,
       CAST(date_diff('day', {as_of}, CAST(last_purchase_date + median_gap_days AS DATE))
            AS BIGINT) AS days_until_due
FROM rhythm
"""

MODEL = Model(
    name="ads_purchase_due",
    grain="one row per customer with ≥ 2 purchase days before the analysis date",
    description="Each repeat buyer's rhythm and next purchase due date.",
    depends=("dwd_orders",),
    sql=SQL,
    params=("as_of", "since"),
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("purchase_days", "BIGINT", not_null=True),
        Column("last_purchase_date", "DATE", not_null=True),
        Column("median_gap_days", "INTEGER", "rounded to whole days", not_null=True),
        Column("next_due_date", "DATE", not_null=True),
        Column("days_until_due", "BIGINT", "from the analysis date; negative = overdue",
               not_null=True),
    ),
)
