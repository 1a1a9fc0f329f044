"""How the segment views are shown: their columns, the crosstab's pivot, their charts.

The data comes from `Workspace.segment_view` (one query per view); the CLI, the report and
the API's downloads render what is here, so the three show the same columns and charts.
"""

from __future__ import annotations

import pyarrow as pa

from custlens import plots
from custlens.analysis import segments
from custlens.i18n import pick

__all__ = ["PERCENT", "columns", "crosstab_pivot", "chart", "title", "label_column"]

PERCENT = ("share", "monetary_share", "min_share")


def label_column(lang: str) -> str:
    return "segment_label" if lang == "zh" else "segment_label_en"


def columns(view: str, lang: str) -> list[str]:
    """The columns a person reads, per view (data formats keep every column)."""
    if view == "segments":
        return [label_column(lang), "customers", "share", "mean_recency_days", "mean_frequency",
                "mean_monetary", "monetary_share", "borderline", "clusters"]
    if view == "names":
        return ["segment" if lang == "zh" else "segment_en", "customers", "tiers", "rule_customers"]
    if view == "k":
        return ["k", "inertia", "silhouette", "calinski_harabasz", "min_share", "stability", "chosen"]
    return []


def title(view: str, notes: dict, lang: str) -> str:
    buyers = notes.get("buyers", 0)
    if view == "k":
        return pick(lang, f"K-means 诊断 · k = 2..10 · 购买客户 {buyers:,}",
                    f"K-means diagnostics · k = 2..10 · {buyers:,} buyers")
    if view == "crosstab":
        return pick(lang, "聚类 × 成员各自的规则分群", "Clusters × their members' own rule names")
    if view == "names":
        return pick(lang, "八类客户：聚类 vs 规则分群", "The eight names: clusters vs rules")
    k = notes.get("k")
    how = (f"K-means 聚类 k={k}" if k else "规则分群") if lang == "zh" else \
        (f"K-means k={k}" if k else "rules")
    return pick(lang, f"客户分群 · 分析日 {notes.get('as_of')} · 购买客户 {buyers:,} · {how}",
                f"Segments · as of {notes.get('as_of')} · {buyers:,} buyers · {how}")


def _rule_name(zh: str, lang: str) -> str:
    return zh if lang == "zh" else segments.EN[zh]


def crosstab_pivot(table: pa.Table, lang: str) -> pa.Table:
    """Long (cluster, label, rule_segment, customers) → one row per cluster, one column
    per rule name that occurs, in the customary order."""
    rows = table.to_pylist()
    names = [n for n in segments.SEGMENT_ORDER if any(r["rule_segment"] == n for r in rows)]
    label = label_column(lang)
    out: dict[tuple, dict] = {}
    for r in rows:
        key = (r["cluster"], r[label])
        row = out.setdefault(key, {"cluster": r["cluster"], label: r[label],
                                   **{_rule_name(n, lang): 0 for n in names}})
        row[_rule_name(r["rule_segment"], lang)] += r["customers"]
    fields = [pa.field("cluster", pa.int32()), pa.field(label, pa.string())] + \
        [pa.field(_rule_name(n, lang), pa.int64()) for n in names]
    return pa.Table.from_pylist(list(out.values()), schema=pa.schema(fields))


def chart(view: str, table: pa.Table, notes: dict, lang: str) -> str:
    """The view as an SVG chart."""
    if view == "k":
        rows = table.to_pylist()
        series = {pick(lang, "轮廓系数", "silhouette"): [r["silhouette"] for r in rows],
                  pick(lang, "最小簇占比 ×10", "smallest cluster ×10"):
                      [None if r["min_share"] is None else min(1.0, 10 * r["min_share"]) for r in rows],
                  pick(lang, "稳定性 (ARI)", "stability (ARI)"): [r["stability"] for r in rows]}
        return plots.lines([r["k"] for r in rows], series, title(view, notes, lang),
                           marked=notes.get("k"), x_title="k")
    if view == "crosstab":
        pivot = crosstab_pivot(table, lang)
        label = label_column(lang)
        rows = [str(v) for v in pivot.column(label).to_pylist()]
        cols = pivot.column_names[2:]
        cells = {}
        for r in pivot.to_pylist():
            total = sum(r[c] for c in cols) or 1
            cells.update({(str(r[label]), c): r[c] / total for c in cols})
        return plots.heatmap(rows, cols, cells, title(view, notes, lang),
                             pick(lang, "聚类", "cluster"), pick(lang, "成员的规则分群", "members' rule name"))
    if view == "names":
        name = "segment" if lang == "zh" else "segment_en"
        rows = table.to_pylist()
        return plots.bars([r[name] for r in rows], [r["customers"] for r in rows], title(view, notes, lang))
    rows = table.to_pylist()
    return plots.bars([r[label_column(lang)] for r in rows], [r["customers"] for r in rows],
                      pick(lang, "各分群客户数", "Customers per segment"))
