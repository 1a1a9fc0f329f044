"""Daily KPI monitoring: what a day of *this kind* is expected to show, and whether it did.

A naive threshold cries wolf on every campaign day (traffic ×6 on 双十一 is expected) and
misses a quiet drop on an ordinary Tuesday, so each day is compared with days of its
own kind (the calendar's `daily`, `promo_day`, a campaign's phase, a holiday):

- An ordinary day's expectation is the **level** (median of the last `level_days`
  ordinary days) times its **weekday effect** (median of that weekday over the last
  `lookback_days` ordinary days ÷ the median of all of them), on a log scale, so trend
  and the weekly rhythm are followed without a model to fit.
- A special day adds its kind's **uplift** over that expectation, measured on earlier
  days of the same kind: the same campaign phase last year or earlier in the same
  instance (warm-up day 5 against warm-up days 1–4), the same holiday, earlier promo
  days. Without such days the row says `no_comparable_history` and gives no verdict:
  the first 双十一 in the data is not an anomaly, it is unknown.
- The interval is ±`z` robust standard deviations (1.4826 × MAD) of the ordinary
  days' past residuals, never narrower than the sampling noise of today's volume
  (Poisson for counts, binomial for rates), widened by the uplift's own spread.
- Too little volume (`min_count` events, `min_base` for a rate's denominator) gives no
  verdict (`low_volume`); a day with nothing where the series usually has plenty is a
  data gap (`direction = gap`), an anomaly of its own, and stays out of later baselines
  as every flagged day does — unless `shift_days` in a row are flagged the same way: a
  shift that lasts is the new level, judged afresh from its own days. A weekday that had nothing on two of its last three
  instances is one the shop is shut (`closed_day`, no verdict); a day with nothing never
  joins a baseline (Online Retail's Saturdays and its Christmas closure, README).

Pure maths on plain sequences; the warehouse model (ads_monitor) feeds it and names the
driver of an anomaly from the scopes' own verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any

# kpi → (kind, volume): kind decides the transform and the noise floor; volume names
# the count whose size makes the figure trustworthy
KPIS: dict[str, tuple[str, str]] = {
    "visitors": ("count", "visitors"),
    "buyers": ("count", "buyers"),
    "orders": ("count", "orders"),
    "gmv": ("money", "orders"),
    "conversion": ("rate", "visitors"),  # buyers ÷ visitors
    "avg_per_buyer": ("ratio", "buyers"),  # 客单价 = GMV ÷ buyers
    "aov": ("ratio", "orders"),  # 笔单价 = GMV ÷ orders
    "bounce_rate": ("rate", "visitors"),  # bounced ÷ visitors
    "refund_rate": ("rate", "orders"),  # refunded orders ÷ orders
    "new_buyers": ("count", "new_buyers"),
    "returning_buyers": ("count", "returning_buyers"),
}
NUMERATOR = {"conversion": "buyers", "avg_per_buyer": "gmv", "aov": "gmv",
             "bounce_rate": "bounced", "refund_rate": "refunded_orders"}
GAP_KPIS = ("visitors", "orders")  # a source that stops sending shows here first


def kpi_values(figures: dict[str, float | None]) -> dict[str, float | None]:
    """Every KPI from the figures they are made of (visitors, bounced, buyers, new_buyers,
    orders, gmv, refunded_orders) — a day's or a whole period's; a share of nothing is None."""
    f = {k: float(v or 0) for k, v in figures.items()}
    f["returning_buyers"] = f["buyers"] - f["new_buyers"]
    out: dict[str, float | None] = {}
    for kpi, (_, volume) in KPIS.items():
        if kpi in NUMERATOR:
            out[kpi] = f[NUMERATOR[kpi]] / f[volume] if f[volume] > 0 else None
        else:
            out[kpi] = f[kpi]
    return out


NOTES = ("no_comparable_history", "low_volume", "warming_up", "data_gap", "no_base",
         "partial_day", "closed_day")


@dataclass(frozen=True)
class MonitorSettings:
    lookback_days: int = 56  # ordinary days before a date that set its weekday effect
    level_days: int = 14  # the most recent ordinary days that set its level
    min_history: int = 21  # ordinary days with data before a first verdict
    z: float = 4.0  # half-width of the interval in robust standard deviations
    min_count: float = 20.0  # expected count (or volume) below this: no verdict
    min_base: float = 100.0  # a rate's denominator below this: no verdict
    uplift_floor: float = 0.15  # a special day's uplift varies by at least this (log)
    shift_days: int = 7  # this many flagged days in a row, one direction: the new level

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> MonitorSettings:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)


@dataclass
class Day:
    """One date of a series: its kind of day and its figures (NULL-free)."""

    date: Any
    kind: str  # day_kind(): "daily", "promo_day", "campaign:双十一:peak", "holiday:春节"
    weekday: int
    value: float | None  # the KPI (None when its denominator is 0)
    volume: float  # the count behind it (visitors for conversion, orders for aov …)
    numerator: float = 0.0  # for rates: the count that is a share of `volume`


@dataclass
class Verdict:
    date: Any
    actual: float | None
    expected: float | None
    low: float | None
    high: float | None
    is_anomaly: bool | None  # None: no verdict (see note)
    direction: str | None  # up, down, gap
    note: str | None


def day_kind(kind: str, period_name: str | None, phase: str | None) -> str:
    """The key days are compared by: campaigns by name and phase, holidays by name."""
    if kind == "campaign":
        return f"campaign:{period_name}:{phase}"
    if kind == "holiday":
        return f"holiday:{period_name}"
    return kind


def rhythm_day(weekday: int, is_weekend: bool) -> int:
    """The weekday a date behaves like: a weekend date that is a make-up workday (调休)
    behaves like a workday (Wednesday's rhythm), not like the Saturday it is."""
    return 3 if weekday >= 6 and not is_weekend else weekday


def _transform(kind: str, day: Day) -> float:
    if kind in ("count", "money"):
        return math.log1p(max(day.value or 0.0, 0.0))
    if kind == "rate":  # smoothed so a day with no refunds is not log(0)
        return math.log((day.numerator + 0.5) / (day.volume + 0.5))
    return math.log(max(day.value or 0.0, 1e-9))


def _inverse(kind: str, y: float) -> float:
    return math.expm1(y) if kind in ("count", "money") else math.exp(y)


def _sampling_bounds(kind: str, centre: float, volume: float, z: float) -> tuple[float, float] | None:
    """Where a figure of this size lands by chance alone (±z), from the Freeman–Tukey
    transforms (Poisson counts: √x + √(x+1); binomial shares: double arcsine), which stay
    honest at small counts where a log scale makes 0 refunds of 120 look like a crash."""
    if kind == "count":
        root = math.sqrt(4 * max(centre, 0.0) + 1)
        low = ((root - z) / 2) ** 2 - 0.25 if root > z else 0.0
        return max(low, 0.0), ((root + z) / 2) ** 2 - 0.25
    if kind == "rate" and volume > 0:
        a = 2 * math.asin(math.sqrt(min(max(centre, 0.0), 1.0)))
        step = z / math.sqrt(volume + 0.5)
        return (math.sin(max(a - step, 0.0) / 2) ** 2,
                math.sin(min(a + step, math.pi) / 2) ** 2)
    return None


def _noise(kind: str, volume: float) -> float:
    """The sampling noise (log scale) of money and money ratios: sums of orders of unequal
    size, noisier than their count (counts and shares: `_sampling_bounds`)."""
    return 1.3 / math.sqrt(volume + 1.0) if kind in ("money", "ratio") else 0.0


def _mad_sigma(values: list[float]) -> float:
    centre = median(values)
    return 1.4826 * median(abs(v - centre) for v in values)


def assess(kpi: str, days: list[Day], settings: MonitorSettings = MonitorSettings()) -> list[Verdict]:
    """A verdict per day, in date order; each day sees only the days before it."""
    kind = KPIS[kpi][0]
    ordinary: list[tuple[int, float, int]] = []  # (day index, y, rhythm day) of usable daily days
    residuals: list[float] = []
    uplifts: dict[str, list[tuple[int, float]]] = {}
    empty: dict[int, list[tuple[int, bool]]] = {}  # rhythm day → (index, nothing that day)
    streak: list[tuple[int, float, int]] = []  # flagged days in a row, one direction
    streak_direction: str | None = None
    out: list[Verdict] = []
    for i, day in enumerate(days):
        y = _transform(kind, day) if day.value is not None else None
        seen = empty.setdefault(day.weekday, [])
        last = [z for j, z in seen if i - j <= settings.lookback_days][-3:]
        seen.append((i, day.volume == 0))
        if day.volume == 0 and len(last) >= 2 and sum(last) >= 2:
            # the shop is shut on this weekday (Online Retail never trades on Saturdays):
            # nothing is what such a day shows, not a gap; it stays out of the baselines
            out.append(Verdict(day.date, day.value, None, None, None, None, None, "closed_day"))
            continue
        recent = [o for o in ordinary if i - o[0] <= settings.lookback_days]
        base = _ordinary_expectation(recent, i, day.weekday, settings)
        verdict, usable = _judge(kpi, kind, i, day, y, base, recent, residuals, uplifts, settings)
        out.append(verdict)
        # a day with nothing says nothing of the level (a shop shut for Christmas would
        # drag it to zero); a shift that lasts is the new level, not an anomaly forever
        if verdict.is_anomaly and verdict.direction in ("up", "down") and y is not None:
            if verdict.direction != streak_direction:
                streak, streak_direction = [], verdict.direction
            streak.append((i, y, day.weekday))
            if len(streak) >= settings.shift_days and day.kind == "daily":
                # the days since the shift are the history now: level, rhythm and trend
                # start again from them (no verdicts until there are enough)
                ordinary = [d for d in streak if days[d[0]].kind == "daily"]
                residuals.clear()
                streak, streak_direction = [], None
                continue
        elif verdict.is_anomaly is False:
            streak, streak_direction = [], None
        if day.volume == 0:
            usable = False
        if y is None or not usable:
            continue
        if day.kind == "daily":
            ordinary.append((i, y, day.weekday))
            if base is not None:
                residuals.append(y - base)
                del residuals[:-settings.lookback_days]
        elif base is not None:
            uplifts.setdefault(day.kind, []).append((i, y - base))
    return out


def _ordinary_expectation(recent: list[tuple[int, float, int]], i: int, weekday: int,
                          s: MonitorSettings) -> float | None:
    """Level of the last `level_days` days with the weekly rhythm taken out, carried to
    day `i` by the trend since the window before, plus the rhythm of `weekday`
    (a weekday with fewer than three days in view has none)."""
    if not recent:
        return None
    centre = median(y for _, y, _ in recent)
    by_day: dict[int, list[float]] = {}
    for _, y, w in recent:
        by_day.setdefault(w, []).append(y)
    effect = {w: median(ys) - centre for w, ys in by_day.items() if len(ys) >= 3}
    flat = [(j, y - effect.get(w, 0.0)) for j, y, w in recent]
    last, before = flat[-s.level_days:], flat[-2 * s.level_days:-s.level_days]
    level = median(y for _, y in last)
    at = sum(j for j, _ in last) / len(last)
    projected = level
    if len(before) >= s.level_days // 2:  # a campaign between the windows is a real gap
        then = sum(j for j, _ in before) / len(before)
        slope = (level - median(y for _, y in before)) / max(at - then, 1.0)
        projected = level + slope * (i - at)
    return projected + effect.get(weekday, 0.0)


def _judge(kpi, kind, i, day: Day, y, base, recent, residuals, uplifts,
           s: MonitorSettings) -> tuple[Verdict, bool]:
    """The day's verdict, and whether the day may join later baselines."""
    history = [y_ for _, y_, _ in recent]
    usual = median(history) if history else 0.0
    if kpi in GAP_KPIS and (day.value or 0) == 0 and len(history) >= s.level_days:
        busy = sum(1 for h in history if h > 0) / len(history)
        if busy >= 0.8 and _inverse(kind, usual) >= s.min_count:
            typical = _inverse(kind, usual)
            return Verdict(day.date, 0.0, typical, None, None, True, "gap", "data_gap"), False
    if y is None:
        return Verdict(day.date, None, None, None, None, None, None, "no_base"), False
    if base is None or len(recent) < s.min_history or len(residuals) < 7:
        return Verdict(day.date, day.value, None, None, None, None, None, "warming_up"), True
    expected, spread = base, 0.0
    if day.kind != "daily":
        found = _comparable(day.kind, i, uplifts.get(day.kind, []))
        if found is None:
            return Verdict(day.date, day.value, None, None, None, None, None,
                           "no_comparable_history"), True
        lifts = [u for _, u in found]
        expected = base + median(lifts)
        spread = max(_mad_sigma(lifts) if len(lifts) >= 3 else 0.0, s.uplift_floor)
    centre = _inverse(kind, expected)
    sigma = math.hypot(max(_mad_sigma(residuals), _noise(kind, day.volume)), spread)
    low, high = _inverse(kind, expected - s.z * sigma), _inverse(kind, expected + s.z * sigma)
    chance = _sampling_bounds(kind, centre, day.volume, s.z)
    if chance is not None:  # never narrower than chance alone allows
        low, high = min(low, chance[0]), max(high, chance[1])
    low = max(low, 0.0)  # no count, amount or share is below zero
    if kind == "rate":
        small = day.volume < s.min_base
    elif kind == "count":
        small = max(centre, day.value or 0.0) < s.min_count
    else:
        small = day.volume < s.min_count
    if small:
        return Verdict(day.date, day.value, centre, low, high, None, None, "low_volume"), True
    value = day.value or 0.0
    flagged = not (low <= value <= high)
    direction = ("up" if value > high else "down") if flagged else None
    return Verdict(day.date, day.value, centre, low, high, flagged, direction, None), not flagged


def _comparable(key: str, i: int, seen: list[tuple[int, float]]) -> list[tuple[int, float]] | None:
    """Earlier days of the same kind that can set an uplift, or None when too few.

    A campaign phase or holiday: its instance last year (≥ 300 days back) is enough on
    its own; days earlier in this instance need three. Promo days: any three earlier."""
    if not seen:
        return None
    last_year = [u for u in seen if i - u[0] >= 300]
    if key.startswith(("campaign:", "holiday:")) and last_year:
        return seen
    return seen if len(seen) >= 3 else None
