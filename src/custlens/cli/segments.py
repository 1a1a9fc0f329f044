"""`custlens segment`: the segment table, and how it came about (--view k | crosstab | names)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output, plots
from custlens.cli.common import STATE, AsOfOpt, FormatOpt, OutOpt, SinceOpt, parse_date
from custlens.config import segment_k
from custlens.i18n import class_name, pick
from custlens.output import Format
from custlens.views import segments as segment_views

__all__ = ["segment"]


def segment(
    as_of: AsOfOpt = None, since: SinceOpt = None,
    mode: Annotated[str | None, typer.Option(help="kmeans (default) or rules")] = None,
    k: Annotated[str | None, typer.Option(
        "--k", help="clusters: a number, auto (best silhouette over 4..8), or 0 for the default "
        "rule min(8, buyers ÷ 50) lowered until every cluster holds ≥ 1 % of buyers")] = None,
    view: Annotated[str, typer.Option(
        help="segments (default), k (the indices for k = 2..10), crosstab (clusters × their "
        "members' rule names) or names (the eight names: clusters vs rules)")] = "segments",
    chart: Annotated[Path | None, typer.Option("--chart", help="also draw the view as an SVG chart to this file")] = None,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """The segment table (重要价值客户 …), the eight names beside rule mode, and the class table;
    the caption says which k and why."""
    ws = STATE.workspace()
    ws.settings = ws.settings.with_overrides(
        **{"segment.mode": mode, "segment.k": None if k is None else segment_k(k)})
    a, s = parse_date(as_of, "--as-of"), parse_date(since, "--since")
    table = ws.segment_view(view, a, s)
    notes, lang = ws.rfm_notes(), ws.settings.lang
    caption = ws.segment_caption(lang)
    if chart is not None:
        plots.save(segment_views.chart(view, table, notes, lang), chart)
        console.info(f"chart written to {chart}")
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        console.info(caption)
        return
    shown = segment_views.crosstab_pivot(table, lang) if view == "crosstab" else \
        table.select(segment_views.columns(view, lang))
    output.write(shown, fmt, out, lang, segment_views.title(view, notes, lang),
                 percent=segment_views.PERCENT, caption=caption)
    if view != "segments" or out is not None:
        return
    names = ws.segment_view("names", a, s)
    output.write(names.select(segment_views.columns("names", lang)), fmt, None, lang,
                 segment_views.title("names", notes, lang))
    classes = ws.class_summary(a, s)
    labels = [class_name(c, lang) for c in classes.column("class").to_pylist()]
    classes = classes.add_column(1, "class_name", pa.array(labels, pa.string()))
    output.write(classes, fmt, None, lang, pick(lang, "运营分类", "Operational classes"),
                 percent=("share",))
    if notes.get("monetary_is_count"):
        console.warn("this data has no prices: M is the number of items bought, so M mirrors F "
                     "and only segments where F and M agree can appear")
