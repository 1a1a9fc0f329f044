"""`custlens monitor`: yesterday's KPIs against that kind of day; alerts on request."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import typer

from custlens import console, i18n, output
from custlens.cli.common import STATE, AsOfOpt, FormatOpt, OutOpt, parse_date
from custlens.output import Format
from custlens.workspace import Workspace

DateOpt = Annotated[str | None, typer.Option("--date", help="the day to report (default: the last complete day of data)")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="every day from this date on")]
AllOpt = Annotated[bool, typer.Option("--all", help="every KPI and scope, not only anomalies")]
AlertOpt = Annotated[bool, typer.Option("--alert", help="send the anomalies by the [[monitor.alerts]] rules (each once)")]


def monitor(date: DateOpt = None, since: SinceOpt = None, all_rows: AllOpt = False,
            alert: AlertOpt = False, as_of: AsOfOpt = None, fmt: FormatOpt = Format.table,
            out: OutOpt = None) -> None:
    """Daily KPIs against campaign-aware expectations (监控): anomalies with their driver.

    Reports only; nothing is sent unless --alert."""
    ws = STATE.workspace()
    lang = ws.settings.lang
    table = ws.monitor(parse_date(date, "--date"), parse_date(since, "--since"), all_rows,
                       parse_date(as_of, "--as-of"))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
    else:
        day = date or since or str(ws.last_complete_day() or "—")
        what = i18n.pick(lang, "全部指标" if all_rows else "异常", "all KPIs" if all_rows else "anomalies")
        title = i18n.pick(lang, f"监控 {day}{' 起' if since else ''}: {what}",
                          f"Monitor {day}{' on' if since else ''}: {what}")
        output.write(monitor_view(table, lang, str(ws.settings.get("shop.currency"))), fmt, out,
                     lang, title)
        if not table.num_rows and not all_rows:
            console.info(i18n.pick(lang, "没有异常。--all 显示每个指标的实际与预期",
                                   "No anomalies. --all shows every KPI against its expectation"))
    if alert:
        send(ws, table.filter(pc.equal(table.column("is_anomaly"), True)))


def send(ws: Workspace, anomalies: pa.Table) -> None:
    """Send and say what happened, in one line (and the failures, one line each)."""
    lang = ws.settings.lang
    done = ws.send_alerts(anomalies)
    console.info(i18n.pick(
        lang, f"告警: 新检测 {done.detected}, 已发送 {done.sent}, 失败 {done.failed}, "
        f"静默时段暂缓 {done.held}, 早已发送 {done.already}",
        f"alerts: {done.detected} new, {done.sent} sent, {done.failed} failed, "
        f"{done.held} held for quiet hours, {done.already} sent before"))
    for error in done.errors:
        console.warn(error)


def monitor_view(table: pa.Table, lang: str, currency: str) -> pa.Table:
    """Rows as people read them: KPI and scope names, figures in their units, the verdict."""
    rows = []
    for r in table.to_pylist():
        text = i18n.monitor_labels(r, lang, currency)
        band = f"{text['low_text']} – {text['high_text']}" if r["low"] is not None else "—"
        verdict = (text["direction_name"] if r["is_anomaly"]
                   else i18n.pick(lang, "正常", "normal") if r["is_anomaly"] is not None else "—")
        rows.append({
            i18n.pick(lang, "日期", "date"): str(r["date"]),
            i18n.pick(lang, "范围", "scope"): text["scope_name"],
            i18n.pick(lang, "指标", "KPI"): text["kpi_name"],
            i18n.pick(lang, "实际", "actual"): text["actual_text"],
            i18n.pick(lang, "预期", "expected"): text["expected_text"],
            i18n.pick(lang, "区间", "interval"): band,
            i18n.pick(lang, "判断", "verdict"): verdict,
            i18n.pick(lang, "主因", "driver"): text["driver_name"] or "—",
            i18n.pick(lang, "说明", "note"): text["note_name"] or "",
        })
    if not rows:
        names = [i18n.pick(lang, *p) for p in (("日期", "date"), ("范围", "scope"), ("指标", "KPI"))]
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pa.Table.from_pylist(rows)
