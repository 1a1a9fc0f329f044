"""One definition per analysis: which table, which choices filter it, the row order, the
columns a person reads, the title and the chart.

`custlens funnel --by day`, `GET /api/funnel?by=day`, the HTML report and the dashboard's
funnel page all read `VIEWS["funnel"]`, so their rows, their order and their words cannot
drift apart (they had: the CLI ordered the funnel by day by date, the API by visitors;
period kinds came in business order in one and alphabetically in the other).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from custlens.errors import CustlensError
from custlens.i18n import pick
from custlens.views.columns import BREAKDOWNS, VALUE_WORDS, value_word

Words = tuple[str, str]  # (zh, en)


@dataclass(frozen=True)
class Choice:
    """A choice a reader makes (`--by day`, `?by=day`): the allowed values, the first the
    default; `column` is what it filters (None when it picks nothing by itself)."""

    name: str
    values: tuple[str, ...]
    column: str | None = None

    def words(self, value: str, lang: str) -> str:
        pair = VALUE_WORDS.get(self.column or self.name, {}).get(value)
        return value if pair is None else pick(lang, *pair)


@dataclass(frozen=True)
class Chart:
    """Bars of `value` labelled by `label` (a code column gets its words), first `limit` rows."""

    label: str
    value: str
    title: Words
    limit: int | None = None
    percent: bool = False


@dataclass(frozen=True)
class View:
    name: str
    table: str
    title: Words
    order: str
    shown: tuple[str, ...]  # the columns a person reads, in order (data formats keep all)
    choices: tuple[Choice, ...] = ()
    order_when: Mapping[str, str] = field(default_factory=dict)  # a choice value → its order
    chart: Chart | None = None
    derived: Mapping[str, Callable[[dict[str, Any], str], str]] = field(default_factory=dict)
    query: str | None = None  # SQL instead of the table (a summary over it)

    def choose(self, given: Mapping[str, str | None]) -> dict[str, str]:
        """The choices with defaults filled in; a value not allowed is an error naming it."""
        chosen = {}
        for c in self.choices:
            value = given.get(c.name) or c.values[0]
            if value not in c.values:
                raise CustlensError(f"--{c.name}: {value!r} is not one of {', '.join(c.values)}")
            chosen[c.name] = value
        return chosen

    def sql(self, chosen: Mapping[str, str], where: str = "") -> str:
        """The query of this view for these choices; `where` narrows it further (a date range)."""
        filters = [f"{c.column} = '{chosen[c.name]}'" for c in self.choices if c.column]
        filters += [where] if where else []
        order = next((o for v, o in self.order_when.items() if v in chosen.values()), self.order)
        source = f"({self.query})" if self.query else self.table
        return (f"SELECT * FROM {source} AS v" + (" WHERE " + " AND ".join(filters) if filters else "")
                + f" ORDER BY {order}")

    def heading(self, chosen: Mapping[str, str], lang: str) -> str:
        picked = [c.words(chosen[c.name], lang) for c in self.choices if len(c.values) > 1]
        return " · ".join([pick(lang, *self.title), *picked])

    def present(self, table: pa.Table, lang: str) -> pa.Table:
        """The rows as a person reads them: the shown columns (derived ones computed), codes
        in words. Numbers stay numbers, for the writer to format."""
        rows = table.to_pylist()
        columns: dict[str, pa.Array] = {}
        for name in self.shown:
            if name in self.derived:
                columns[name] = pa.array([self.derived[name](r, lang) for r in rows], pa.string())
            elif name in VALUE_WORDS:
                columns[name] = pa.array([value_word(name, r[name], lang) for r in rows], pa.string())
            else:
                columns[name] = table.column(name)
        return pa.table(columns)


# ---- derived labels -----------------------------------------------------------------------
def period_label(row: dict[str, Any], lang: str) -> str:
    """双十一 预热 2025, 2025-03 日常 …; * when the data covers only part of the period."""
    name = row["period_name"] if lang == "zh" else row["period_name_en"]
    daily = row["kind"] == "daily"
    if daily:
        label = f"{name} {pick(lang, '日常', 'daily')}"
    else:
        phase = value_word("phase", row["phase"], lang) if row["phase"] else ""
        label = f"{name} {phase}".strip() + f" {row['year']}"
    return label + ("" if row["is_complete"] else " *")


def kind_and_days(row: dict[str, Any], lang: str) -> str:
    """大促 · 周末: a period kind with its day type (all days: the kind alone)."""
    kind = str(value_word("kind", row["kind"], lang))
    return kind if row["day_type"] == "all" else f"{kind} · {value_word('day_type', row['day_type'], lang)}"


# ---- the analyses -------------------------------------------------------------------------
KIND_ORDER = ("CASE kind WHEN 'campaign' THEN 0 WHEN 'promo_day' THEN 1 WHEN 'holiday' THEN 2 "
              "ELSE 3 END")
DAY_TYPE_ORDER = "CASE day_type WHEN 'all' THEN 0 WHEN 'workday' THEN 1 ELSE 2 END"
# one row per operational class: size, share, lapsed, campaign-only
CLASS_SUMMARY_SQL = """
    SELECT class, count(*) AS customers, count(*) / sum(count(*)) OVER () AS share,
           count(*) FILTER (WHERE is_lapsed) AS lapsed,
           count(*) FILTER (WHERE is_campaign_only) AS campaign_only
    FROM ads_customer_class GROUP BY class"""
CLASS_ORDER = ("CASE class WHEN 'core' THEN 0 WHEN 'low_repurchase' THEN 1 WHEN 'intent' THEN 2 "
               "ELSE 3 END")

VIEWS: dict[str, View] = {v.name: v for v in (
    View("classes", "ads_customer_class", ("运营分类", "Operational classes"), CLASS_ORDER,
         ("class", "customers", "share", "lapsed", "campaign_only"), query=CLASS_SUMMARY_SQL,
         chart=Chart("class", "customers", ("运营分类", "Operational classes"))),
    View("periods", "ads_periods", ("活动期与日常期 (* 数据未覆盖整个时期)",
                                    "Campaign and daily periods (* the data covers part of it)"),
         "start_date, kind",
         ("period", "kind", "start_date", "days", "visitors", "buyers", "new_buyers", "orders",
          "gmv", "net_gmv", "gmv_per_buyer", "gmv_per_order", "conversion", "refund_rate",
          "gmv_per_day", "gmv_lift", "gmv_per_day_mom", "gmv_per_day_yoy"),
         derived={"period": period_label},
         chart=Chart("period", "gmv_per_day", ("各时期日均 GMV", "GMV per day, by period"))),
    View("period_kinds", "ads_period_kinds", ("各类时期的平均一天 (对比日常期)",
                                              "The average day of each period kind"),
         f"{KIND_ORDER}, {DAY_TYPE_ORDER}",
         ("kind", "day_type", "days", "visitors_per_day", "buyers_per_day", "orders_per_day",
          "gmv_per_day", "net_gmv_per_day", "conversion", "bounce_rate", "visitors_lift",
          "gmv_lift"),
         derived={"period_kind": kind_and_days},
         chart=Chart("period_kind", "gmv_per_day", ("日均 GMV：大促 vs 日常",
                                                    "GMV per day: campaigns vs daily"))),
    View("funnel", "ads_funnel", ("转化漏斗", "Funnel"), "visitors DESC, value",
         ("value", "visitors", "users_pv", "users_fav_or_cart", "users_buy", "bounce_rate",
          "pv_to_fav_or_cart", "fav_or_cart_to_buy", "conversion", "median_hours_to_buy"),
         choices=(Choice("by", tuple(BREAKDOWNS), "breakdown"),),
         order_when={"day": "value", "period": "value"},  # dates and periods in time order
         chart=Chart("value", "conversion", ("转化率", "Conversion"), limit=20, percent=True)),
    View("repurchase", "ads_repurchase", ("复购率最高的类目与商品", "Repurchase by category and item"),
         "rate_rank, key",
         ("key", "buyers", "repeat_buyers", "repurchase_rate", "median_gap_days",
          "returning_share", "is_daily_use", "is_membership_candidate"),
         choices=(Choice("level", ("category", "item"), "level"),),
         chart=Chart("key", "repurchase_rate", ("复购率 (前 20)", "Repurchase rate (top 20)"),
                     limit=20, percent=True)),
    View("channels", "ads_channels", ("渠道与投放", "Channels and ads"),
         "revenue DESC, channel, ad_campaign",
         ("channel", "ad_campaign", "impressions", "clicks", "cost", "visitors", "buyers",
          "conversion", "orders", "revenue", "roas", "cpa", "new_customer_share"),
         choices=(Choice("attribution", ("last", "first", "linear"), "attribution"),),
         derived={"channel_campaign": lambda r, _: f"{r['channel']} {r['ad_campaign']}".strip()},
         chart=Chart("channel_campaign", "revenue", ("各渠道收入", "Revenue by channel"))),
    View("retention", "ads_retention", ("留存（按首购队列）", "Retention by first-order cohort"),
         "cohort, periods_since",
         ("cohort", "periods_since", "cohort_size", "buyers", "rate", "is_partial"),
         choices=(Choice("by", ("month", "week"), "unit"),)),
    View("clv", "ads_clv", ("客户终身价值（CLV）", "Customer lifetime value (CLV)"),
         "expected_value DESC NULLS LAST, user_id",
         ("user_id", "frequency", "p_alive", "expected_purchases", "expected_spend",
          "expected_value")),
)}


def view(name: str) -> View:
    try:
        return VIEWS[name]
    except KeyError:
        raise CustlensError(f"no analysis {name!r}", hint=f"analyses: {', '.join(VIEWS)}") from None


def chart_svg(v: View, table: pa.Table, lang: str) -> str:
    """The view's chart as a standalone SVG (the CLI's --chart and the reports)."""
    from custlens import plots

    if v.chart is None:
        return ""
    c = v.chart
    rows = table.to_pylist()[: c.limit]
    labels = [str(v.derived[c.label](r, lang) if c.label in v.derived else value_word(c.label, r[c.label], lang))
              for r in rows]
    return plots.bars(labels, [r[c.value] for r in rows], pick(lang, *c.title), percent=c.percent)
