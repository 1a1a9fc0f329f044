"""The analyses a person asks for by name: periods, funnel, repurchase, channels, retention, CLV, migration, exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli.app import app
from custlens.cli.common import (
    STATE,
    AsOfOpt,
    FormatOpt,
    OutOpt,
    SinceOpt,
    parse_date,
)
from custlens.errors import CustlensError
from custlens.i18n import pick
from custlens.output import Format
from custlens.views import chart_svg
from custlens.views import view as analysis
from custlens.views.columns import percent_columns
from custlens.workspace import Workspace

export_app = typer.Typer(help="Export results.", no_args_is_help=True)
app.add_typer(export_app, name="export")


# ---- analyses -------------------------------------------------------------------------------
ChartOpt = Annotated[Path | None, typer.Option("--chart", help="also draw the result as an SVG chart to this file")]



def _chart(path: Path | None, svg_maker) -> None:
    if path is not None:
        from custlens import plots

        plots.save(svg_maker(), path)
        console.info(f"chart written to {path}")


@app.command()
def periods(
    as_of: AsOfOpt = None,
    view: Annotated[str, typer.Option(help="instances (default), kinds, carts or campaign-only")] = "instances",
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Campaign vs daily periods: traffic, GMV, 客单价, conversion, refunds, lift, 同比/环比."""
    ws = STATE.workspace()
    a, lang = parse_date(as_of, "--as-of"), ws.settings.lang
    views = {"instances": ws.periods, "kinds": ws.period_kinds, "carts": ws.campaign_carts,
             "campaign-only": ws.campaign_only}
    if view not in views:
        raise CustlensError(f"--view: {view!r} is not one of {', '.join(views)}")
    table = views[view](a)
    _warn_unknown_holidays(ws)
    if view == "instances":
        _chart(chart, lambda: chart_svg(analysis("periods"), table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    if view in ("instances", "kinds"):
        v = analysis("periods" if view == "instances" else "period_kinds")
        output.write(v.present(table, lang), fmt, out, lang, v.heading({}, lang),
                     percent=percent_columns(v.shown))
    else:
        title = {"carts": pick(lang, "大促前加购、大促当天购买", "Carted before a campaign, bought at its peak"),
                 "campaign-only": pick(lang, "只在大促购买的客户", "Customers who buy only in campaigns")}[view]
        output.write(table, fmt, out, lang, title, percent=percent_columns(table.column_names))
    if view == "instances" and out is None:
        only = ws.campaign_only(a).num_rows
        console.info(pick(lang, f"{only:,} 位客户只在大促期间购买: 下次大促前触达 (--view campaign-only)",
                           f"{only:,} customers buy only in campaigns: reach them before the next one "
                           "(--view campaign-only)"))


def _warn_unknown_holidays(ws: Workspace) -> None:
    years = ws.sql("SELECT DISTINCT year FROM dws_shop_day WHERE in_span AND NOT holiday_known "
                   "ORDER BY year").column("year").to_pylist()
    if years:
        console.warn(f"public holidays are unknown for {', '.join(map(str, years))} (neither "
                     "chinese-calendar nor [calendar] holidays lists them): those days count as "
                     "daily or weekend days")


STAGES = ("pv", "fav", "cart", "fav_or_cart", "buy")


@app.command()
def funnel(
    by: Annotated[str, typer.Option(help="all (default), day, period, channel or category")] = "all",
    hourly: Annotated[bool, typer.Option("--hourly", help="activity by hour of day and day of week instead")] = False,
    as_of: AsOfOpt = None, since: SinceOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """The pv → fav/cart → buy funnel by users and events; 跳失率; time to purchase."""
    ws = STATE.workspace()
    a, s, lang = parse_date(as_of, "--as-of"), parse_date(since, "--since"), ws.settings.lang
    if hourly:
        table = ws.hourly(a, s)
        if fmt is Format.table:
            table = _hourly_view(table, lang)
        output.write(table, fmt, out, lang, pick(lang, "每日各小时平均事件数 (按星期)",
                                                   "Events per day by local hour and weekday"))
        return
    table = ws.funnel(by, a, s)
    v = analysis("funnel")
    if by == "all":
        _chart(chart, lambda: _funnel_chart(table, lang))
    else:
        _chart(chart, lambda: chart_svg(v, table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    if by == "all":
        row = table.to_pylist()[0] if table.num_rows else None
        output.write(_stages_view(row), fmt, out, lang, pick(lang, "转化漏斗", "Funnel"),
                     percent=("of_visitors", "of_previous"))
        if row and out is None:
            hours = row["median_hours_to_buy"]
            console.info(pick(lang, "跳失率", "bounce rate") + f" {row['bounce_rate'] or 0:.1%} · "
                         + pick(lang, "转化率", "conversion") + f" {row['conversion'] or 0:.1%} · "
                         + pick(lang, "浏览到购买中位时长", "median time from view to purchase")
                         + (f" {hours:.1f} h" if hours is not None else " —"))
        return
    shown = v.present(table, lang)
    output.write(shown.rename_columns([by, *shown.column_names[1:]]), fmt, out, lang,
                 v.heading({"by": by}, lang), percent=percent_columns(v.shown))


def _stages_view(row: dict | None) -> pa.Table:
    """One row per stage; each stage against the one it follows (fav, cart after pv)."""
    previous = {"pv": "visitors", "fav": "users_pv", "cart": "users_pv",
                "fav_or_cart": "users_pv", "buy": "users_fav_or_cart"}
    row = row or {}
    rows = []
    for stage in STAGES:
        users = row.get(f"users_{stage}", 0)
        events = (row.get("events_fav", 0) + row.get("events_cart", 0) if stage == "fav_or_cart"
                  else row.get(f"events_{stage}", 0))
        visitors, prev = row.get("visitors", 0), row.get(previous[stage], 0)
        rows.append({"stage": stage, "users": users, "events": events,
                     "of_visitors": users / visitors if visitors else None,
                     "of_previous": users / prev if prev else None})
    return pa.Table.from_pylist(rows)


def _funnel_chart(table: pa.Table, lang: str) -> str:
    from custlens import plots

    row = table.to_pylist()[0] if table.num_rows else {f"users_{s}": 0 for s in STAGES}
    return plots.bars(list(STAGES), [row[f"users_{s}"] for s in STAGES],
                      pick(lang, "漏斗各环节用户数", "Users at each funnel stage"))


WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _hourly_view(table: pa.Table, lang: str) -> pa.Table:
    names = [(f"周{d}" if lang == "zh" else d) for d in WEEKDAYS[lang]]
    grid: dict[int, dict[str, object]] = {h: {"hour": h} for h in range(24)}
    for r in table.to_pylist():
        grid[r["hour"]][names[r["weekday"] - 1]] = round(r["events_per_day"], 1)
    return pa.Table.from_pylist([grid[h] for h in range(24)])


@app.command()
def repurchase(
    level: Annotated[str, typer.Option(help="category (default) or item")] = "category",
    invites: Annotated[bool, typer.Option("--invites", help="the customers to invite to membership")] = False,
    due: Annotated[bool, typer.Option("--due", help="each repeat buyer's next purchase due date")] = False,
    top: Annotated[int, typer.Option(help="rows in the table view")] = 30,
    as_of: AsOfOpt = None, since: SinceOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Repurchase rate and rhythm per category or item; membership candidates and invites."""
    ws = STATE.workspace()
    a, s, lang = parse_date(as_of, "--as-of"), parse_date(since, "--since"), ws.settings.lang
    if invites or due:
        table = ws.membership_invites(a, s) if invites else ws.purchase_due(a, s)
        title = pick(lang, "会员邀请名单", "Membership invitations") if invites else \
            pick(lang, "下次购买预计日期", "Next purchase due")
        output.write(table, fmt, out, lang, title)
        return
    table, v = ws.repurchase(level, a, s), analysis("repurchase")
    _chart(chart, lambda: chart_svg(v, table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    n = sum(table.column("is_membership_candidate").to_pylist())
    title = v.heading({"level": level}, lang) + pick(lang, f" · 会员候选 {n:,}", f" · {n:,} membership candidates")
    shown = v.present(table.slice(0, top), lang)
    output.write(shown.rename_columns([level, *shown.column_names[1:]]), fmt, out, lang, title,
                 percent=percent_columns(v.shown))


@app.command()
def channels(
    attribution: Annotated[str | None, typer.Option(help="last (default in config), first or linear")] = None,
    as_of: AsOfOpt = None, since: SinceOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Channels and ad campaigns: spend, visitors, buyers, attributed revenue, ROAS, CPA."""
    ws = STATE.workspace()
    a, s, lang = parse_date(as_of, "--as-of"), parse_date(since, "--since"), ws.settings.lang
    model = attribution or ws.settings.get("channels.attribution")
    table, v = ws.channels(model, a, s), analysis("channels")
    _chart(chart, lambda: chart_svg(v, table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    days = ws.settings.get("channels.lookback_days")
    title = v.heading({"attribution": model}, lang) + pick(lang, f" · 回溯 {days} 天", f" · {days}-day lookback")
    output.write(v.present(table, lang), fmt, out, lang, title, percent=percent_columns(v.shown))


@app.command()
def retention(
    by: Annotated[str, typer.Option(help="month (default) or week")] = "month",
    periods_shown: Annotated[int, typer.Option("--periods", help="periods since, in the table and chart")] = 12,
    as_of: AsOfOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Cohorts of first purchase × months (weeks) since: the share who buy again."""
    ws = STATE.workspace()
    lang = ws.settings.lang
    table = ws.retention(by, parse_date(as_of, "--as-of"))
    title = pick(lang, f"留存 · 首购{'月' if by == 'month' else '周'}队列", f"Retention by {by} of first purchase")
    _chart(chart, lambda: _retention_chart(table, periods_shown, title))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    output.write(_retention_matrix(table, periods_shown), fmt, out, lang, title,
                 percent=tuple(str(p) for p in range(periods_shown + 1)))


def _retention_matrix(table: pa.Table, shown: int) -> pa.Table:
    rows: dict = {}
    for r in table.to_pylist():
        row = rows.setdefault(r["cohort"], {"cohort": r["cohort"], "cohort_size": r["cohort_size"],
                                            **{str(p): None for p in range(shown + 1)}})
        if r["periods_since"] <= shown:
            row[str(r["periods_since"])] = r["rate"]
    if not rows:
        return pa.table({"cohort": pa.array([], pa.date32()), "cohort_size": pa.array([], pa.int64())})
    return pa.Table.from_pylist(list(rows.values()))


def _retention_chart(table: pa.Table, shown: int, title: str) -> str:
    from custlens import plots

    rows = table.to_pylist()
    cohorts = sorted({str(r["cohort"]) for r in rows})
    cells = {(str(r["cohort"]), str(r["periods_since"])): r["rate"] for r in rows
             if r["periods_since"] <= shown}
    return plots.heatmap(cohorts, [str(p) for p in range(shown + 1)], cells, title)


@app.command("clv")
def clv_cmd(
    as_of: AsOfOpt = None, since: SinceOpt = None,
    unit: Annotated[str | None, typer.Option(help="week (default) or day: BG/NBD's time unit")] = None,
    top: Annotated[int, typer.Option(help="rows in the table view")] = 20,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Customer lifetime value: BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) per buyer."""
    ws = STATE.workspace()
    if unit is not None and unit not in ("week", "day"):
        raise CustlensError(f"--unit {unit!r}: week or day")
    ws.settings = ws.settings.with_overrides(**{"clv.unit": unit})
    table = ws.clv(parse_date(as_of, "--as-of"), parse_date(since, "--since"))
    notes = ws.clv_notes()
    if notes.get("fitted"):
        params = ", ".join(f"{k} = {notes[k]:.4g}" for k in ("r", "alpha", "a", "b", "p", "q", "gamma")
                           if k in notes)
        console.info(f"BG/NBD + Gamma-Gamma on {notes['fit_sample']:,} of {notes['buyers']:,} buyers "
                     f"(unit {notes['unit']}, as of {notes['as_of']}): {params}")
    else:
        console.warn(f"no CLV fit: {notes.get('reason', 'nothing to fit')}")
    if fmt is Format.table:
        lang = ws.settings.lang
        title = pick(lang, f"客户终身价值 · 未来 {notes.get('horizon_days')} 天",
                      f"Customer lifetime value · next {notes.get('horizon_days')} days")
        v = analysis("clv")
        output.write(v.present(table.slice(0, top), lang), fmt, out, lang, title,
                     percent=percent_columns(v.shown))
        return
    output.write(table, fmt, out, ws.settings.lang)


@app.command()
def migration(
    start: Annotated[str, typer.Option("--from", help="the earlier analysis date YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="the later analysis date YYYY-MM-DD")],
    fell: Annotated[bool, typer.Option("--fell", help="only the customers who fell from 重要价值客户 (call them first)")] = False,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Segment migration between two dates: who moved where, and who fell from 重要价值客户."""
    ws = STATE.workspace()
    a, b = parse_date(start, "--from"), parse_date(end, "--to")
    matrix, fallen = ws.migration(a, b)
    lang = ws.settings.lang
    if fell or fmt is not Format.table:
        output.write(fallen if fell else matrix, fmt, out, lang)
        return
    output.write(matrix, fmt, out, lang, pick(lang, f"客户分群迁移 {a} → {b}", f"Segment migration {a} → {b}"))
    output.write(fallen.slice(0, 20), fmt, None, lang,
                 pick(lang, f"从重要价值客户下滑: {fallen.num_rows:,} 位 (优先联系)",
                       f"Fell from high-value: {fallen.num_rows:,} customers (call first)"))


RFM_COLUMNS = ["user_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
               "cluster", "segment", "segment_en", "tier", "segment_label", "segment_label_en",
               "borderline", "rule_segment", "r_threshold", "f_threshold", "m_threshold",
               "cluster_recency_days", "cluster_frequency", "cluster_monetary", "class"]


@export_app.command("rfm")
def export_rfm(as_of: AsOfOpt = None, since: SinceOpt = None,
               fmt: FormatOpt = Format.csv, out: OutOpt = None) -> None:
    """One row per buyer: R, F, M, scores, cluster, segment, tier, label, why (the thresholds
    and the cluster's means that named it), class."""
    ws = STATE.workspace()
    table = ws.rfm(parse_date(as_of, "--as-of"), parse_date(since, "--since")).select(RFM_COLUMNS)
    output.write(table, fmt, out, ws.settings.lang)
    if out:
        console.info(f"wrote {table.num_rows:,} buyers to {out}")
