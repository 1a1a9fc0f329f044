"""The shop calendar: each local date's kind, campaign period and phase.

Kinds, first match wins (DESIGN.md "Calendar"): `campaign` (双十一, 618, 双十二 and shop
campaigns, in `warmup` or `peak` phase) > `promo_day` (1-1 … 10-10 and configured days)
> `holiday` (Chinese public holidays, from the chinese-calendar package) > `daily`.
Outside the years chinese-calendar knows, holidays are unknown (`holiday_known` false).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["Campaign", "DEFAULT_CAMPAIGNS", "calendar_table", "classify"]


@dataclass(frozen=True)
class Campaign:
    name: str
    name_en: str
    peak: tuple[int, int]  # (month, day)
    warmup: tuple[tuple[int, int], tuple[int, int]] | None

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Campaign:
        def md(text: str) -> tuple[int, int]:
            m, d = text.split("-")
            return int(m), int(d)

        warm = raw.get("warmup")
        return cls(raw["name"], raw.get("name_en", raw["name"]), md(raw["peak"]),
                   (md(warm[0]), md(warm[1])) if warm else None)


DEFAULT_CAMPAIGNS = (
    Campaign("双十一", "Double 11", (11, 11), ((10, 20), (11, 10))),
    Campaign("618", "618", (6, 18), ((6, 1), (6, 17))),
    Campaign("双十二", "Double 12", (12, 12), ((12, 10), (12, 11))),
)
HOLIDAY_ZH = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _campaign_of(day: dt.date, campaigns: tuple[Campaign, ...]) -> tuple[Campaign, str] | None:
    md = (day.month, day.day)
    for c in campaigns:
        if md == c.peak:
            return c, "peak"
    for c in campaigns:
        if c.warmup and c.warmup[0] <= md <= c.warmup[1]:
            return c, "warmup"
    return None


def _holiday(day: dt.date) -> tuple[bool, bool, bool, str | None]:
    """(known, is_holiday, is_makeup_workday, name) from chinese-calendar."""
    import chinese_calendar

    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        workday = chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False, False, False, None
    makeup = workday and day.weekday() >= 5
    return True, bool(on_holiday and name), makeup, name if on_holiday else None


def classify(day: dt.date, campaigns: tuple[Campaign, ...] = DEFAULT_CAMPAIGNS,
             promo_days: frozenset[tuple[int, int]] = frozenset()) -> dict[str, Any]:
    known, is_holiday, makeup, holiday = _holiday(day)
    row: dict[str, Any] = {
        "date": day, "kind": "daily", "period_name": None, "period_name_en": None,
        "phase": None, "is_holiday": is_holiday, "is_makeup_workday": makeup,
        "holiday_known": known, "weekday": day.isoweekday(),
        "is_weekend": day.weekday() >= 5 and not makeup,
    }
    hit = _campaign_of(day, campaigns)
    if hit:
        c, phase = hit
        row.update(kind="campaign", period_name=c.name, period_name_en=c.name_en, phase=phase)
    elif day.month == day.day or (day.month, day.day) in promo_days:
        label = f"{day.month}.{day.day}"
        row.update(kind="promo_day", period_name=label, period_name_en=label)
    elif is_holiday and holiday:
        row.update(kind="holiday", period_name=HOLIDAY_ZH.get(holiday, holiday),
                   period_name_en=holiday)
    return row


SCHEMA = pa.schema([
    ("date", pa.date32()), ("kind", pa.string()), ("period_name", pa.string()),
    ("period_name_en", pa.string()), ("phase", pa.string()), ("is_holiday", pa.bool_()),
    ("is_makeup_workday", pa.bool_()), ("holiday_known", pa.bool_()),
    ("weekday", pa.int64()), ("is_weekend", pa.bool_()),
])


def calendar_table(start: dt.date, end: dt.date, config: dict[str, Any]) -> pa.Table:
    """One row per date from start to end inclusive."""
    campaigns = DEFAULT_CAMPAIGNS + tuple(Campaign.from_config(c) for c in config.get("campaigns", []))
    promo = frozenset(tuple(int(x) for x in d.split("-")) for d in config.get("promo_days", []))
    days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return pa.Table.from_pylist([classify(d, campaigns, promo) for d in days], schema=SCHEMA)
