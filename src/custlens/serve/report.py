"""`custlens report --out FILE.html`: one self-contained page an operator can forward.

Everything is inline — styles, SVG charts, numbers — so it opens offline and behind a
firewall; nothing is fetched. Text in zh-CN by default, English with --lang en. Charts
name CJK fonts first (Noto Sans CJK SC, Microsoft YaHei, PingFang SC) so Chinese renders
with what the reader's system has. Amounts are in the shop's currency (i18n.money: ¥ with
万 and 亿 for CNY in Chinese).
No personal contact data appears: lists are counted, not printed.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from html import escape
from typing import Any

from custlens import plots
from custlens.i18n import heading, money, pick
from custlens.views import chart_svg, view
from custlens.views import segments as segment_views
from custlens.views.columns import cell_text

CSS = """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;margin:24px auto;
max-width:1080px;color:#1f2933;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:2px solid #3b6fb6;
padding-bottom:4px;margin-top:36px}.meta{color:#66788a}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#f2f6fb;border-radius:6px;
padding:10px 16px;min-width:140px}.kpi b{display:block;font-size:22px}
table{border-collapse:collapse;margin:10px 0;font-size:13px}td,th{border-bottom:1px solid #dde3ea;
padding:4px 10px;text-align:right}th{background:#f2f6fb}td:first-child,th:first-child{text-align:left}
.note{color:#66788a;font-size:12px}svg{max-width:100%;height:auto}
"""


CURRENCY: ContextVar[str] = ContextVar("currency", default="CNY")  # the shop's, set by render()



def _table(rows: list[dict[str, Any]], columns: list[str] | tuple[str, ...], lang: str) -> str:
    """Rows under translated headings, each value formatted by its column's kind."""
    head = "".join(f"<th>{escape(heading(c, lang))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell_text(c, r.get(c), lang, CURRENCY.get())}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _analysis(ws, name: str, lang: str, limit: int | None = None, **choices: str) -> str:
    """An analysis by its one definition: the chart, then the table of the shown columns."""
    v = view(name)
    table = ws.view(name, **choices)
    if limit is not None:
        table = table.slice(0, limit)
    return chart_svg(v, table, lang) + _table(v.present(table, lang).to_pylist(), v.shown, lang)


def _kpis(ws, lang: str) -> str:
    row = ws.sql("""
        SELECT (SELECT count(*) FROM ads_customer_class) AS customers,
               (SELECT count(*) FROM ads_rfm) AS buyers,
               (SELECT sum(amount) FILTER (WHERE in_gmv) FROM dwd_orders) AS gmv,
               (SELECT count(*) FILTER (WHERE is_paid) FROM dwd_orders) AS orders,
               (SELECT min(order_date) FROM dwd_orders) AS first_day,
               (SELECT max(order_date) FROM dwd_orders) AS last_day""").to_pylist()[0]
    funnel = ws.funnel("all").to_pylist()
    conversion = funnel[0]["conversion"] if funnel else None
    repeat = ws.sql("SELECT avg(CASE WHEN frequency >= 2 THEN 1.0 ELSE 0 END) AS r FROM ads_rfm") \
        .column(0)[0].as_py()
    items = [(pick(lang, "客户", "customers"), f"{row['customers']:,}"),
             (pick(lang, "购买客户", "buyers"), f"{row['buyers']:,}"),
             ("GMV", money(row["gmv"], lang, CURRENCY.get())),
             (pick(lang, "订单", "orders"), f"{row['orders']:,}"),
             (pick(lang, "转化率", "conversion"), "—" if conversion is None else f"{conversion:.1%}"),
             (pick(lang, "复购率", "repeat rate"), "—" if repeat is None else f"{repeat:.1%}")]
    cards = "".join(f'<div class="kpi">{escape(k)}<b>{v}</b></div>' for k, v in items)
    span = f"{row['first_day']} … {row['last_day']}" if row["first_day"] else ""
    return f'<div class="kpis">{cards}</div><p class="meta">{escape(span)}</p>'


def _segments(ws, lang: str) -> str:
    """The segment table by label, the k choice with its reason, and the eight names beside
    rule mode; the same views as `custlens segment` (segment_views)."""
    table = ws.segment_view("segments")
    rows, notes = table.to_pylist(), ws.rfm_notes()
    label = segment_views.label_column(lang)
    chart = segment_views.chart("segments", table, notes, lang)
    kinds = (label, "customers", "share", "mean_recency_days", "mean_frequency", "mean_monetary",
             "monetary_share", "borderline")
    names = ws.segment_view("names").to_pylist()
    name = "segment" if lang == "zh" else "segment_en"
    parts = [f'<p class="note">{escape(ws.segment_caption(lang))}</p>', chart, _table(rows, kinds, lang),
             f"<h3>{escape(segment_views.title('names', notes, lang))}</h3>",
             _table(names, (name, "customers", "tiers", "rule_customers"), lang)]
    k = ws.segment_view("k")
    if k.num_rows:
        parts += [segment_views.chart("k", k, notes, lang),
                  _table(k.to_pylist(), ("k", "silhouette", "calinski_harabasz", "min_share",
                                         "stability", "chosen"), lang)]
    return "".join(parts)


def _classes(ws, lang: str) -> str:
    return _analysis(ws, "classes", lang)


def _periods(ws, lang: str) -> str:
    return _analysis(ws, "period_kinds", lang)


def _funnel(ws, lang: str) -> str:
    rows = ws.funnel("all").to_pylist()
    if not rows:
        return ""
    r = rows[0]
    stages = [("pv", r["users_pv"]), (pick(lang, "收藏或加购", "fav or cart"), r["users_fav_or_cart"]),
              (pick(lang, "购买", "buy"), r["users_buy"])]
    return plots.bars([s for s, _ in stages], [v for _, v in stages],
                      pick(lang, "漏斗（用户数）", "Funnel (users)"))


def _repurchase(ws, lang: str) -> str:
    return _analysis(ws, "repurchase", lang, limit=10)


def _channels(ws, lang: str) -> str:
    return _analysis(ws, "channels", lang, attribution=ws.settings.get("channels.attribution"))


def _clv(ws, lang: str) -> str:
    top = ws.clv().to_pylist()[:10]
    notes = ws.clv_notes()
    if not notes.get("fitted"):
        return f'<p class="note">{escape(str(notes.get("reason", "")))}</p>'
    params = ", ".join(f"{k} = {notes[k]:.3g}" for k in ("r", "alpha", "a", "b", "p", "q", "gamma"))
    return (f'<p class="note">BG/NBD + Gamma-Gamma ({escape(notes["unit"])}): {params}; '
            f'{pick(lang, "预测期", "horizon")} {notes["horizon_days"]} {pick(lang, "天", "days")}</p>'
            + _table(top, view("clv").shown, lang))


def _actions(ws, lang: str) -> str:
    plans = ws.action_plans()
    if plans.num_rows == 0:
        return f'<p class="note">{pick(lang, "尚无触达计划：custlens actions plan", "No plan yet: custlens actions plan")}</p>'
    batch, summary = ws.plan_summary("latest")
    rows = summary.to_pylist()
    chart = plots.bars([r["action_name"] for r in rows], [r["treated"] for r in rows],
                       pick(lang, f"本期触达名单 {batch.options['plan_id']}", f"This period's lists {batch.options['plan_id']}"))
    return chart + _table(rows, ("action_name", "contact_channel", "eligible", "opted_out", "capped",
                                 "treated", "holdout"), lang)


SECTIONS = (
    ("segments", "客户分群（RFM）", "Segments (RFM)", _segments),
    ("classes", "运营分类", "Operational classes", _classes),
    ("periods", "大促与日常", "Campaigns and daily periods", _periods),
    ("funnel", "转化漏斗", "Funnel", _funnel),
    ("repurchase", "复购与会员候选", "Repurchase and membership candidates", _repurchase),
    ("channels", "渠道与投放", "Channels and ads", _channels),
    ("clv", "客户终身价值（CLV）", "Customer lifetime value (CLV)", _clv),
    ("actions", "本期行动名单", "This period's action lists", _actions),
)


def render(ws, lang: str) -> str:
    """The whole page; each section built from the warehouse (brought up to date first)."""
    shop = ws.settings.get("shop")
    CURRENCY.set(shop["currency"])
    parts = [f"<h1>{pick(lang, '电商客户分析报告', 'Customer analysis report')}</h1>",
             f'<p class="meta">{escape(shop["timezone"])} · {escape(shop["currency"])} · '
             f'{pick(lang, "生成于", "made")} {dt.datetime.now():%Y-%m-%d %H:%M}</p>',
             _kpis(ws, lang)]
    for key, zh, en, section in SECTIONS:
        parts.append(f'<section id="{key}"><h2>{escape(pick(lang, zh, en))}</h2>{section(ws, lang)}</section>')
    title = pick(lang, "电商客户分析报告", "Customer analysis report")
    return (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n")


