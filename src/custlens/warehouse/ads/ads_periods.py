"""ads_periods — one row per period instance the data touches: a campaign phase, a promo
day, a holiday, or the daily days of a month.

Sums and distinct counts are over the instance's days inside the data's span. Campaigns
are compared per day (a peak is one day, a month of daily days thirty): the lift is GMV
per day against the daily days within `periods.baseline_days` either side; 同比 is the
same period a year before, 环比 the instance of the same kind and phase just before.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH days AS (
    SELECT * FROM dws_shop_day WHERE in_span
),
instances AS (
    SELECT period_id, any_value(kind) AS kind, any_value(period_key) AS period_key,
           any_value(period_name) AS period_name, any_value(period_name_en) AS period_name_en,
           any_value(phase) AS phase, any_value(year) AS year,
           min(date) AS start_date, max(date) AS end_date, count(*) AS days,
           CAST(sum(visitors) AS DOUBLE) / count(*) AS visitors_per_day,
           CAST(sum(CAST(gmv AS DECIMAL(38, 6))) AS DOUBLE) / count(*) AS gmv_per_day,
           CAST(sum(orders) AS DOUBLE) / count(*) AS orders_per_day
    FROM days GROUP BY period_id
),
lengths AS (
    SELECT period_id, count(*) AS calendar_days FROM dws_shop_day GROUP BY period_id
),
traffic AS (
    SELECT period_id, count(*) AS visitors,
           count(CASE WHEN count_pv = 1 AND count_fav + count_cart + count_buy = 0 THEN 1 END)
               AS bounced
    FROM dws_customer_period GROUP BY period_id
),
sales AS (
    SELECT d.period_id,
           count(*) FILTER (WHERE o.in_gmv) AS orders,
           count(DISTINCT o.user_id) FILTER (WHERE o.in_gmv) AS buyers,
           count(DISTINCT o.user_id) FILTER (WHERE o.is_first_order) AS new_buyers,
           CAST(coalesce(sum(CAST(o.amount AS DECIMAL(38, 6))) FILTER (WHERE o.in_gmv), 0)
                AS DOUBLE) AS gmv,
           count(*) FILTER (WHERE o.in_gmv AND o.status = 'refunded') AS refunded_orders,
           CAST(coalesce(sum(CAST(o.amount AS DECIMAL(38, 6)))
                         FILTER (WHERE o.in_gmv AND o.status = 'refunded'), 0)
                - coalesce(sum(CAST(o.amount AS DECIMAL(38, 6))) FILTER (WHERE o.amount < 0), 0)
                AS DOUBLE) AS refunds
    FROM dwd_orders o JOIN days d ON d.date = o.order_date
    GROUP BY d.period_id
),
baseline AS (
    SELECT i.period_id,
           CAST(sum(CAST(b.gmv AS DECIMAL(38, 6))) AS DOUBLE) / count(*) AS gmv_per_day,
           CAST(sum(b.visitors) AS DOUBLE) / count(*) AS visitors_per_day,
           count(*) AS days
    FROM instances i JOIN days b
      ON b.kind = 'daily'
     AND b.date BETWEEN i.start_date - INTERVAL {baseline_days} DAY
                    AND i.end_date + INTERVAL {baseline_days} DAY
    WHERE i.kind <> 'daily'
    GROUP BY i.period_id
),
joined AS (
    SELECT i.*, l.calendar_days, coalesce(t.visitors, 0) AS visitors,
           coalesce(t.bounced, 0) AS bounced,
           coalesce(s.buyers, 0) AS buyers, coalesce(s.new_buyers, 0) AS new_buyers,
           coalesce(s.orders, 0) AS orders, coalesce(s.gmv, 0) AS gmv,
           coalesce(s.refunded_orders, 0) AS refunded_orders, coalesce(s.refunds, 0) AS refunds,
           b.gmv_per_day AS baseline_gmv_per_day, b.visitors_per_day AS baseline_visitors_per_day,
           coalesce(b.days, 0) AS baseline_days
    FROM instances i
    JOIN lengths l USING (period_id)
    LEFT JOIN traffic t USING (period_id)
    LEFT JOIN sales s USING (period_id)
    LEFT JOIN baseline b USING (period_id)
),
compared AS (
    SELECT j.*,
           lag(j.gmv_per_day) OVER (PARTITION BY j.kind, j.phase ORDER BY j.start_date)
               AS previous_gmv_per_day,
           lag(j.period_id) OVER (PARTITION BY j.kind, j.phase ORDER BY j.start_date)
               AS previous_period_id,
           y.gmv_per_day AS last_year_gmv_per_day
    FROM joined j
    LEFT JOIN joined y
      ON y.kind = j.kind AND y.period_key = j.period_key
     AND coalesce(y.phase, '') = coalesce(j.phase, '') AND y.year = j.year - 1
)
SELECT period_id, kind, period_name, period_name_en, phase, year, start_date, end_date,
       days, calendar_days, days = calendar_days AS is_complete,
       visitors, buyers, new_buyers, buyers - new_buyers AS returning_buyers, orders,
       gmv, gmv - refunds AS net_gmv,
       gmv / nullif(buyers, 0) AS gmv_per_buyer,
       gmv / nullif(orders, 0) AS gmv_per_order,
       CAST(buyers AS DOUBLE) / nullif(visitors, 0) AS conversion,
       CAST(bounced AS DOUBLE) / nullif(visitors, 0) AS bounce_rate,
       CAST(refunded_orders AS DOUBLE) / nullif(orders, 0) AS refund_rate,
       visitors_per_day, orders_per_day, gmv_per_day,
       baseline_days, baseline_gmv_per_day,
       gmv_per_day / nullif(baseline_gmv_per_day, 0) AS gmv_lift,
       visitors_per_day / nullif(baseline_visitors_per_day, 0) AS visitors_lift,
       previous_period_id,
       gmv_per_day / nullif(previous_gmv_per_day, 0) - 1 AS gmv_per_day_mom,
       gmv_per_day / nullif(last_year_gmv_per_day, 0) - 1 AS gmv_per_day_yoy
FROM compared
"""

MODEL = Model(
    name="ads_periods",
    grain="one row per period instance (kind × year × name × phase) with data",
    description="Campaign, promo-day, holiday and daily periods: traffic, sales, conversion, "
    "refunds, lift over the daily baseline, 同比 and 环比.",
    depends=("dws_shop_day", "dws_customer_period", "dwd_orders"),
    sql=SQL,
    params=("periods",),
    columns=(
        Column("period_id", "VARCHAR", "kind:year:name:phase", not_null=True, unique=True),
        Column("kind", "VARCHAR", not_null=True,
               accepted=("campaign", "promo_day", "holiday", "daily")),
        Column("period_name", "VARCHAR", "双十一 …; YYYY-MM for a month's daily days",
               not_null=True),
        Column("period_name_en", "VARCHAR", not_null=True),
        Column("phase", "VARCHAR", "warmup or peak for campaigns"),
        Column("year", "INTEGER", not_null=True),
        Column("start_date", "DATE", "first day with data", not_null=True),
        Column("end_date", "DATE", "last day with data", not_null=True),
        Column("days", "BIGINT", "days with data", not_null=True),
        Column("calendar_days", "BIGINT", "days the period has in the calendar", not_null=True),
        Column("is_complete", "BOOLEAN", "the data covers every day of it", not_null=True),
        Column("visitors", "BIGINT", "distinct users with any behaviour", not_null=True),
        Column("buyers", "BIGINT", "distinct customers with an order in GMV", not_null=True),
        Column("new_buyers", "BIGINT", "whose first order it was", not_null=True),
        Column("returning_buyers", "BIGINT", not_null=True),
        Column("orders", "BIGINT", "orders in GMV", not_null=True),
        Column("gmv", "DOUBLE", "before refunds", not_null=True),
        Column("net_gmv", "DOUBLE", "after refunds and returns", not_null=True),
        Column("gmv_per_buyer", "DOUBLE", "客单价"),
        Column("gmv_per_order", "DOUBLE", "笔单价"),
        Column("conversion", "DOUBLE", "buyers ÷ visitors"),
        Column("bounce_rate", "DOUBLE", "跳失率: visitors with a single page view"),
        Column("refund_rate", "DOUBLE", "refunded orders ÷ orders"),
        Column("visitors_per_day", "DOUBLE", not_null=True),
        Column("orders_per_day", "DOUBLE", not_null=True),
        Column("gmv_per_day", "DOUBLE", not_null=True),
        Column("baseline_days", "BIGINT", "daily days around it that form the baseline",
               not_null=True),
        Column("baseline_gmv_per_day", "DOUBLE"),
        Column("gmv_lift", "DOUBLE", "GMV per day ÷ the baseline's"),
        Column("visitors_lift", "DOUBLE", "visitors per day ÷ the baseline's"),
        Column("previous_period_id", "VARCHAR", "the instance 环比 compares with"),
        Column("gmv_per_day_mom", "DOUBLE", "环比: GMV per day vs the previous instance − 1"),
        Column("gmv_per_day_yoy", "DOUBLE", "同比: GMV per day vs a year before − 1"),
    ),
)
