"""The shop calendar: each local date's kind, campaign period and phase.

Kinds, first match wins (DESIGN.md "Calendar"): `campaign` (双十一, 618, 双十二 and shop
campaigns, in `warmup` or `peak` phase) > `promo_day` (1-1 … 10-10 and configured days)
> `holiday` (Chinese public holidays from the chinese-calendar package, and those listed
in `[calendar] holidays`) > `daily`.

chinese-calendar knows 2004–2026 only. A later year's holidays and 调休 working days come
from config; a year with neither is one whose holidays are unknown (`holiday_known`
false), and the build says so. A shop outside China (`[shop] country` other than CN)
gets no Chinese holidays, no 双十一/618/双十二 and no monthly double-number promo days —
only what its config names — so its days are judged by weekday and trend.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa

__all__ = ["Campaign", "DEFAULT_CAMPAIGNS", "ShopCalendar", "calendar_table", "classify"]


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


def _chinese_holiday(day: dt.date) -> tuple[bool, bool, bool, str | None]:
    """(known, is_holiday, is_makeup_workday, name) from chinese-calendar."""
    import chinese_calendar

    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        workday = chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False, False, False, None
    makeup = workday and day.weekday() >= 5
    return True, bool(on_holiday and name), makeup, name if on_holiday else None


def _month_day(text: str) -> tuple[int, int]:
    """A `promo_days` entry "MM-DD" as (month, day)."""
    month, day = text.split("-")
    return int(month), int(day)


def _dates(entry: Any, where: str) -> tuple[list[dt.date], str | None, str | None]:
    """A `[calendar] holidays` entry: "YYYY-MM-DD", or {date | start+end, name, name_en}."""
    from custlens.errors import CustlensError

    try:
        if isinstance(entry, str | dt.date):
            return [dt.date.fromisoformat(str(entry))], None, None
        if "date" in entry:
            days = [dt.date.fromisoformat(str(entry["date"]))]
        else:
            first = dt.date.fromisoformat(str(entry["start"]))
            last = dt.date.fromisoformat(str(entry["end"]))
            if last < first:
                raise ValueError(f"end {last} before start {first}")
            days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    except (KeyError, TypeError, ValueError) as exc:
        raise CustlensError(f"{where}: {entry!r} is not a date or a date range ({exc})",
                            hint='e.g. holidays = [{start = "2027-02-06", end = "2027-02-12", '
                            'name = "春节", name_en = "Spring Festival"}]') from exc
    name = entry.get("name")
    return days, name, entry.get("name_en", name)


@dataclass(frozen=True)
class ShopCalendar:
    """What a shop's days are: its campaigns, promo days and holidays (config + country)."""

    campaigns: tuple[Campaign, ...] = DEFAULT_CAMPAIGNS
    promo_days: frozenset[tuple[int, int]] = frozenset()
    monthly_promo: bool = True  # 1-1 … 10-10, a Chinese platform habit
    chinese: bool = True  # chinese-calendar's holidays and 调休
    holidays: tuple[tuple[dt.date, str | None, str | None], ...] = ()
    makeup_workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def from_config(cls, config: dict[str, Any], country: str = "CN") -> ShopCalendar:
        china = str(country or "CN").upper() in ("CN", "CHN")
        own = tuple(Campaign.from_config(c) for c in config.get("campaigns", []))
        holidays = []
        for n, entry in enumerate(config.get("holidays", []), start=1):
            days, name, name_en = _dates(entry, f"calendar.holidays[{n}]")
            holidays += [(d, name, name_en) for d in days]
        makeup = frozenset(d for n, e in enumerate(config.get("makeup_workdays", []), 1)
                           for d in _dates(e, f"calendar.makeup_workdays[{n}]")[0])
        return cls(campaigns=(DEFAULT_CAMPAIGNS if china else ()) + own,
                   promo_days=frozenset(_month_day(d) for d in config.get("promo_days", [])),
                   monthly_promo=china, chinese=china, holidays=tuple(holidays),
                   makeup_workdays=makeup)

    @cached_property
    def configured_years(self) -> frozenset[int]:
        """Years whose holidays config lists: there, config alone says what a day is."""
        return frozenset(d.year for d, _, _ in self.holidays) | {d.year for d in self.makeup_workdays}

    @cached_property
    def _named(self) -> dict[dt.date, tuple[str | None, str | None]]:
        return {d: (zh, en) for d, zh, en in self.holidays}

    def holiday(self, day: dt.date) -> tuple[bool, bool, bool, str | None, str | None]:
        """(known, is_holiday, is_makeup_workday, name, name_en): config first, then
        chinese-calendar (a configured year is known from config alone)."""
        if day.year in self.configured_years:
            if day in self._named:
                zh, en = self._named[day]
                return True, True, False, zh or "节假日", en or zh or "holiday"
            return True, False, day in self.makeup_workdays and day.weekday() >= 5, None, None
        if not self.chinese:
            return False, False, False, None, None
        known, is_holiday, makeup, name = _chinese_holiday(day)
        return known, is_holiday, makeup, HOLIDAY_ZH.get(name, name) if name else None, name

    def classify(self, day: dt.date) -> dict[str, Any]:
        known, is_holiday, makeup, holiday, holiday_en = self.holiday(day)
        row: dict[str, Any] = {
            "date": day, "kind": "daily", "period_name": None, "period_name_en": None,
            "phase": None, "is_holiday": is_holiday, "is_makeup_workday": makeup,
            "holiday_known": known, "weekday": day.isoweekday(),
            "is_weekend": day.weekday() >= 5 and not makeup,
        }
        hit = _campaign_of(day, self.campaigns)
        if hit:
            c, phase = hit
            row.update(kind="campaign", period_name=c.name, period_name_en=c.name_en, phase=phase)
        elif (self.monthly_promo and day.month == day.day) or (day.month, day.day) in self.promo_days:
            label = f"{day.month}.{day.day}"
            row.update(kind="promo_day", period_name=label, period_name_en=label)
        elif is_holiday and holiday:
            row.update(kind="holiday", period_name=holiday, period_name_en=holiday_en)
        return row

    def table(self, start: dt.date, end: dt.date) -> pa.Table:
        """One row per date from start to end inclusive."""
        days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
        return pa.Table.from_pylist([self.classify(d) for d in days], schema=SCHEMA)


def classify(day: dt.date, campaigns: tuple[Campaign, ...] = DEFAULT_CAMPAIGNS,
             promo_days: frozenset[tuple[int, int]] = frozenset()) -> dict[str, Any]:
    """A Chinese shop's day with these campaigns (ShopCalendar.classify for any shop)."""
    return ShopCalendar(campaigns=campaigns, promo_days=promo_days).classify(day)


SCHEMA = pa.schema([
    ("date", pa.date32()), ("kind", pa.string()), ("period_name", pa.string()),
    ("period_name_en", pa.string()), ("phase", pa.string()), ("is_holiday", pa.bool_()),
    ("is_makeup_workday", pa.bool_()), ("holiday_known", pa.bool_()),
    ("weekday", pa.int64()), ("is_weekend", pa.bool_()),
])


def calendar_table(start: dt.date, end: dt.date, config: dict[str, Any]) -> pa.Table:
    """One row per date from start to end inclusive (`config`: `[calendar]` plus `country`)."""
    return ShopCalendar.from_config(config, config.get("country", "CN")).table(start, end)
