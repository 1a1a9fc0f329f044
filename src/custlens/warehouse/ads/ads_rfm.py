"""ads_rfm — one row per buyer at the analysis date: R, F, M, scores, cluster, segment, class.

Prep in the engine (analysis.rfm.base_sql), maths in the driver on the buyers' R, F, M
(breakpoints, K-means fit on the hash-drawn sample), assignment of every buyer to its
nearest centre back in the engine, so the same code serves every engine.
"""

from __future__ import annotations

import math

import numpy as np

from custlens.analysis import clustering, rfm, segments
from custlens.warehouse.context import BuildContext, sql_date, sql_text
from custlens.warehouse.model import Column, Model


def _spend_threshold(monetary: np.ndarray, setting: object) -> float:
    if setting == "median":
        return float(np.percentile(monetary, 50, method="inverted_cdf")) if len(monetary) else 0.0
    return float(setting)  # type: ignore[arg-type]


def _exact_mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std per column with exact sums (fsum): the same bits
    whatever order the engine returned the buyers in."""
    n = len(values)
    mu = np.array([math.fsum(values[:, i]) / n for i in range(values.shape[1])])
    var = np.array([math.fsum((values[:, i] - mu[i]) ** 2) / n for i in range(values.shape[1])])
    sd = np.sqrt(var)
    return mu, np.where(sd > 0, sd, 1.0)


def _case(column: str, mapping: dict[int, str]) -> str:
    whens = " ".join(f"WHEN {k} THEN {sql_text(v)}" for k, v in mapping.items())
    return f"(CASE {column} {whens} END)"


def _rule_segment(means: tuple[float, float, float], lang: int) -> str:
    mr, mf, mm = means
    whens = " ".join(
        f"WHEN {('recency_days < ' if r else 'recency_days >= ')}{mr!r} AND "
        f"{('frequency > ' if f else 'frequency <= ')}{mf!r} AND "
        f"{('monetary > ' if m else 'monetary <= ')}{mm!r} THEN {sql_text(names[lang])}"
        for (r, f, m), names in segments.SEGMENTS.items()
    )
    return f"(CASE {whens} END)"


def run(ctx: BuildContext) -> str:
    engine, seg, cls = ctx.engine, ctx.param("segment"), ctx.param("classes")
    as_of = sql_date(ctx.as_of)
    base = rfm.base_sql(as_of, sql_date(ctx.since))
    buyers = engine.query(f"SELECT user_id, recency_days, frequency, monetary FROM ({base})")
    ids = buyers.column("user_id").to_pylist()
    x = np.column_stack([buyers.column(c).to_numpy().astype(float)
                         for c in ("recency_days", "frequency", "monetary")]) if ids else np.zeros((0, 3))
    cuts = (rfm.breakpoints(-x[:, 0]), rfm.breakpoints(x[:, 1]), rfm.breakpoints(x[:, 2]))
    means = tuple(math.fsum(x[:, i]) / len(x) for i in range(3)) if len(x) else (0.0, 0.0, 0.0)
    threshold = _spend_threshold(x[:, 2], cls["spend_threshold"])
    notes = {"buyers": len(ids), "breakpoints": {"r": cuts[0], "f": cuts[1], "m": cuts[2]},
             "means": dict(zip("rfm", means, strict=True)), "spend_threshold": threshold,
             "mode": seg["mode"], "as_of": str(ctx.as_of),
             "monetary_is_count": ctx.param("orders_from") == "events"}

    logs = "ln(1 + recency_days) AS lr, ln(1 + frequency) AS lf, ln(1 + monetary) AS lm"
    if seg["mode"] == "kmeans" and ids:
        mu, sd = _exact_mean_std(np.log1p(x))
        z = (np.log1p(x) - mu) / sd
        fitted = clustering.fit(z, clustering.hash_order(ids), int(seg["k"] or 0) or None,
                                int(seg["seed"]), int(seg["sample_size"]), int(seg["silhouette_size"]))
        zsql = ", ".join(f"(l{c} - ({float(mu[i])!r})) / {float(sd[i])!r} AS z{c}" for i, c in enumerate("rfm"))
        dist = clustering.distance_sql(("zr", "zf", "zm"), fitted.centres)
        dcols = ", ".join(f"{d} AS d{i}" for i, d in enumerate(dist))
        assigned = (f"SELECT b.*, {clustering.assign_sql([f'd{i}' for i in range(len(dist))])} AS cluster "
                    f"FROM (SELECT *, {dcols} FROM (SELECT *, {zsql} FROM (SELECT *, {logs} FROM ({base})))) b")
        per = engine.query(f"SELECT cluster, sum(recency_days) / count(*) r, sum(frequency) / count(*) f, "
                           f"CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) / count(*) m, "
                           f"count(*) n FROM ({assigned}) GROUP BY cluster ORDER BY cluster").to_pylist()
        names = {p["cluster"]: segments.name_for(segments.code_for(p["r"], p["f"], p["m"], *means))
                 for p in per}
        seg_zh = _case("cluster", {k: v[0] for k, v in names.items()})
        seg_en = _case("cluster", {k: v[1] for k, v in names.items()})
        notes.update(k=fitted.k, silhouette=fitted.silhouette,
                     centres=fitted.centres.round(6).tolist(),
                     clusters=[{**p, "segment": names[p["cluster"]][0]} for p in per])
        source = assigned
    else:
        source = f"SELECT *, CAST(NULL AS INTEGER) AS cluster FROM ({base})"
        seg_zh, seg_en = _rule_segment(means, 0), _rule_segment(means, 1)
    ctx.notes["ads_rfm"] = notes
    return f"""
SELECT user_id, CAST(recency_days AS BIGINT) AS recency_days, CAST(frequency AS BIGINT) AS frequency,
       CAST(monetary AS DOUBLE) AS monetary,
       {rfm.score_sql('recency_days', cuts[0], negate=True)} AS r_score,
       {rfm.score_sql('frequency', cuts[1])} AS f_score,
       {rfm.score_sql('monetary', cuts[2])} AS m_score,
       CAST(cluster AS INTEGER) AS cluster, {seg_zh} AS segment, {seg_en} AS segment_en,
       CASE WHEN frequency >= 2 AND monetary >= {threshold!r} THEN 'core'
            ELSE 'low_repurchase' END AS class,
       recency_days > {int(cls['lapse_days'])} AS is_lapsed,
       coalesce(is_campaign_only, false) AS is_campaign_only,
       last_order_date, {as_of} AS as_of_date
FROM ({source})
"""


MODEL = Model(
    name="ads_rfm",
    grain="one row per buyer (a paid order before the analysis date)",
    description="RFM values, tie-safe quintile scores, K-means cluster (or rules), the "
    "named segment and the operational class of every buyer.",
    depends=("dwd_orders", "dim_calendar"),
    run=run,
    params=("as_of", "since", "segment", "classes", "orders_from"),
    helpers=(rfm, clustering, segments),
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("recency_days", "BIGINT", "as-of date − last paid order's local date", not_null=True),
        Column("frequency", "BIGINT", "distinct paid orders", not_null=True),
        Column("monetary", "DOUBLE", "paid amount net of returns, ≥ 0", not_null=True),
        Column("r_score", "INTEGER", "1–5, more recent scores higher", not_null=True),
        Column("f_score", "INTEGER", "1–5", not_null=True),
        Column("m_score", "INTEGER", "1–5", not_null=True),
        Column("cluster", "INTEGER", "K-means cluster, value-ordered; NULL in rules mode"),
        Column("segment", "VARCHAR", not_null=True, accepted=tuple(segments.SEGMENT_ORDER)),
        Column("segment_en", "VARCHAR", not_null=True),
        Column("class", "VARCHAR", not_null=True, accepted=("core", "low_repurchase")),
        Column("is_lapsed", "BOOLEAN", "R above classes.lapse_days", not_null=True),
        Column("is_campaign_only", "BOOLEAN", "every paid order in a campaign period", not_null=True),
        Column("last_order_date", "DATE", not_null=True),
        Column("as_of_date", "DATE", not_null=True),
    ),
)
