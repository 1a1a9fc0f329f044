"""ads_period_kinds — per period kind, and per kind on workdays and weekends: the average
day, so campaigns, promo days and holidays can be set against ordinary days.

Weekends follow the official calendar (a make-up working day, 调休, is a workday). The
lift is against the daily days of the same day type over the whole span.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH days AS (
    SELECT *, CASE WHEN is_weekend THEN 'weekend' ELSE 'workday' END AS day_type
    FROM dws_shop_day WHERE in_span
),
grouped AS (
    SELECT kind, coalesce(day_type, 'all') AS day_type, count(*) AS days,
           CAST(sum(visitors) AS DOUBLE) / count(*) AS visitors_per_day,
           CAST(sum(buyers) AS DOUBLE) / count(*) AS buyers_per_day,
           CAST(sum(orders) AS DOUBLE) / count(*) AS orders_per_day,
           CAST(sum(CAST(gmv AS DECIMAL(38, 6))) AS DOUBLE) / count(*) AS gmv_per_day,
           CAST(sum(CAST(net_gmv AS DECIMAL(38, 6))) AS DOUBLE) / count(*) AS net_gmv_per_day,
           CAST(sum(buyers) AS DOUBLE) / nullif(sum(visitors), 0) AS conversion,
           CAST(sum(bounced) AS DOUBLE) / nullif(sum(visitors), 0) AS bounce_rate
    FROM days
    GROUP BY GROUPING SETS ((kind), (kind, day_type))
)
SELECT g.*,
       g.visitors_per_day / nullif(d.visitors_per_day, 0) AS visitors_lift,
       g.gmv_per_day / nullif(d.gmv_per_day, 0) AS gmv_lift
FROM grouped g
LEFT JOIN grouped d ON d.kind = 'daily' AND d.day_type = g.day_type
"""

MODEL = Model(
    name="ads_period_kinds",
    grain="one row per period kind × day type (all, workday, weekend)",
    description="The average day of each period kind, on workdays and weekends, with "
    "its lift over ordinary (daily) days.",
    depends=("dws_shop_day",),
    sql=SQL,
    columns=(
        Column("kind", "VARCHAR", not_null=True,
               accepted=("campaign", "promo_day", "holiday", "daily")),
        Column("day_type", "VARCHAR", not_null=True, accepted=("all", "workday", "weekend")),
        Column("days", "BIGINT", "days with data", not_null=True),
        Column("visitors_per_day", "DOUBLE", not_null=True),
        Column("buyers_per_day", "DOUBLE", not_null=True),
        Column("orders_per_day", "DOUBLE", not_null=True),
        Column("gmv_per_day", "DOUBLE", not_null=True),
        Column("net_gmv_per_day", "DOUBLE", not_null=True),
        Column("conversion", "DOUBLE", "buyers ÷ visitors, day by day summed"),
        Column("bounce_rate", "DOUBLE", "single-page-view visitors ÷ visitors, day by day"),
        Column("visitors_lift", "DOUBLE", "÷ daily days of the same day type"),
        Column("gmv_lift", "DOUBLE", "÷ daily days of the same day type"),
    ),
)
