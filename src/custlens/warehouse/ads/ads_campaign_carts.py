"""ads_campaign_carts — per campaign: what was put in carts before its peak day, and how
much of it was bought on the peak day.

The classic pattern of 双十一: add to cart during the warm-up (预热), pay at the peak
(爆发). Carts count from `periods.cart_window_days` before the peak to the day before it;
a carted item is bought when the same customer buys the same item on the peak day.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH peaks AS (
    SELECT period_name, period_name_en, year, date AS peak_date
    FROM dws_shop_day
    WHERE kind = 'campaign' AND phase = 'peak' AND in_span
),
carts AS (
    SELECT DISTINCT p.period_name, p.year, e.user_id, e.item_id
    FROM dwd_events e
    JOIN peaks p ON e.dt >= p.peak_date - INTERVAL {cart_window_days} DAY AND e.dt < p.peak_date
    WHERE e.behavior = 'cart' AND e.item_id IS NOT NULL
),
matched AS (
    SELECT c.period_name, c.year, c.user_id, c.item_id, b.user_id IS NOT NULL AS bought
    FROM carts c
    JOIN peaks p ON p.period_name = c.period_name AND p.year = c.year
    LEFT JOIN dws_customer_item_day b
      ON b.user_id = c.user_id AND b.item_id = c.item_id AND b.dt = p.peak_date
),
peak_buyers AS (
    SELECT p.period_name, p.year, count(DISTINCT b.user_id) AS peak_buyers
    FROM peaks p JOIN dws_customer_item_day b ON b.dt = p.peak_date
    GROUP BY p.period_name, p.year
),
summary AS (
    SELECT period_name, year, count(DISTINCT user_id) AS carters,
           count(*) AS carted_items, count(*) FILTER (WHERE bought) AS carted_items_bought,
           count(DISTINCT user_id) FILTER (WHERE bought) AS carters_who_bought
    FROM matched GROUP BY period_name, year
)
SELECT p.period_name, p.period_name_en, p.year, p.peak_date,
       coalesce(s.carters, 0) AS carters, coalesce(s.carted_items, 0) AS carted_items,
       coalesce(s.carted_items_bought, 0) AS carted_items_bought,
       coalesce(s.carters_who_bought, 0) AS carters_who_bought,
       CAST(s.carted_items_bought AS DOUBLE) / nullif(s.carted_items, 0) AS carted_item_conversion,
       CAST(s.carters_who_bought AS DOUBLE) / nullif(s.carters, 0) AS carter_conversion,
       coalesce(b.peak_buyers, 0) AS peak_buyers,
       CAST(s.carters_who_bought AS DOUBLE) / nullif(b.peak_buyers, 0) AS share_of_peak_buyers
FROM peaks p
LEFT JOIN summary s ON s.period_name = p.period_name AND s.year = p.year
LEFT JOIN peak_buyers b ON b.period_name = p.period_name AND b.year = p.year
"""

MODEL = Model(
    name="ads_campaign_carts",
    grain="one row per campaign peak day in the data",
    description="Carts added before a campaign's peak and bought at the peak.",
    depends=("dws_shop_day", "dwd_events", "dws_customer_item_day"),
    sql=SQL,
    params=("periods",),
    columns=(
        Column("period_name", "VARCHAR", not_null=True),
        Column("period_name_en", "VARCHAR", not_null=True),
        Column("year", "INTEGER", not_null=True),
        Column("peak_date", "DATE", not_null=True, unique=True),
        Column("carters", "BIGINT", "customers who carted in the window", not_null=True),
        Column("carted_items", "BIGINT", "distinct customer × item carted", not_null=True),
        Column("carted_items_bought", "BIGINT", "of those, bought on the peak day",
               not_null=True),
        Column("carters_who_bought", "BIGINT", not_null=True),
        Column("carted_item_conversion", "DOUBLE"),
        Column("carter_conversion", "DOUBLE"),
        Column("peak_buyers", "BIGINT", "customers who bought any item on the peak day",
               not_null=True),
        Column("share_of_peak_buyers", "DOUBLE", "peak buyers who had carted beforehand"),
    ),
)
