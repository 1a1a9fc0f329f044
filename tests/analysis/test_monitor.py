"""analysis/monitor.py on series made here (Poisson counts with a weekly rhythm), whose
anomalies are known because they were put there: a drop, a shop shut on Saturdays, a
Christmas closure, a lasting shift, and the KPI arithmetic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from custlens.analysis import monitor

START = dt.date(2025, 1, 6)  # a Monday


def series(counts: list[float]) -> list[monitor.Day]:
    days = []
    for i, n in enumerate(counts):
        d = START + dt.timedelta(days=i)
        days.append(monitor.Day(d, "daily", d.isoweekday(), float(n), float(n), float(n)))
    return days


def counts(n: int, mean: float = 200.0, seed: int = 1, saturday: float = 1.0) -> list[float]:
    rng = np.random.default_rng(seed)
    rhythm = [1.0, 1.0, 1.0, 1.0, 1.1, saturday, 0.8]
    return [float(rng.poisson(mean * rhythm[(START + dt.timedelta(days=i)).weekday()]))
            for i in range(n)]


def flagged(verdicts: list[monitor.Verdict]) -> list[int]:
    return [i for i, v in enumerate(verdicts) if v.is_anomaly]


def test_a_quiet_series_raises_no_alarm_and_a_drop_is_found() -> None:
    c = counts(150)
    assert flagged(monitor.assess("orders", series(c))) == []
    c[100] = round(c[100] * 0.4)  # a Tuesday's orders cut to 40 %
    verdicts = monitor.assess("orders", series(c))
    assert flagged(verdicts) == [100]
    assert verdicts[100].direction == "down" and verdicts[100].low > c[100]


def test_a_weekday_the_shop_is_shut_is_not_a_gap() -> None:
    verdicts = monitor.assess("orders", series(counts(150, saturday=0.0)))
    saturdays = [i for i in range(150) if (START + dt.timedelta(days=i)).weekday() == 5]
    assert flagged(verdicts) == []
    assert all(verdicts[i].note == "closed_day" for i in saturdays[2:])
    # a Saturday the shop was expected to be open stays a gap
    open_saturdays = counts(150)
    open_saturdays[110] = 0.0 if (START + dt.timedelta(days=110)).weekday() == 5 else open_saturdays[110]
    assert (START + dt.timedelta(days=110)).weekday() == 5
    gap = monitor.assess("orders", series(open_saturdays))[110]
    assert gap.is_anomaly and gap.direction == "gap"


def test_a_closure_does_not_drag_the_level_down_after_it() -> None:
    c = counts(160)
    for i in range(80, 91):  # shut for eleven days (Christmas)
        c[i] = 0.0
    verdicts = monitor.assess("orders", series(c))
    assert all(verdicts[i].direction == "gap" for i in range(80, 91))
    assert [i for i in flagged(verdicts) if i > 90] == []


def test_a_lasting_shift_becomes_the_new_level() -> None:
    c = counts(60) + counts(100, mean=400.0, seed=2)
    hits = flagged(monitor.assess("orders", series(c)))
    assert hits and hits[0] == 60
    assert max(hits) < 60 + 2 * monitor.MonitorSettings().shift_days


def test_kpis_from_their_figures() -> None:
    k = monitor.kpi_values({"visitors": 1000, "bounced": 250, "buyers": 50, "new_buyers": 20,
                            "orders": 60, "gmv": 6000.0, "refunded_orders": 3})
    assert k["conversion"] == 0.05 and k["bounce_rate"] == 0.25 and k["refund_rate"] == 0.05
    assert k["avg_per_buyer"] == 120.0 and k["aov"] == 100.0 and k["returning_buyers"] == 30
    none = monitor.kpi_values({"visitors": 0, "bounced": 0, "buyers": 0, "new_buyers": 0,
                               "orders": 0, "gmv": 0, "refunded_orders": 0})
    assert none["conversion"] is None and none["aov"] is None and none["orders"] == 0


@pytest.mark.parametrize("weekday,weekend,expected", [(6, False, 3), (7, True, 7), (1, False, 1)])
def test_a_makeup_workday_keeps_a_workday_rhythm(weekday: int, weekend: bool, expected: int) -> None:
    assert monitor.rhythm_day(weekday, weekend) == expected
