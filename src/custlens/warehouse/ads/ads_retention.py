"""ads_retention — cohorts of first purchase × months (or weeks) since: who buys again.

A cohort is the customers whose first order in GMV fell in a month (a week, Monday
first); period 0 is that month itself, so its rate is 1. A cell is partial when its
period runs past the day before the analysis date: its rate will still grow.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH buys AS (
    SELECT user_id, order_date, is_first_order FROM dwd_orders
    WHERE in_gmv AND user_id IS NOT NULL AND order_date < {as_of}
),
units AS (
    SELECT 'month' AS unit UNION ALL SELECT 'week'
),
firsts AS (
    SELECT u.unit, b.user_id,
           CAST(CASE u.unit WHEN 'month' THEN date_trunc('month', b.order_date)
                            ELSE date_trunc('week', b.order_date) END AS DATE) AS cohort
    FROM buys b CROSS JOIN units u WHERE b.is_first_order
),
active AS (
    SELECT DISTINCT u.unit, b.user_id,
           CAST(CASE u.unit WHEN 'month' THEN date_trunc('month', b.order_date)
                            ELSE date_trunc('week', b.order_date) END AS DATE) AS period_start
    FROM buys b CROSS JOIN units u
),
cells AS (
    SELECT f.unit, f.cohort,
           CAST(CASE f.unit WHEN 'month' THEN date_diff('month', f.cohort, a.period_start)
                            ELSE date_diff('week', f.cohort, a.period_start) END AS BIGINT)
               AS periods_since,
           a.period_start, count(*) AS buyers
    FROM firsts f JOIN active a ON a.unit = f.unit AND a.user_id = f.user_id
    WHERE a.period_start >= f.cohort
    GROUP BY f.unit, f.cohort, a.period_start
),
sizes AS (
    SELECT unit, cohort, count(*) AS cohort_size FROM firsts GROUP BY unit, cohort
)
SELECT c.unit, c.cohort, c.periods_since, s.cohort_size, c.buyers,
       CAST(c.buyers AS DOUBLE) / s.cohort_size AS rate,
       CASE c.unit WHEN 'month' THEN c.period_start + INTERVAL 1 MONTH
                   ELSE c.period_start + INTERVAL 7 DAY END > {as_of} AS is_partial
FROM cells c JOIN sizes s ON s.unit = c.unit AND s.cohort = c.cohort
"""

MODEL = Model(
    name="ads_retention",
    grain="one row per unit (month, week) × cohort × periods since, with a buyer",
    description="Purchase retention by cohort of first purchase.",
    depends=("dwd_orders",),
    sql=SQL,
    params=("as_of",),
    columns=(
        Column("unit", "VARCHAR", not_null=True, accepted=("month", "week")),
        Column("cohort", "DATE", "first day of the month or week of the first order",
               not_null=True),
        Column("periods_since", "BIGINT", "0 = the cohort's own month or week", not_null=True),
        Column("cohort_size", "BIGINT", not_null=True),
        Column("buyers", "BIGINT", "cohort customers with an order in that period",
               not_null=True),
        Column("rate", "DOUBLE", "buyers ÷ cohort size", not_null=True),
        Column("is_partial", "BOOLEAN", "the period is not over by the analysis date",
               not_null=True),
    ),
)
