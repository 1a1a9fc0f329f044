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

from custlens import plots, segment_views
from custlens.i18n import class_name, heading, kind_name, money, pick

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



def _cell(value: Any, kind: str, lang: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return money(value, lang, CURRENCY.get())
    if kind == "pct":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _table(rows: list[dict[str, Any]], columns: dict[str, str], lang: str) -> str:
    """columns: name → kind (text, money, pct, num)."""
    head = "".join(f"<th>{escape(heading(c, lang))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c), k, lang)}</td>" for c, k in columns.items())
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


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
    kinds = {label: "text", "customers": "num", "share": "pct", "mean_recency_days": "num",
             "mean_frequency": "num", "mean_monetary": "money", "monetary_share": "pct",
             "borderline": "text"}
    names = ws.segment_view("names").to_pylist()
    name = "segment" if lang == "zh" else "segment_en"
    parts = [f'<p class="note">{escape(ws.segment_caption(lang))}</p>', chart, _table(rows, kinds, lang),
             f"<h3>{escape(segment_views.title('names', notes, lang))}</h3>",
             _table(names, {name: "text", "customers": "num", "tiers": "num", "rule_customers": "num"}, lang)]
    k = ws.segment_view("k")
    if k.num_rows:
        parts += [segment_views.chart("k", k, notes, lang),
                  _table(k.to_pylist(), {"k": "num", "silhouette": "num", "calinski_harabasz": "num",
                                         "min_share": "pct", "stability": "num", "chosen": "text"}, lang)]
    return "".join(parts)


def _classes(ws, lang: str) -> str:
    rows = [{**r, "class_name": class_name(r["class"], lang)} for r in ws.class_summary().to_pylist()]
    chart = plots.bars([r["class_name"] for r in rows], [r["customers"] for r in rows],
                       pick(lang, "运营分类", "Operational classes"))
    return chart + _table(rows, {"class_name": "text", "customers": "num", "share": "pct",
                                 "lapsed": "num", "campaign_only": "num"}, lang)


def _periods(ws, lang: str) -> str:
    rows = [{**r, "kind": kind_name(r["kind"], lang) + (f" · {r['day_type']}" if r["day_type"] else "")}
            for r in ws.period_kinds().to_pylist()]
    chart = plots.bars([r["kind"] for r in rows], [r["gmv_per_day"] for r in rows],
                       pick(lang, "日均GMV：大促 vs 日常", "GMV per day: campaigns vs daily"))
    return chart + _table(rows, {"kind": "text", "days": "num", "visitors_per_day": "num",
                                 "gmv_per_day": "money", "conversion": "pct", "gmv_lift": "num"}, lang)


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
    rows = ws.repurchase().to_pylist()[:10]
    chart = plots.bars([r["key"] for r in rows], [r["repurchase_rate"] for r in rows],
                       pick(lang, "复购率最高的类目", "Categories by repurchase rate"), percent=True)
    return chart + _table(rows, {"key": "text", "buyers": "num", "repurchase_rate": "pct",
                                 "median_gap_days": "num", "is_membership_candidate": "text"}, lang)


def _channels(ws, lang: str) -> str:
    rows = ws.channels().to_pylist()
    chart = plots.bars([f"{r['channel']} {r['ad_campaign']}".strip() for r in rows],
                       [r["revenue"] for r in rows], pick(lang, "各渠道收入", "Revenue by channel"))
    return chart + _table(rows, {"channel": "text", "ad_campaign": "text", "visitors": "num",
                                 "conversion": "pct", "cost": "money", "revenue": "money",
                                 "roas": "num"}, lang)


def _clv(ws, lang: str) -> str:
    top = ws.clv().to_pylist()[:10]
    notes = ws.clv_notes()
    if not notes.get("fitted"):
        return f'<p class="note">{escape(str(notes.get("reason", "")))}</p>'
    params = ", ".join(f"{k} = {notes[k]:.3g}" for k in ("r", "alpha", "a", "b", "p", "q", "gamma"))
    return (f'<p class="note">BG/NBD + Gamma-Gamma ({escape(notes["unit"])}): {params}; '
            f'{pick(lang, "预测期", "horizon")} {notes["horizon_days"]} {pick(lang, "天", "days")}</p>'
            + _table(top, {"user_id": "text", "frequency": "num", "p_alive": "pct",
                           "expected_purchases": "num", "expected_value": "money"}, lang))


def _actions(ws, lang: str) -> str:
    plans = ws.action_plans()
    if plans.num_rows == 0:
        return f'<p class="note">{pick(lang, "尚无触达计划：custlens actions plan", "No plan yet: custlens actions plan")}</p>'
    batch, summary = ws.plan_summary("latest")
    rows = summary.to_pylist()
    chart = plots.bars([r["action_name"] for r in rows], [r["treated"] for r in rows],
                       pick(lang, f"本期触达名单 {batch.options['plan_id']}", f"This period's lists {batch.options['plan_id']}"))
    return chart + _table(rows, {"action_name": "text", "contact_channel": "text", "eligible": "num",
                                 "opted_out": "num", "capped": "num", "treated": "num",
                                 "holdout": "num"}, lang)


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


