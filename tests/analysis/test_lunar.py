"""Lunar (农历) birthdays: dates any Chinese calendar shows."""

import datetime as dt

import pytest

from custlens.analysis.lunar import next_birthday, to_solar


@pytest.mark.parametrize(("lunar", "solar"), [
    ((2024, 1, 1), dt.date(2024, 2, 10)),  # 春节
    ((2025, 1, 1), dt.date(2025, 1, 29)),
    ((2026, 1, 1), dt.date(2026, 2, 17)),
    ((2023, 8, 15), dt.date(2023, 9, 29)),  # 中秋
    ((2025, 8, 15), dt.date(2025, 10, 6)),
    ((2025, 5, 5), dt.date(2025, 5, 31)),  # 端午
    ((2000, 1, 1), dt.date(2000, 2, 5)),
])
def test_known_dates(lunar, solar):
    assert to_solar(*lunar) == solar


def test_leap_month_and_short_months():
    # 2025 has a leap sixth month (闰六月) from 07-25; the plain sixth month starts 06-25
    assert to_solar(2025, 6, 1) == dt.date(2025, 6, 25)
    assert to_solar(2025, 6, 1, leap_month=True) == dt.date(2025, 7, 25)
    assert to_solar(2025, 7, 1) == dt.date(2025, 8, 23)
    # a 30th in a 29-day month falls on its last day
    last = to_solar(2025, 6, 29, leap_month=True)
    assert to_solar(2025, 6, 30, leap_month=True) in {last, last + dt.timedelta(days=1)}
    with pytest.raises(ValueError):
        to_solar(1899, 1, 1)


def test_next_birthday_crosses_years_and_leap_days():
    # 腊月二十 (12-20) of lunar 2025 falls in January 2026
    assert next_birthday(dt.date(1980, 12, 20), True, dt.date(2025, 12, 1)) == dt.date(2026, 2, 7)
    assert next_birthday(dt.date(1992, 2, 29), False, dt.date(2027, 1, 1)) == dt.date(2027, 2, 28)
    assert next_birthday(dt.date(1992, 2, 29), False, dt.date(2028, 1, 1)) == dt.date(2028, 2, 29)
    assert next_birthday(dt.date(1990, 3, 1), False, dt.date(2025, 3, 1)) == dt.date(2025, 3, 1)
