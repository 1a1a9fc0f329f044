"""ads_rfm — one row per buyer at the analysis date: R, F, M, scores, cluster, segment, class.

Prep in the engine (analysis.rfm.base_sql), maths in the driver on the buyers' R, F, M
(breakpoints, K-means fit on the hash-drawn sample), assignment of every buyer to its
nearest centre back in the engine, so the same code serves every engine.
"""

from __future__ import annotations

import math

import numpy as np

from custlens.analysis import clustering, rfm, segments
from custlens.config import segment_k
from custlens.warehouse.context import BuildContext, sql_date, sql_text
from custlens.warehouse.model import Column, Model


def _spend_threshold(monetary: np.ndarray, setting: object) -> float:
    if setting == "median":
        return float(np.percentile(monetary, 50, method="inverted_cdf")) if len(monetary) else 0.0
    return float(setting)  # type: ignore[arg-type]


def _exact_mean_std(values: np.ndarray, keep_zero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std per column with exact sums (fsum): the same bits
    whatever order the engine returned the buyers in. A zero std becomes 1 (to
    standardize by) unless `keep_zero`."""
    n = len(values)
    mu = np.array([math.fsum(values[:, i]) / n for i in range(values.shape[1])])
    var = np.array([math.fsum((values[:, i] - mu[i]) ** 2) / n for i in range(values.shape[1])])
    sd = np.sqrt(var)
    return mu, sd if keep_zero else np.where(sd > 0, sd, 1.0)


def _case(column: str, mapping: dict[int, str]) -> str:
    """A CASE over the cluster number; values are SQL literals."""
    whens = " ".join(f"WHEN {k} THEN {v}" for k, v in mapping.items())
    return f"(CASE {column} {whens} END)"


def _double(value: float) -> str:
    return f"CAST({float(value)!r} AS DOUBLE)"


def _rule_segment(means: tuple[float, float, float], lang: int) -> str:
    mr, mf, mm = means
    whens = " ".join(
        f"WHEN {('recency_days < ' if r else 'recency_days >= ')}{_double(mr)} AND "
        f"{('frequency > ' if f else 'frequency <= ')}{_double(mf)} AND "
        f"{('monetary > ' if m else 'monetary <= ')}{_double(mm)} THEN {sql_text(names[lang])}"
        for (r, f, m), names in segments.SEGMENTS.items()
    )
    return f"(CASE {whens} END)"


def _own_borderline(means: tuple[float, ...], sds: tuple[float, ...]) -> str:
    """Rule mode: a customer is its own centre, borderline where its value is near the mean."""
    parts = [f"CASE WHEN abs({col} - {_double(mu)}) <= {_double(segments.BORDERLINE_SD * sd)} "
             f"THEN '{d}' ELSE '' END"
             for d, col, mu, sd in zip("RFM", RAW, means, sds, strict=True)]
    return f"concat({', '.join(parts)})"


RAW = ("recency_days", "frequency", "monetary")
NAMED = ("segment", "segment_en", "tier", "segment_label", "segment_label_en", "borderline",
         "cluster_recency_days", "cluster_frequency", "cluster_monetary")


def _kmeans(ctx: BuildContext, base: str, ids: list[str], x: np.ndarray,
            means: tuple[float, float, float], sds: tuple[float, float, float],
            notes: dict) -> tuple[str, dict[str, str]]:
    """Fit in the driver, assign in the engine, name each cluster by its raw means."""
    seg = ctx.param("segment")
    mu, sd = _exact_mean_std(np.log1p(x))
    z = (np.log1p(x) - mu) / sd
    fitted = clustering.fit(z, clustering.hash_order(ids), segment_k(seg["k"]) or None, int(seg["seed"]),
                            int(seg["sample_size"]), int(seg["silhouette_size"]))
    logs = "ln(1 + recency_days) AS lr, ln(1 + frequency) AS lf, ln(1 + monetary) AS lm"
    zsql = ", ".join(f"(l{c} - ({float(mu[i])!r})) / {float(sd[i])!r} AS z{c}" for i, c in enumerate("rfm"))
    dist = clustering.distance_sql(("zr", "zf", "zm"), fitted.centres)
    dcols = ", ".join(f"{d} AS d{i}" for i, d in enumerate(dist))
    assigned = (f"SELECT b.*, {clustering.assign_sql([f'd{i}' for i in range(len(dist))])} AS cluster "
                f"FROM (SELECT *, {dcols} FROM (SELECT *, {zsql} FROM (SELECT *, {logs} FROM ({base})))) b")
    per = ctx.engine.query(
        f"SELECT cluster, sum(recency_days) / count(*) r, sum(frequency) / count(*) f, "
        f"CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) / count(*) m, "
        f"count(*) n FROM ({assigned}) GROUP BY cluster ORDER BY cluster").to_pylist()
    named = segments.name_clusters(per, means, sds)
    by = {n.cluster: n for n in named}
    means_of = {p["cluster"]: p for p in per}
    exprs = {
        "segment": _case("cluster", {c: sql_text(n.segment) for c, n in by.items()}),
        "segment_en": _case("cluster", {c: sql_text(n.segment_en) for c, n in by.items()}),
        "tier": _case("cluster", {c: str(n.tier) for c, n in by.items()}),
        "segment_label": _case("cluster", {c: sql_text(n.label) for c, n in by.items()}),
        "segment_label_en": _case("cluster", {c: sql_text(n.label_en) for c, n in by.items()}),
        "borderline": _case("cluster", {c: sql_text(n.borderline) for c, n in by.items()}),
        **{f"cluster_{col}": _case("cluster", {c: _double(means_of[c][d]) for c in by})
           for col, d in zip(RAW, "rfm", strict=True)},
    }
    choice = fitted.choice
    notes.update(k=fitted.k, k_setting=choice.setting, k_cap=choice.cap,
                 k_lowered_from=choice.lowered_from, k_reason=choice.reason_en,
                 k_reason_zh=choice.reason_zh, silhouette=fitted.silhouette,
                 diagnostics=fitted.diagnostics, stability=fitted.stability,
                 centres=fitted.centres.round(6).tolist(),
                 clusters=[{**p, "segment": by[p["cluster"]].segment, "tier": by[p["cluster"]].tier,
                            "label": by[p["cluster"]].label,
                            "borderline": by[p["cluster"]].borderline} for p in per])
    return assigned, exprs


def _rules(base: str, means: tuple[float, float, float],
           sds: tuple[float, float, float]) -> tuple[str, dict[str, str]]:
    """Each customer named by its own R, F, M: one tier per name."""
    zh, en = _rule_segment(means, 0), _rule_segment(means, 1)
    none = "CAST(NULL AS DOUBLE)"
    exprs = {"segment": zh, "segment_en": en, "tier": "1", "segment_label": zh,
             "segment_label_en": en, "borderline": _own_borderline(means, sds),
             **{f"cluster_{col}": none for col in RAW}}
    return f"SELECT *, CAST(NULL AS INTEGER) AS cluster FROM ({base})", exprs


def run(ctx: BuildContext) -> str:
    engine, seg, cls = ctx.engine, ctx.param("segment"), ctx.param("classes")
    as_of = sql_date(ctx.as_of)
    base = rfm.base_sql(as_of, sql_date(ctx.since))
    buyers = engine.query(f"SELECT user_id, recency_days, frequency, monetary FROM ({base})")
    ids = buyers.column("user_id").to_pylist()
    x = np.column_stack([buyers.column(c).to_numpy().astype(float) for c in RAW]) \
        if ids else np.zeros((0, 3))
    cuts = (rfm.breakpoints(-x[:, 0]), rfm.breakpoints(x[:, 1]), rfm.breakpoints(x[:, 2]))
    if len(x):
        raw_mu, raw_sd = _exact_mean_std(x, keep_zero=True)
        means = (float(raw_mu[0]), float(raw_mu[1]), float(raw_mu[2]))
        sds = (float(raw_sd[0]), float(raw_sd[1]), float(raw_sd[2]))
    else:
        means, sds = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    threshold = _spend_threshold(x[:, 2], cls["spend_threshold"])
    notes = {"buyers": len(ids), "breakpoints": {"r": cuts[0], "f": cuts[1], "m": cuts[2]},
             "means": dict(zip("rfm", means, strict=True)),
             "sds": dict(zip("rfm", sds, strict=True)), "spend_threshold": threshold,
             "mode": seg["mode"], "as_of": str(ctx.as_of),
             "monetary_is_count": ctx.param("orders_from") == "events"}
    if seg["mode"] == "kmeans" and ids:
        source, named = _kmeans(ctx, base, ids, x, means, sds, notes)
    else:
        source, named = _rules(base, means, sds)
    ctx.notes["ads_rfm"] = notes
    thresholds = ", ".join(f"{_double(v)} AS {d}_threshold" for d, v in zip("rfm", means, strict=True))
    return f"""
SELECT user_id, CAST(recency_days AS BIGINT) AS recency_days, CAST(frequency AS BIGINT) AS frequency,
       CAST(monetary AS DOUBLE) AS monetary,
       {rfm.score_sql('recency_days', cuts[0], negate=True)} AS r_score,
       {rfm.score_sql('frequency', cuts[1])} AS f_score,
       {rfm.score_sql('monetary', cuts[2])} AS m_score,
       CAST(cluster AS INTEGER) AS cluster, {named['segment']} AS segment,
       {named['segment_en']} AS segment_en, CAST({named['tier']} AS INTEGER) AS tier,
       {named['segment_label']} AS segment_label, {named['segment_label_en']} AS segment_label_en,
       {named['borderline']} AS borderline, {_rule_segment(means, 0)} AS rule_segment,
       {thresholds},
       {", ".join(f"{named['cluster_' + c]} AS cluster_{c}" for c in RAW)},
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
        Column("tier", "INTEGER", "1 = the highest-value cluster of that name (by mean M, then F)",
               not_null=True),
        Column("segment_label", "VARCHAR", "name · tier when the name has several clusters",
               not_null=True),
        Column("segment_label_en", "VARCHAR", not_null=True),
        Column("borderline", "VARCHAR", "dimensions (R, F, M) whose cluster mean is within 0.1 "
               "buyers' std of the buyers' mean; '' for none", not_null=True),
        Column("rule_segment", "VARCHAR", "the name the customer's own R, F, M gets (rule mode)",
               not_null=True, accepted=tuple(segments.SEGMENT_ORDER)),
        Column("r_threshold", "DOUBLE", "the buyers' mean R: fewer days is R 高", not_null=True),
        Column("f_threshold", "DOUBLE", "the buyers' mean F: more is F 高", not_null=True),
        Column("m_threshold", "DOUBLE", "the buyers' mean M: more is M 高", not_null=True),
        Column("cluster_recency_days", "DOUBLE", "the cluster's mean R (what was named); NULL in rules mode"),
        Column("cluster_frequency", "DOUBLE", "the cluster's mean F; NULL in rules mode"),
        Column("cluster_monetary", "DOUBLE", "the cluster's mean M; NULL in rules mode"),
        Column("class", "VARCHAR", not_null=True, accepted=("core", "low_repurchase")),
        Column("is_lapsed", "BOOLEAN", "R above classes.lapse_days", not_null=True),
        Column("is_campaign_only", "BOOLEAN", "every paid order in a campaign period", not_null=True),
        Column("last_order_date", "DATE", not_null=True),
        Column("as_of_date", "DATE", not_null=True),
    ),
)
