"""ads_monitor — every day's KPIs against what that kind of day is expected to show.

One row per date × KPI × scope, every day of the data's span (not only the anomalies),
so a chart can draw the series with its band. Scopes: `all`, `channel=…`, `class=…`
(today's operational class: how today's core customers behaved day by day) and
`category=…` (the `monitor.top_categories` with most events). The maths, and why each
day is compared with days of its own kind, is in analysis/monitor.py.

A scope lacks the KPIs its inputs cannot give: categories have no refunds or first
orders (an order's lines may span categories), a shop without behaviour events has no
visitors, conversion or bounce rate. `driver` names, for an anomaly of scope `all`, the
channel, category or class whose own deviation in the same direction is largest: the
place to look first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pyarrow as pa

from custlens.analysis import monitor
from custlens.warehouse.context import BuildContext
from custlens.warehouse.model import Column, Model

# an order's lines may span categories: its refund or first order is no category's
NOT_BY_CATEGORY = ("refund_rate", "new_buyers", "returning_buyers")
FIGURES = ("visitors", "bounced", "buyers", "new_buyers", "orders", "gmv", "refunded_orders")

VISITS = """count(*) AS visitors,
           count(CASE WHEN pv = 1 AND other = 0 THEN 1 END) AS bounced"""
SALES = """count(CASE WHEN o.in_gmv THEN 1 END) AS orders,
           count(DISTINCT CASE WHEN o.in_gmv THEN o.user_id END) AS buyers,
           count(DISTINCT CASE WHEN o.is_first_order THEN o.user_id END) AS new_buyers,
           CAST(coalesce(sum(CAST(o.amount AS DECIMAL(38, 6))) FILTER (WHERE o.in_gmv), 0) AS DOUBLE) AS gmv,
           count(CASE WHEN o.in_gmv AND o.status = 'refunded' THEN 1 END) AS refunded_orders"""

SQL = """
WITH span AS (SELECT date FROM dws_shop_day WHERE in_span),
channels AS (
    SELECT DISTINCT channel FROM dws_customer_category_day WHERE channel IS NOT NULL
),
top_categories AS (
    SELECT category_id FROM dws_customer_category_day
    WHERE category_id IS NOT NULL AND dt < {as_of}
    GROUP BY category_id
    ORDER BY sum(count_pv + count_fav + count_cart + count_buy) DESC, category_id
    LIMIT {top_categories}
),
classes AS (SELECT user_id, class FROM ads_customer_class),
channel_users AS (
    SELECT dt, coalesce(channel, '(none)') AS channel, user_id, sum(count_pv) AS pv,
           sum(count_fav + count_cart + count_buy) AS other
    FROM dws_customer_category_day
    WHERE dt < {as_of} AND EXISTS (SELECT 1 FROM channels)
    GROUP BY dt, coalesce(channel, '(none)'), user_id
),
category_users AS (
    SELECT c.dt, c.category_id, c.user_id, sum(c.count_pv) AS pv,
           sum(c.count_fav + c.count_cart + c.count_buy) AS other
    FROM dws_customer_category_day c JOIN top_categories t USING (category_id)
    WHERE c.dt < {as_of}
    GROUP BY c.dt, c.category_id, c.user_id
),
visits AS (
    SELECT dt AS date, 'channel=' || channel AS scope, VISITS FROM channel_users GROUP BY 1, 2
    UNION ALL
    SELECT dt, 'category=' || category_id, VISITS FROM category_users GROUP BY 1, 2
    UNION ALL
    SELECT d.dt, 'class=' || k.class, VISITS
    FROM (SELECT dt, user_id, count_pv AS pv, count_fav + count_cart + count_buy AS other
          FROM dws_customer_day
          WHERE dt < {as_of} AND count_pv + count_fav + count_cart + count_buy > 0) d
    JOIN classes k USING (user_id)
    GROUP BY 1, 2
),
sales AS (
    SELECT o.order_date AS date, 'channel=' || coalesce(o.channel, '(none)') AS scope, SALES
    FROM dwd_orders o
    WHERE o.order_date < {as_of} AND EXISTS (SELECT 1 FROM channels)
    GROUP BY 1, 2
    UNION ALL
    SELECT o.order_date, 'class=' || k.class, SALES
    FROM dwd_orders o JOIN classes k USING (user_id)
    WHERE o.order_date < {as_of}
    GROUP BY 1, 2
    UNION ALL
    SELECT i.dt, 'category=' || i.category_id, CAST(sum(i.orders) AS BIGINT),
           count(DISTINCT i.user_id), NULL, coalesce(sum(i.amount), 0), NULL
    FROM dws_customer_item_day i JOIN top_categories t USING (category_id)
    WHERE i.dt < {as_of}
    GROUP BY 1, 2
)
SELECT 'all' AS scope, date, visitors, bounced, buyers, new_buyers, orders, gmv, refunded_orders
FROM dws_shop_day WHERE in_span
UNION ALL
SELECT coalesce(v.scope, s.scope), coalesce(v.date, s.date), coalesce(v.visitors, 0),
       coalesce(v.bounced, 0), coalesce(s.buyers, 0),
       CASE WHEN coalesce(v.scope, s.scope) LIKE 'category=%' THEN NULL ELSE coalesce(s.new_buyers, 0) END,
       coalesce(s.orders, 0), coalesce(s.gmv, 0),
       CASE WHEN coalesce(v.scope, s.scope) LIKE 'category=%' THEN NULL ELSE coalesce(s.refunded_orders, 0) END
FROM visits v FULL JOIN sales s ON s.scope = v.scope AND s.date = v.date
WHERE coalesce(v.date, s.date) IN (SELECT date FROM span)
""".replace("VISITS", VISITS).replace("SALES", SALES)

DAYS_SQL = """SELECT date, kind, period_name, phase, weekday, is_weekend FROM dws_shop_day
WHERE in_span ORDER BY date"""


def run(ctx: BuildContext) -> pa.Table:
    settings = ctx.param("monitor")
    tuning = monitor.MonitorSettings.from_config(settings)
    facts = ctx.engine.query(SQL.format_map(ctx.sql_params())).to_pylist()
    calendar = ctx.engine.query(DAYS_SQL).to_pylist()
    rows = assess_all(facts, calendar, tuning)
    partial = partial_days(ctx, calendar)
    for r in rows:
        if r["date"] in partial:  # not over yet: its figures would read as a drop
            r.update(is_anomaly=None, direction=None, driver=None, note="partial_day")
    ctx.notes["ads_monitor"] = {
        "anomalies": sum(1 for r in rows if r["is_anomaly"]),
        "scopes": len({r["scope"] for r in rows}), "days": len(calendar),
        "settings": tuning.__dict__,
    }
    return pa.Table.from_pylist(rows, schema=SCHEMA)


DAY_ENDS_SQL = """
SELECT day, max(ts) AS last_ts FROM (
    SELECT dt AS day, ts FROM dwd_events
    WHERE dt >= (SELECT max(dt) FROM dwd_events) - INTERVAL 29 DAY
    UNION ALL
    SELECT order_date, order_ts FROM dwd_orders
    WHERE order_date >= (SELECT max(order_date) FROM dwd_orders) - INTERVAL 29 DAY
) t GROUP BY day ORDER BY day"""
PARTIAL_BEFORE_HOUR = 12  # the last day's data ends before noon: a fragment, not a day
EARLY_HOURS = 2.0  # … or this much before the hour the shop's days usually end


def partial_days(ctx: BuildContext, calendar: list[dict[str, Any]]) -> set[Any]:
    """Dates that are not complete days: today and later in the shop's time zone, and the
    span's last date when its data stops before noon or well before the hour the last
    four weeks' days usually ended (a run mid-morning; Online Retail's last day, cut at
    12:31 where its days end near 19:00)."""
    from zoneinfo import ZoneInfo

    if not calendar:
        return set()
    zone = ZoneInfo(ctx.settings.tz)
    today = dt.datetime.now(zone).date()
    out = {c["date"] for c in calendar if c["date"] >= today}
    ends = [(r["day"], r["last_ts"].astimezone(zone)) for r in
            ctx.engine.query(DAY_ENDS_SQL).to_pylist() if r["last_ts"] is not None]
    if not ends or ends[-1][0] != calendar[-1]["date"]:
        return out

    def hour(t: dt.datetime) -> float:
        return t.hour + t.minute / 60

    last_day, last = ends[-1]
    earlier = [hour(t) for d, t in ends[:-1] if t.date() == d]
    usual = sorted(earlier)[len(earlier) // 2] if len(earlier) >= 7 else None
    if last.date() == last_day and (hour(last) < PARTIAL_BEFORE_HOUR
                                   or (usual is not None and hour(last) < usual - EARLY_HOURS)):
        out.add(last_day)
    return out


def assess_all(facts: list[dict[str, Any]], calendar: list[dict[str, Any]],
               tuning: monitor.MonitorSettings) -> list[dict[str, Any]]:
    """Every scope's every KPI assessed, then each `all` anomaly given its driver."""
    by_scope: dict[str, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for f in facts:
        by_scope[f["scope"]][f["date"]] = f
    rows: list[dict[str, Any]] = []
    for scope in sorted(by_scope, key=lambda s: (s != "all", s)):
        rows += _scope_rows(scope, by_scope[scope], calendar, tuning)
    _name_drivers(rows)
    return rows


def _scope_rows(scope: str, figures: dict[Any, dict[str, Any]], calendar: list[dict[str, Any]],
                tuning: monitor.MonitorSettings) -> list[dict[str, Any]]:
    zero = dict.fromkeys(FIGURES, 0)
    per_day = [figures.get(c["date"], zero) for c in calendar]
    has = {f: any((d.get(f) or 0) > 0 for d in per_day) for f in FIGURES}
    has["returning_buyers"] = has["buyers"]
    out: list[dict[str, Any]] = []
    for kpi, (_, volume_of) in monitor.KPIS.items():
        if not _available(kpi, scope, has):
            continue
        days = [_day(kpi, volume_of, c, d) for c, d in zip(calendar, per_day, strict=True)]
        for c, day, v in zip(calendar, days, monitor.assess(kpi, days, tuning), strict=True):
            out.append({"date": c["date"], "kpi": kpi, "scope": scope, "actual": v.actual,
                        "expected": v.expected, "low": v.low, "high": v.high,
                        "is_anomaly": v.is_anomaly, "direction": v.direction, "driver": None,
                        "note": v.note, "day_kind": day.kind, "volume": day.volume})
    return out


def _available(kpi: str, scope: str, has: dict[str, bool]) -> bool:
    needs = {"visitors": ("visitors",), "buyers": ("buyers",), "orders": ("orders",),
             "gmv": ("gmv",), "conversion": ("visitors", "buyers"), "avg_per_buyer": ("gmv", "buyers"),
             "aov": ("gmv", "orders"), "bounce_rate": ("visitors",), "refund_rate": ("orders",),
             "new_buyers": ("buyers",), "returning_buyers": ("buyers",)}[kpi]
    if scope.startswith("category=") and kpi in NOT_BY_CATEGORY:
        return False
    return all(has[f] for f in needs)


def _day(kpi: str, volume_of: str, cal: dict[str, Any], f: dict[str, Any]) -> monitor.Day:
    figures = {k: float(f.get(k) or 0) for k in FIGURES}
    figures["returning_buyers"] = figures["buyers"] - figures["new_buyers"]
    volume = figures[volume_of]
    kind = monitor.day_kind(cal["kind"], cal["period_name"], cal["phase"])
    numerator = figures[monitor.NUMERATOR[kpi]] if kpi in monitor.NUMERATOR else figures[kpi]
    if kpi in monitor.NUMERATOR:
        value = numerator / volume if volume > 0 else None
    else:
        value = figures[kpi]
    rhythm = monitor.rhythm_day(int(cal["weekday"]), bool(cal["is_weekend"]))
    return monitor.Day(cal["date"], kind, rhythm, value, volume, numerator)


def _name_drivers(rows: list[dict[str, Any]]) -> None:
    """For each anomaly of scope all: the scope whose own deviation, in the same
    direction, explains most of it — counted in the KPI's units, × its volume for shares
    and averages (a small channel's wild rate does not outweigh a large one's real drop).
    A channel that explains half or more is named first: it is what an operator can act
    on (bot traffic on one channel is also a rise in browsers, everywhere)."""
    others: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["scope"] != "all" and r["expected"] is not None and r["actual"] is not None:
            others[(r["date"], r["kpi"])].append(r)
    for r in rows:
        if r["scope"] != "all" or not r["is_anomaly"]:
            continue
        sign = 1 if r["direction"] == "up" else -1
        scaled = monitor.KPIS[r["kpi"]][0] in ("rate", "ratio")

        def gap(o: dict[str, Any], sign: int = sign, scaled: bool = scaled) -> float:
            return (o["actual"] - o["expected"]) * sign * (o["volume"] if scaled else 1)

        candidates = [(gap(o), o["scope"]) for o in others.get((r["date"], r["kpi"]), [])]
        candidates = [c for c in candidates if c[0] > 0]
        if not candidates:
            continue
        total = gap(r) if r["expected"] is not None else max(c[0] for c in candidates)
        channels = [c for c in candidates if c[1].startswith("channel=")]
        best_channel = max(channels, default=None)
        if best_channel and total > 0 and best_channel[0] >= 0.5 * total:
            r["driver"] = best_channel[1]
        else:
            r["driver"] = max(candidates)[1]


SCHEMA = pa.schema([
    ("date", pa.date32()), ("kpi", pa.string()), ("scope", pa.string()),
    ("actual", pa.float64()), ("expected", pa.float64()), ("low", pa.float64()),
    ("high", pa.float64()), ("is_anomaly", pa.bool_()), ("direction", pa.string()),
    ("driver", pa.string()), ("note", pa.string()), ("day_kind", pa.string()),
    ("volume", pa.float64()),
])

MODEL = Model(
    name="ads_monitor",
    grain="one row per date in the data's span × KPI × scope",
    description="Daily KPIs against campaign-aware expectations: interval, verdict, driver.",
    depends=("dws_shop_day", "dws_customer_day", "dws_customer_category_day",
             "dws_customer_item_day", "dwd_orders", "ads_customer_class"),
    run=run,
    params=("as_of", "monitor"),
    helpers=(monitor,),
    columns=(
        Column("date", "DATE", not_null=True),
        Column("kpi", "VARCHAR", not_null=True, accepted=tuple(monitor.KPIS)),
        Column("scope", "VARCHAR", "all, channel=…, class=…, category=…", not_null=True),
        Column("actual", "DOUBLE", "NULL when the KPI has no base that day (no visitors …)"),
        Column("expected", "DOUBLE", "for that kind of day; NULL without comparable history"),
        Column("low", "DOUBLE", "the interval's lower end"),
        Column("high", "DOUBLE", "the interval's upper end"),
        Column("is_anomaly", "BOOLEAN", "NULL: no verdict (see note)"),
        Column("direction", "VARCHAR", accepted=("up", "down", "gap")),
        Column("driver", "VARCHAR", "the scope that explains most of an `all` anomaly"),
        Column("note", "VARCHAR", "why there is no verdict, or data_gap",
               accepted=monitor.NOTES),
        Column("day_kind", "VARCHAR", "daily, promo_day, campaign:NAME:PHASE, holiday:NAME",
               not_null=True),
        Column("volume", "DOUBLE", "the count behind the figure (visitors, orders …)",
               not_null=True),
    ),
)
