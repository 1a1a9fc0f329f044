"""`custlens report --period week|month`: the operations report (运营周报 / 月报).

What changed and why (the period's KPIs against the period before it, and the monitor's
anomalies with their drivers), how the segments moved, what the campaigns lifted, what
the actions achieved against their holdout, and what to do next — each recommendation's
expected effect taken from a measured lift, never assumed. The report reads the
warehouse, it does not model: every section names the table its figures come from (the
XLSX has a sheet of them), so any number can be traced and checked.

A period is a calendar week (Monday–Sunday) or month; by default the last one the data
covers completely, so a half-finished week is not read as a drop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from custlens import i18n, plots
from custlens.analysis import monitor, segments
from custlens.errors import CustlensError
from custlens.i18n import pick
from custlens.output import write_xlsx_sheets
from custlens.views.columns import number_text
from custlens.warehouse.ads.ads_monitor import SALES, VISITS

PERIODS = ("week", "month")
REPORT_KPIS = tuple(monitor.KPIS)

WINDOW_SQL = f"""
WITH visits AS (
    SELECT user_id, sum(count_pv) AS pv, sum(count_fav + count_cart + count_buy) AS other
    FROM dws_customer_day WHERE dt BETWEEN DATE '{{start}}' AND DATE '{{end}}'
    GROUP BY user_id HAVING sum(count_pv + count_fav + count_cart + count_buy) > 0
)
SELECT v.*, s.* FROM (SELECT {VISITS} FROM visits) v,
     (SELECT {SALES} FROM dwd_orders o
      WHERE o.order_date BETWEEN DATE '{{start}}' AND DATE '{{end}}') s
"""


@dataclass
class Section:
    key: str
    title: tuple[str, str]
    source: str  # the tables its figures come from
    columns: dict[str, str]  # name → kind: text, num, money, pct, kpi
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    chart: str = ""  # SVG


@dataclass
class OpsReport:
    period: str
    start: dt.date
    end: dt.date
    previous: tuple[dt.date, dt.date]
    days_with_data: int
    lang: str
    currency: str
    sections: list[Section]
    findings: list[str]  # the sentences at the top: what changed, what to do

    @property
    def complete(self) -> bool:
        return self.days_with_data == (self.end - self.start).days + 1

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


# ---- the period ------------------------------------------------------------------------
def bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The week (Monday–Sunday) or calendar month holding `day`."""
    if period == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if period == "month":
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return start, following - dt.timedelta(days=1)
    raise CustlensError(f"--period: {period!r} is not one of {', '.join(PERIODS)}")


def last_complete(period: str, last_day: dt.date) -> dt.date:
    """A day inside the last period that ends on or before the last day of data."""
    start, end = bounds(period, last_day)
    return last_day if end == last_day else start - dt.timedelta(days=1)


# ---- the sections ------------------------------------------------------------------------
def window_kpis(ws: Any, start: dt.date, end: dt.date) -> dict[str, float | None]:
    """The eleven KPIs over a window: distinct visitors and buyers of the whole window
    (not a sum of daily counts), as ads_periods counts a period's."""
    row = ws.sql(WINDOW_SQL.format(start=start, end=end)).to_pylist()[0]
    return monitor.kpi_values(row)


def _kpis(ws: Any, r: OpsReport) -> Section:
    now, before = window_kpis(ws, r.start, r.end), window_kpis(ws, *r.previous)
    anomalies = ws.sql(f"""SELECT kpi, count(*) AS n FROM ads_monitor WHERE scope = 'all'
        AND is_anomaly AND date BETWEEN DATE '{r.start}' AND DATE '{r.end}' GROUP BY kpi""")
    flagged = dict(zip(*(c.to_pylist() for c in anomalies.columns), strict=True))
    rows = []
    for kpi in REPORT_KPIS:
        a, b = now[kpi], before[kpi]
        change = (a / b - 1) if a is not None and b else None
        rows.append({"kpi": kpi, "kpi_name": i18n.kpi_name(kpi, r.lang), "this_period": a,
                     "previous_period": b, "change": change, "anomaly_days": flagged.get(kpi, 0)})
    return Section("kpis", ("本期指标 vs 上期", "This period against the one before"),
                   pick(r.lang, "dws_customer_day, dwd_orders; 异常天数: ads_monitor",
                        "dws_customer_day, dwd_orders; anomaly days: ads_monitor"),
                   {"kpi_name": "text", "this_period": "kpi", "previous_period": "kpi",
                    "change": "pct", "anomaly_days": "num"}, rows,
                   pick(r.lang, "访客、买家按整期去重计数(与 ads_periods 相同), 不是每日相加。",
                        "Visitors and buyers are distinct over the whole period (as ads_periods "
                        "counts them), not sums of daily counts."))


def _anomalies(ws: Any, r: OpsReport) -> Section:
    table = ws.sql(f"""SELECT date, scope, kpi, actual, expected, low, high, direction, driver,
        day_kind FROM ads_monitor WHERE is_anomaly AND date BETWEEN DATE '{r.start}'
        AND DATE '{r.end}' ORDER BY date, scope <> 'all', scope NOT LIKE 'channel=%', scope, kpi""")
    rows = []
    for x in table.to_pylist():
        t = i18n.monitor_labels(x, r.lang, r.currency)
        rows.append({**x, "scope": t["scope_name"], "kpi_name": t["kpi_name"],
                     "direction": t["direction_name"], "driver": t["driver_name"]})
    series = ws.sql(f"""SELECT date, actual, expected, low, high, is_anomaly FROM ads_monitor
        WHERE scope = 'all' AND kpi = 'gmv' AND date BETWEEN DATE '{r.start}' AND DATE '{r.end}'
        ORDER BY date""").to_pylist()
    actual, expected, low, high = ([s[k] for s in series] for k in ("actual", "expected", "low", "high"))
    chart = plots.band([str(s["date"]) for s in series], actual, expected, low, high,
                       pick(r.lang, "每日成交额与预期区间", "GMV per day against its expected band"),
                       [bool(s["is_anomaly"]) for s in series],
                       (pick(r.lang, "实际", "actual"), pick(r.lang, "预期", "expected"))) if series else ""
    return Section("anomalies", ("异常与主因", "Anomalies and their drivers"), "ads_monitor",
                   {"date": "text", "scope": "text", "kpi_name": "text", "actual": "kpi",
                    "expected": "kpi", "direction": "text", "driver": "text"}, rows,
                   pick(r.lang, "每个范围的每个指标与同类日子的预期相比(custlens monitor)。",
                        "Each KPI of each scope against days of its own kind (custlens monitor)."),
                   chart)


def _migration(ws: Any, r: OpsReport) -> Section:
    matrix, fell = ws.migration(r.start, r.end + dt.timedelta(days=1))
    moves = matrix.to_pylist()
    names = {m["to_segment"] for m in moves} | {m["from_segment"] for m in moves} - {"(new)"}
    rows = []
    for name in sorted(names, key=_segment_rank):
        at_start = sum(m["customers"] for m in moves if m["from_segment"] == name)
        at_end = sum(m["customers"] for m in moves if m["to_segment"] == name)
        stayed = sum(m["customers"] for m in moves if m["from_segment"] == name == m["to_segment"])
        new = sum(m["customers"] for m in moves if m["from_segment"] == "(new)" and m["to_segment"] == name)
        rows.append({"segment_name": _segment_label(name, r.lang), "at_start": at_start,
                     "at_end": at_end, "stayed": stayed, "moved_in": at_end - stayed - new,
                     "new_buyers": new, "moved_out": at_start - stayed})
    return Section("migration", ("分群迁移", "How the segments moved"),
                   pick(r.lang, f"ads_rfm (截至 {r.start} 与截至 {r.end + dt.timedelta(days=1)})",
                        f"ads_rfm as of {r.start} and as of {r.end + dt.timedelta(days=1)}"),
                   {"segment_name": "text", "at_start": "num", "at_end": "num", "stayed": "num",
                    "moved_in": "num", "new_buyers": "num", "moved_out": "num"}, rows,
                   pick(r.lang, f"{fell.num_rows:,} 位重要价值客户本期掉出该分群"
                        "(custlens segment migrate 列出名单)。",
                        f"{fell.num_rows:,} customers fell out of 重要价值客户 (important value) "
                        "this period (custlens segment migrate lists them)."))


def _segment_rank(name: str) -> int:
    order = [zh for zh, _ in segments.SEGMENTS.values()]
    return order.index(name) if name in order else len(order)


def _segment_label(name: str, lang: str) -> str:
    return name if lang == "zh" else segments.EN.get(name, name)


def _campaigns(ws: Any, r: OpsReport) -> Section:
    rows = ws.sql(f"""SELECT kind, period_name, period_name_en, phase, start_date, end_date,
        days, gmv, gmv_per_day, gmv_lift, visitors_lift, gmv_per_day_yoy FROM ads_periods
        WHERE kind <> 'daily' AND start_date <= DATE '{r.end}' AND end_date >= DATE '{r.start}'
        ORDER BY start_date, kind""").to_pylist()
    for x in rows:
        name = x["period_name"] if r.lang == "zh" else x["period_name_en"]
        phase = {"warmup": pick(r.lang, "预热", "warm-up"), "peak": pick(r.lang, "爆发", "peak")}
        x["period_label"] = f"{name} {phase.get(x['phase'], '')}".strip()
        x["kind"] = i18n.kind_name(x["kind"], r.lang)
    return Section("campaigns", ("大促与活动效果", "What the campaigns lifted"), "ads_periods",
                   {"period_label": "text", "kind": "text", "start_date": "text", "end_date": "text",
                    "gmv": "money", "gmv_lift": "times", "visitors_lift": "times",
                    "gmv_per_day_yoy": "pct"}, rows,
                   pick(r.lang, "提升 = 日均成交额 ÷ 前后日常日的日均成交额。",
                        "Lift = GMV per day ÷ that of the daily days around it."))


def _plans_in(plans: list[dict[str, Any]], r: OpsReport, days: int) -> list[str]:
    """Plans whose follow-up window (`days`) overlaps the period."""
    return [p["plan_id"] for p in plans
            if p["as_of"] <= r.end and p["as_of"] + dt.timedelta(days=days) > r.start]


def _actions(ws: Any, r: OpsReport) -> tuple[Section, dict[str, dict[str, Any]]]:
    """Measured lifts of the plans that ran into the period; also the latest measured
    revenue lift per action (for the recommendations)."""
    rows: list[dict[str, Any]] = []
    latest: dict[str, dict[str, Any]] = {}
    playbook = ws.playbook()
    labels = {a.name: a.display(r.lang) for a in playbook}
    plans = ws.action_plans().to_pylist()
    running = _plans_in(plans, r, int(ws.settings.get("actions.follow_up_days")))
    for plan_id in running:
        measured = ws.measure(plan_id)
        for x in measured.lifts.to_pylist():
            if x["metric"] not in ("revenue", "converted") or x["action"] == "(all)" \
                    or x["treated"] is None:  # nobody planned, or no holdout to compare with
                continue
            rows.append({"plan_id": plan_id, "action_name": labels.get(x["action"], x["action"]),
                         "metric": i18n.heading({"revenue": "revenue_per_customer",
                                                 "converted": "converted"}[x["metric"]], r.lang),
                         **{k: x[k] for k in ("treated", "holdout", "lift", "ci_low", "ci_high",
                                              "significant", "incremental_total")},
                         "complete": measured.notes["complete"], "_metric": x["metric"]})
            if x["metric"] == "revenue":
                latest[x["action"]] = {**x, "plan_id": plan_id}
    for plan_id in reversed([p["plan_id"] for p in plans]):  # newest first
        if all(a.name in latest for a in playbook):
            break
        if plan_id in running:
            continue
        for x in ws.measure(plan_id).lifts.to_pylist():
            if x["metric"] == "revenue" and x["action"] != "(all)" and x["action"] not in latest:
                latest[x["action"]] = {**x, "plan_id": plan_id}
    section = Section("actions", ("行动效果(对照组)", "What the actions achieved (against holdout)"),
                      "ads_action_plan, dwd_orders (custlens actions measure)",
                      {"plan_id": "text", "action_name": "text", "metric": "text", "treated": "kpi_m",
                       "holdout": "kpi_m", "lift": "kpi_m", "ci_low": "kpi_m", "ci_high": "kpi_m",
                       "significant": "text", "incremental_total": "kpi_m", "complete": "text"},
                      rows, pick(r.lang, "按意向处理(计划名单 vs 随机对照组), 95% 区间。",
                                 "Intent to treat (planned list against its random holdout), 95% interval."))
    return section, latest


def _recommend(ws: Any, r: OpsReport, latest: dict[str, dict[str, Any]]) -> Section:
    """Each playbook action for the next period: keep, stop or measure more, from its
    latest measured revenue lift × the size of its latest list."""
    sizes: dict[str, int] = {}
    if ws.action_plans().num_rows:
        _, summary = ws.plan_summary("latest")
        sizes = {x["action"]: int(x["treated"]) for x in summary.to_pylist()}
    rows = []
    for action in ws.playbook():
        m, size = latest.get(action.name), sizes.get(action.name, 0)
        if m is None or m["lift"] is None:
            verdict = pick(r.lang, "尚无测量: 保留对照组运行一期", "not measured yet: run it with a holdout")
            effect = low = high = None
        else:
            effect, low, high = (m["lift"] * size, m["ci_low"] * size, m["ci_high"] * size)
            if m["significant"] and m["lift"] > 0:
                verdict = pick(r.lang, "继续", "keep")
            elif m["ci_high"] < 0:
                verdict = pick(r.lang, "停止或改写", "stop or rewrite")
            else:
                verdict = pick(r.lang, "效果未证实: 继续测量", "not proven: keep measuring")
        rows.append({"action_name": action.display(r.lang), "recommendation": verdict,
                     "list_size": size, "lift_per_customer": m and m["lift"],
                     "expected_effect": effect, "effect_low": low, "effect_high": high,
                     "measured_in": m and m["plan_id"], "_action": action.name})
    rows.sort(key=lambda x: -(x["expected_effect"] or float("-inf")))
    return Section("recommendations", ("下期建议行动", "Recommended actions for the next period"),
                   pick(r.lang, "ads_action_plan, dwd_orders (测得的提升); 名单人数: 最近的计划",
                        "ads_action_plan, dwd_orders (measured lifts); list sizes: the latest plan"),
                   {"action_name": "text", "recommendation": "text", "list_size": "num",
                    "lift_per_customer": "money", "expected_effect": "money",
                    "effect_low": "money", "effect_high": "money", "measured_in": "text"}, rows,
                   pick(r.lang, "预期效果 = 最近一次测得的人均收入提升 × 最近名单人数, 含 95% 区间。",
                        "Expected effect = the latest measured revenue lift per customer × the "
                        "latest list's size, with its 95% interval."))


def _findings(r: OpsReport) -> list[str]:
    out = []
    kpis = {x["kpi"]: x for x in r.section("kpis").rows}
    for kpi in ("gmv", "buyers", "conversion"):
        x = kpis[kpi]
        if x["change"] is not None:
            out.append(pick(r.lang, f"{x['kpi_name']} {_fmt(r, kpi, x['this_period'])}, 环比 {x['change']:+.1%}",
                            f"{x['kpi_name']} {_fmt(r, kpi, x['this_period'])}, {x['change']:+.1%} on the period before"))
    for a in [x for x in r.section("anomalies").rows if x["driver"]][:3]:
        out.append(pick(r.lang, f"{a['date']} {a['kpi_name']} {a['direction']}, 主因 {a['driver']}",
                        f"{a['date']} {a['kpi_name']} {a['direction']}, driven by {a['driver']}"))
    keep = [x for x in r.section("recommendations").rows if x["expected_effect"] and x["expected_effect"] > 0
            and x["effect_low"] is not None and x["effect_low"] > 0]
    for x in keep[:3]:
        out.append(pick(r.lang, f"建议继续 {x['action_name']}: 预期增收 {i18n.money(x['expected_effect'], r.lang, r.currency)}",
                        f"Keep {x['action_name']}: expected {i18n.money(x['expected_effect'], r.lang, r.currency)} more revenue"))
    return out


def build(ws: Any, period: str, day: dt.date | None = None, lang: str | None = None) -> OpsReport:
    """The report's figures for the period holding `day` (default: the last complete one)."""
    lang = lang or ws.settings.lang
    ws.build(["ads_monitor", "ads_periods"])
    last = ws.sql("SELECT max(date) FROM dws_shop_day WHERE in_span").column(0)[0].as_py()
    if last is None:
        raise CustlensError("no data to report on", hint="custlens import …, then custlens build")
    start, end = bounds(period, day or last_complete(period, last))
    prev_end = start - dt.timedelta(days=1)
    days = ws.sql(f"""SELECT count(*) FROM dws_shop_day WHERE in_span
        AND date BETWEEN DATE '{start}' AND DATE '{end}'""").column(0)[0].as_py()
    if not days:
        raise CustlensError(f"no data from {start} to {end}", hint=f"the data ends on {last}")
    r = OpsReport(period, start, end, (bounds(period, prev_end)[0], prev_end), days, lang,
                  str(ws.settings.get("shop.currency")), [], [])
    actions, latest = _actions(ws, r)
    r.sections = [_kpis(ws, r), _anomalies(ws, r), _migration(ws, r), _campaigns(ws, r),
                  actions, _recommend(ws, r, latest)]
    r.findings = _findings(r)
    return r


# ---- rendering ---------------------------------------------------------------------------
def _cell(r: OpsReport, row: dict[str, Any], column: str, kind: str) -> str:
    v = row.get(column)
    if v is None:
        return "—"
    if isinstance(v, bool):
        return pick(r.lang, "是" if v else "否", "yes" if v else "no")
    if kind == "kpi":
        return i18n.kpi_value(row["kpi"], v, r.lang, r.currency)
    if kind == "kpi_m":  # an action's metric: revenue per customer or a conversion
        return (f"{v:.2%}" if row.get("_metric") == "converted" and column != "incremental_total"
                else f"{v:,.1f}" if row.get("_metric") == "converted"
                else i18n.money(v, r.lang, r.currency, 2))
    if kind == "pct" and column in ("change", "gmv_per_day_yoy"):
        return f"{v:+.1%}"  # a change: its sign is the news
    if isinstance(v, int | float):
        return number_text(kind, v, r.lang, r.currency)
    return str(v)


def _fmt(r: OpsReport, kpi: str, v: float | None) -> str:
    return i18n.kpi_value(kpi, v, r.lang, r.currency)


def title(r: OpsReport) -> str:
    kind = pick(r.lang, "运营周报" if r.period == "week" else "运营月报",
                "Weekly operations report" if r.period == "week" else "Monthly operations report")
    return f"{kind} {r.start} – {r.end}"


CSS = """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;margin:24px auto;
max-width:1080px;color:#1f2933;padding:0 16px}h1{font-size:24px;margin-bottom:4px}
h2{font-size:19px;border-bottom:2px solid #3b6fb6;padding-bottom:4px;margin-top:32px}
.meta,.note{color:#66788a;font-size:12px}.findings li{margin:4px 0}
table{border-collapse:collapse;margin:10px 0;font-size:13px}td,th{border-bottom:1px solid #dde3ea;
padding:4px 10px;text-align:right}th{background:#f2f6fb}td:first-child,th:first-child{text-align:left}
svg{max-width:100%;height:auto}
"""


def html(r: OpsReport) -> str:
    """One self-contained page (styles and SVG inline, nothing fetched)."""
    parts = [f"<h1>{escape(title(r))}</h1>",
             f'<p class="meta">{escape(pick(r.lang, "对比上期", "against"))} {r.previous[0]} – '
             f"{r.previous[1]} · {escape(r.currency)}"
             + ("" if r.complete else escape(pick(
                 r.lang, f" · 本期仅 {r.days_with_data} 天有数据",
                 f" · only {r.days_with_data} days of the period have data"))) + "</p>",
             '<ul class="findings">' + "".join(f"<li>{escape(f)}</li>" for f in r.findings) + "</ul>"]
    for s in r.sections:
        head = "".join(f"<th>{escape(i18n.heading(c, r.lang))}</th>" for c in s.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(_cell(r, row, c, k))}</td>"
                                        for c, k in s.columns.items()) + "</tr>" for row in s.rows)
        table = (f"<table><tr>{head}</tr>{body}</table>" if s.rows
                 else f'<p class="note">{escape(pick(r.lang, "本期无", "none this period"))}</p>')
        parts.append(f'<section id="{s.key}"><h2>{escape(pick(r.lang, *s.title))}</h2>{s.chart}'
                     f'{table}<p class="note">{escape(s.note)} '
                     f'{escape(pick(r.lang, "来源", "source"))}: {escape(s.source)}</p></section>')
    lang = "zh-CN" if r.lang == "zh" else "en"
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>'
            f"{escape(title(r))}</title><style>{CSS}</style></head><body>{''.join(parts)}"
            "</body></html>\n")


def xlsx(r: OpsReport, out: Path) -> None:
    """A sheet per section (figures as numbers, headings translated), the findings first
    and the sources last."""
    def raw(v: Any) -> Any:
        return pick(r.lang, "是" if v else "否", "yes" if v else "no") if isinstance(v, bool) else v

    heading = pick(r.lang, "要点", "findings")
    sheets = [(pick(r.lang, "要点", "Findings"), [title(r)], [{heading: f} for f in r.findings])]
    for s in r.sections:
        sheets.append((pick(r.lang, *s.title), [i18n.heading(c, r.lang) for c in s.columns],
                       [{c: raw(row.get(c)) for c in s.columns} for row in s.rows]))
    sheets.append((pick(r.lang, "来源", "Sources"),
                   [pick(r.lang, "部分", "section"), pick(r.lang, "来源表", "tables")],
                   [{"s": pick(r.lang, *s.title), "t": s.source} for s in r.sections]))
    write_xlsx_sheets(sheets, out)


def write(r: OpsReport, out: Path) -> None:
    """HTML or XLSX by the file's suffix."""
    if out.suffix.lower() == ".xlsx":
        xlsx(r, out)
    elif out.suffix.lower() in (".html", ".htm"):
        out.write_text(html(r), encoding="utf-8")
    else:
        raise CustlensError(f"--out {out}: the operations report is .html or .xlsx")
