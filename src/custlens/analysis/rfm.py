"""RFM per buyer and tie-safe quintile scores (DESIGN.md "Definitions").

Money is summed as DECIMAL so that the result does not depend on the order in which
parallel workers add it up (a rebuild gives the same values to the last bit).

Prep: dwd_orders → one row per buyer (R days, F distinct paid orders, M net paid amount
clipped at 0). Maths: nearest-rank quintile breakpoints (the 20/40/60/80 % values);
score = 1 + number of breakpoints strictly below the value, on −R for recency. Equal
values always get equal scores, on any engine (unlike NTILE).
"""

from __future__ import annotations

import numpy as np

__all__ = ["base_sql", "breakpoints", "score_sql"]

QUANTILES = (20, 40, 60, 80)


def base_sql(as_of: str, since: str) -> str:
    """One row per buyer with a paid order before as_of (and on/after since, if set)."""
    return f"""
WITH o AS (
    SELECT o.user_id, o.order_id, o.order_date, o.amount, o.is_paid,
           coalesce(c.kind, 'daily') AS kind
    FROM dwd_orders o LEFT JOIN dim_calendar c ON c.date = o.order_date
    WHERE o.user_id IS NOT NULL AND o.order_date < {as_of}
      AND ({since} IS NULL OR o.order_date >= {since})
      AND (o.is_paid OR o.amount < 0)
)
SELECT user_id,
       date_diff('day', max(order_date) FILTER (WHERE is_paid), {as_of}) AS recency_days,
       count(DISTINCT order_id) FILTER (WHERE is_paid) AS frequency,
       CAST(greatest(coalesce(sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE is_paid), 0)
                + coalesce(sum(CAST(amount AS DECIMAL(38, 6))) FILTER (WHERE amount < 0), 0), 0)
            AS DOUBLE) AS monetary,
       bool_and(kind = 'campaign') FILTER (WHERE is_paid) AS is_campaign_only,
       max(order_date) FILTER (WHERE is_paid) AS last_order_date
FROM o
GROUP BY user_id
HAVING count(*) FILTER (WHERE is_paid) > 0
"""


def breakpoints(values: np.ndarray) -> list[float]:
    """Nearest-rank 20/40/60/80 % values: x[ceil(p·n)] of the sorted values."""
    if len(values) == 0:
        return [0.0] * len(QUANTILES)
    return [float(v) for v in np.percentile(values, QUANTILES, method="inverted_cdf")]


def score_sql(column: str, cuts: list[float], negate: bool = False) -> str:
    """1 + the number of breakpoints strictly below the value (on −value if negate)."""
    value = f"(-{column})" if negate else column
    return "(1 + " + " + ".join(f"CAST({value} > {c!r} AS INTEGER)" for c in cuts) + ")"
