"""What a column is to a reader: its heading, its kind (money, share, count …) and, for a
column of codes, the words for each value — kept once, used by the CLI, the API (and so
the dashboard), and the reports.

The data stays canonical everywhere (English codes, plain numbers): a reader's words are
added at the edge, so a script reading JSON or CSV gets the same values whatever the
language.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from custlens.i18n import CLASSES, KINDS, heading, money, pick

# the words for the values of columns that hold codes
DAY_TYPES = {"all": ("全部", "all days"), "workday": ("工作日", "workdays"),
             "weekend": ("周末", "weekends")}
PHASES = {"warmup": ("预热", "warm-up"), "peak": ("爆发", "peak")}
BREAKDOWNS = {"all": ("全部", "all"), "day": ("按天", "by day"), "period": ("按时期", "by period"),
              "channel": ("按渠道", "by channel"), "category": ("按类目", "by category")}
LEVELS = {"category": ("类目", "category"), "item": ("商品", "item")}
ATTRIBUTIONS = {"last": ("末次触点", "last touch"), "first": ("首次触点", "first touch"),
                "linear": ("线性", "linear")}
UNITS = {"month": ("按月", "by month"), "week": ("按周", "by week")}
VALUE_WORDS: dict[str, Mapping[str, tuple[str, str]]] = {
    "kind": KINDS, "day_type": DAY_TYPES, "phase": PHASES, "class": CLASSES,
    "breakdown": BREAKDOWNS, "level": LEVELS, "attribution": ATTRIBUTIONS, "unit": UNITS,
}

# kinds of number, by column name; anything else that is a number is a plain quantity
MONEY = {"revenue", "cost", "cpa", "monetary", "mean_monetary", "amount", "expected_value",
         "aov", "avg_per_buyer", "spend"}
PERCENT = {"share", "conversion", "rate", "p_alive", "ctr", "pv_to_fav_or_cart",
           "fav_or_cart_to_buy", "gmv_per_day_mom", "gmv_per_day_yoy", "of_visitors",
           "of_previous", "repeat_rate"}


def kind_of(column: str) -> str:
    """money, pct, times (a ratio: × 1.8), code (words per value) or num."""
    if column in PERCENT or column.endswith(("_rate", "_share", "_conversion")):
        return "pct"
    if column.endswith("_lift") or column == "roas":
        return "times"
    if column in MONEY or column.endswith("_spend") or "gmv" in column:
        return "money"
    if column in VALUE_WORDS:
        return "code"
    return "num"


def value_word(column: str, value: object, lang: str) -> object:
    """The reader's word for a code (core → 核心复购客户); other values unchanged."""
    words = VALUE_WORDS.get(column)
    if words is None or not isinstance(value, str) or value not in words:
        return value
    return pick(lang, *words[value])


def meta(column: str, lang: str) -> dict[str, object]:
    """A column as the API describes it: name, heading, kind and the words for its codes."""
    out: dict[str, object] = {"name": column, "label": heading(column, lang), "kind": kind_of(column)}
    if column in VALUE_WORDS:
        out["values"] = {code: pick(lang, *pair) for code, pair in VALUE_WORDS[column].items()}
    return out


def cell_text(column: str, value: object, lang: str, currency: str) -> str:
    """A value as a report prints it (HTML-escaped): the shop's money, shares as %, yes/no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return pick(lang, "是" if value else "否", "yes" if value else "no")
    if isinstance(value, int | float):
        return number_text(kind_of(column), value, lang, currency)
    return escape(str(value_word(column, value, lang)))


def number_text(kind: str, value: int | float, lang: str, currency: str) -> str:
    """A number as a reader sees it, by its kind — the one place the reports (the analyses'
    and the operations report) write money, shares and ratios, so they cannot drift apart."""
    if kind == "money":
        return money(float(value), lang, currency)
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "times":
        return f"× {value:.2f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def percent_columns(columns: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The columns a table writer shows as percentages."""
    return tuple(c for c in columns if kind_of(c) == "pct")
