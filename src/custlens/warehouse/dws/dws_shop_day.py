"""dws_shop_day — one row per calendar date: its period, traffic and sales.

Every date of the calendar's years is here, with `in_span` marking the dates the data
covers (first event or order up to the day before the analysis date), so a day with no
traffic counts as a day with zeros, and a period's coverage can be told from its length.
A date's period instance (`period_id`) is its calendar kind and name in its year; daily
dates are grouped by month, so that campaigns compare against the month around them.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH span AS (
    SELECT least((SELECT min(dt) FROM dwd_events), (SELECT min(order_date) FROM dwd_orders))
           AS first_date
),
days AS (
    SELECT c.date, c.kind, c.phase, c.weekday, c.is_weekend, c.holiday_known,
           CAST(year(c.date) AS INTEGER) AS year,
           CASE WHEN c.kind = 'daily' THEN lpad(CAST(month(c.date) AS VARCHAR), 2, '0')
                ELSE c.period_name END AS period_key,
           CASE WHEN c.kind = 'daily'
                THEN CAST(year(c.date) AS VARCHAR) || '-' || lpad(CAST(month(c.date) AS VARCHAR), 2, '0')
                ELSE c.period_name END AS period_name,
           CASE WHEN c.kind = 'daily'
                THEN CAST(year(c.date) AS VARCHAR) || '-' || lpad(CAST(month(c.date) AS VARCHAR), 2, '0')
                ELSE c.period_name_en END AS period_name_en,
           (c.date >= s.first_date AND c.date < {as_of}) AS in_span
    FROM dim_calendar c CROSS JOIN span s
),
visits AS (
    SELECT dt, count(*) AS visitors,
           count(*) FILTER (WHERE count_pv = 1 AND count_fav + count_cart + count_buy = 0) AS bounced,
           CAST(sum(count_pv) AS BIGINT) AS events_pv,
           count(*) FILTER (WHERE count_fav + count_cart > 0) AS users_fav_or_cart
    FROM dws_customer_day
    WHERE count_pv + count_fav + count_cart + count_buy > 0
    GROUP BY dt
),
sales AS (
    SELECT order_date AS dt,
           count(*) FILTER (WHERE in_gmv) AS orders,
           count(DISTINCT user_id) FILTER (WHERE in_gmv) AS buyers,
           count(DISTINCT user_id) FILTER (WHERE is_first_order) AS new_buyers,
           CAST(coalesce(sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE in_gmv), 0) AS DOUBLE) AS gmv,
           count(*) FILTER (WHERE in_gmv AND status = 'refunded') AS refunded_orders,
           CAST(coalesce(sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE in_gmv AND status = 'refunded'), 0)
                AS DOUBLE) AS refunded_amount,
           CAST(coalesce(-sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE amount < 0), 0) AS DOUBLE)
               AS returned_amount
    FROM dwd_orders
    GROUP BY order_date
)
SELECT d.date, d.kind, d.phase, d.year, d.period_key, d.period_name, d.period_name_en,
       d.kind || ':' || CAST(d.year AS VARCHAR) || ':' || d.period_key || ':' || coalesce(d.phase, '')
           AS period_id,
       d.weekday, d.is_weekend, d.holiday_known, d.in_span,
       coalesce(v.visitors, 0) AS visitors, coalesce(v.bounced, 0) AS bounced,
       coalesce(v.events_pv, 0) AS events_pv, coalesce(v.users_fav_or_cart, 0) AS users_fav_or_cart,
       coalesce(s.buyers, 0) AS buyers, coalesce(s.new_buyers, 0) AS new_buyers,
       coalesce(s.orders, 0) AS orders, coalesce(s.gmv, 0) AS gmv,
       coalesce(s.refunded_orders, 0) AS refunded_orders,
       coalesce(s.refunded_amount, 0) AS refunded_amount,
       coalesce(s.returned_amount, 0) AS returned_amount,
       coalesce(s.gmv, 0) - coalesce(s.refunded_amount, 0) - coalesce(s.returned_amount, 0) AS net_gmv
FROM days d
LEFT JOIN visits v ON v.dt = d.date AND d.in_span
LEFT JOIN sales s ON s.dt = d.date AND d.in_span
"""

MODEL = Model(
    name="dws_shop_day",
    grain="one row per calendar date (whole years; in_span marks the data's dates)",
    description="The shop's day: period instance, visitors, buyers, orders, GMV, refunds.",
    depends=("dim_calendar", "dws_customer_day", "dwd_orders", "dwd_events"),
    sql=SQL,
    params=("as_of",),
    columns=(
        Column("date", "DATE", not_null=True, unique=True),
        Column("kind", "VARCHAR", not_null=True),
        Column("phase", "VARCHAR"),
        Column("year", "INTEGER", not_null=True),
        Column("period_key", "VARCHAR", "the period's name; the month (MM) for daily dates",
               not_null=True),
        Column("period_name", "VARCHAR", not_null=True),
        Column("period_name_en", "VARCHAR", not_null=True),
        Column("period_id", "VARCHAR", "kind:year:key:phase — one period instance", not_null=True),
        Column("weekday", "BIGINT", not_null=True),
        Column("is_weekend", "BOOLEAN", not_null=True),
        Column("holiday_known", "BOOLEAN", not_null=True),
        Column("in_span", "BOOLEAN", "from the first data up to the day before as-of",
               not_null=True),
        Column("visitors", "BIGINT", "users with any behaviour event", not_null=True),
        Column("bounced", "BIGINT", "visitors whose only event was one page view", not_null=True),
        Column("events_pv", "BIGINT", not_null=True),
        Column("users_fav_or_cart", "BIGINT", not_null=True),
        Column("buyers", "BIGINT", "customers with an order in GMV", not_null=True),
        Column("new_buyers", "BIGINT", "buyers whose first order it was", not_null=True),
        Column("orders", "BIGINT", "orders in GMV", not_null=True),
        Column("gmv", "DOUBLE", "paid order amount before refunds", not_null=True),
        Column("refunded_orders", "BIGINT", not_null=True),
        Column("refunded_amount", "DOUBLE", not_null=True),
        Column("returned_amount", "DOUBLE", "negative order rows, as a positive amount",
               not_null=True),
        Column("net_gmv", "DOUBLE", "gmv − refunded − returned", not_null=True),
    ),
)
