"""ads_clv — per buyer: expected purchases in the next horizon, P(alive), expected spend
and value, from BG/NBD and Gamma-Gamma fitted on the orders before the analysis date.

Frequency counts repeat purchase days (paid orders), as the literature does; t_x and T run
from the first purchase to the last purchase and to the day before the analysis date, in
`clv.unit` (week or day). The fit sees at most `clv.sample_size` buyers drawn by a hash of
their id (the same buyers on every engine and run); every buyer is then scored. With fewer
than 20 buyers or no repeat buyer nothing can be fitted: the predictions are NULL and the
notes say why.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from custlens.analysis import clustering, clv
from custlens.warehouse.context import BuildContext
from custlens.warehouse.model import Column, Model

MIN_BUYERS = 20

SQL = """
WITH days AS (
    SELECT user_id, order_date AS d, sum(CAST(amount AS DECIMAL(38, 6))) AS amount
    FROM dwd_orders
    WHERE is_paid AND user_id IS NOT NULL AND order_date < {as_of}
      AND ({since} IS NULL OR order_date >= {since})
    GROUP BY user_id, order_date
),
firsts AS (SELECT user_id, min(d) AS first_date FROM days GROUP BY user_id)
SELECT d.user_id, CAST(count(*) - 1 AS BIGINT) AS x,
       date_diff('day', f.first_date, max(d.d)) AS t_x_days,
       date_diff('day', f.first_date, CAST({as_of} - INTERVAL 1 DAY AS DATE)) AS t_days,
       CAST(avg(d.amount) FILTER (WHERE d.d > f.first_date) AS DOUBLE) AS m_x
FROM days d JOIN firsts f USING (user_id)
GROUP BY d.user_id, f.first_date
"""


def run(ctx: BuildContext) -> pa.Table:
    settings = ctx.param("clv")
    unit = 7.0 if settings["unit"] == "week" else 1.0
    horizon = float(settings["horizon_days"]) / unit
    data = ctx.engine.query(SQL.format_map(ctx.sql_params())).to_pandas().sort_values("user_id", kind="stable")
    x = data["x"].to_numpy(float)
    t_x, T = data["t_x_days"].to_numpy(float) / unit, data["t_days"].to_numpy(float) / unit
    # rounded to a millionth: engines sum DECIMALs to different last bits, and the fit amplifies them
    m_x = np.round(data["m_x"].fillna(0).to_numpy(float), 6)
    notes: dict = {"unit": settings["unit"], "horizon_days": settings["horizon_days"],
                   "buyers": len(data), "as_of": str(ctx.as_of)}
    none = np.full(len(data), np.nan)
    p_alive = expected = spend = none
    if len(data) < MIN_BUYERS or not (x > 0).any():
        notes.update(fitted=False, reason=f"{len(data)} buyers, {int((x > 0).sum())} repeat buyers: "
                     f"too few to fit (at least {MIN_BUYERS} buyers and one repeat buyer)")
    else:
        # the K-means sample's draw (crc32 of the id): the same buyers, in the same order, on every engine
        sample = clustering.hash_order(data["user_id"].tolist())[: int(settings["sample_size"])]
        bg = clv.fit_bgnbd(x[sample], t_x[sample], T[sample])
        gg = clv.fit_gamma_gamma(x[sample], m_x[sample]) if (x[sample] > 0).sum() >= 2 else None
        p_alive = bg.p_alive(x, t_x, T)
        expected = bg.expected_purchases(horizon, x, t_x, T)
        spend = gg.expected_spend(x, m_x) if gg else none
        notes.update(fitted=True, fit_sample=len(sample), r=bg.r, alpha=bg.alpha, a=bg.a, b=bg.b,
                     bgnbd_converged=bg.converged,
                     **({"p": gg.p, "q": gg.q, "gamma": gg.gamma, "gamma_gamma_converged": gg.converged}
                        if gg else {}))
    ctx.notes["ads_clv"] = notes
    return pa.table({
        "user_id": pa.array(data["user_id"], pa.string()),
        "frequency": pa.array(x.astype(np.int64)),
        "recency": pa.array(t_x), "age": pa.array(T),
        "mean_repeat_spend": pa.array(data["m_x"], pa.float64()),
        "p_alive": pa.array(p_alive, pa.float64(), from_pandas=True),
        "expected_purchases": pa.array(expected, pa.float64(), from_pandas=True),
        "expected_spend": pa.array(spend, pa.float64(), from_pandas=True),
        "expected_value": pa.array(expected * spend, pa.float64(), from_pandas=True),
    })


MODEL = Model(
    name="ads_clv",
    grain="one row per buyer with a paid order before the analysis date",
    description="BG/NBD + Gamma-Gamma: expected purchases, P(alive), expected spend and value.",
    depends=("dwd_orders",),
    run=run,
    params=("as_of", "since", "clv"),
    helpers=(clv, clustering),
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("frequency", "BIGINT", "repeat purchase days (x)", not_null=True),
        Column("recency", "DOUBLE", "first to last purchase, in clv.unit (t_x)", not_null=True),
        Column("age", "DOUBLE", "first purchase to the day before as-of, in clv.unit (T)",
               not_null=True),
        Column("mean_repeat_spend", "DOUBLE", "mean spend of the repeat purchase days (m_x)"),
        Column("p_alive", "DOUBLE", "probability the customer is still active"),
        Column("expected_purchases", "DOUBLE", "purchase days expected within clv.horizon_days"),
        Column("expected_spend", "DOUBLE", "expected spend per purchase day (Gamma-Gamma)"),
        Column("expected_value", "DOUBLE", "expected purchases × expected spend"),
    ),
)
