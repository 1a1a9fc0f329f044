"""The calendar beyond chinese-calendar's years, and for shops outside China (#19).

Dates checked against the State Council's published schedules where they exist (2025:
国办发明电〔2024〕12号) and against plain arithmetic elsewhere."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from custlens import Workspace
from custlens.analysis.calendar import ShopCalendar
from custlens.collect.generate import ShopSpec
from custlens.errors import CustlensError

D = dt.date.fromisoformat
SPRING_2027 = {"start": "2027-02-06", "end": "2027-02-12", "name": "春节",
               "name_en": "Spring Festival"}


def test_a_year_after_the_package_is_unknown_until_config_lists_it() -> None:
    bare = ShopCalendar.from_config({})
    assert bare.classify(D("2027-02-08"))["holiday_known"] is False
    assert bare.classify(D("2027-02-08"))["kind"] == "daily"
    cal = ShopCalendar.from_config({"holidays": [SPRING_2027, "2027-10-01"],
                                    "makeup_workdays": ["2027-02-14"]})
    day = cal.classify(D("2027-02-08"))
    assert (day["kind"], day["period_name"], day["period_name_en"]) == ("holiday", "春节",
                                                                        "Spring Festival")
    assert cal.classify(D("2027-10-01"))["kind"] == "holiday"
    worked = cal.classify(D("2027-02-14"))  # a Sunday worked (调休)
    assert worked["is_makeup_workday"] and not worked["is_weekend"]
    plain = cal.classify(D("2027-04-20"))
    assert plain["holiday_known"] and plain["kind"] == "daily"
    # campaigns and promo days still win over a holiday, as in the package's years
    assert cal.classify(D("2027-11-11"))["kind"] == "campaign"
    assert cal.classify(D("2027-02-02"))["kind"] == "promo_day"


def test_the_package_years_are_unchanged_without_config() -> None:
    cal = ShopCalendar.from_config({})
    assert cal.classify(D("2025-10-02"))["period_name"] == "国庆节"
    assert cal.classify(D("2025-09-28"))["is_makeup_workday"]  # 国庆 调休 Sunday
    assert cal.classify(D("2025-01-28"))["period_name"] == "春节"


def test_a_shop_outside_china_gets_only_what_it_configures() -> None:
    config = {"holidays": [{"date": "2025-07-04", "name": "独立日", "name_en": "Independence Day"},
                           {"date": "2025-12-25", "name": "圣诞节", "name_en": "Christmas"}],
              "campaigns": [{"name": "黑五", "name_en": "Black Friday", "peak": "11-28",
                             "warmup": ["11-21", "11-27"]}]}
    us = ShopCalendar.from_config(config, "US")
    kinds = {d: us.classify(D(d))["kind"] for d in
             ("2025-11-11", "2025-06-18", "2025-12-12", "2025-10-01", "2025-05-05",
              "2025-01-29", "2025-07-04", "2025-11-28", "2025-11-24")}
    assert kinds == {"2025-11-11": "daily", "2025-06-18": "daily", "2025-12-12": "daily",
                     "2025-10-01": "daily", "2025-05-05": "daily", "2025-01-29": "daily",
                     "2025-07-04": "holiday", "2025-11-28": "campaign", "2025-11-24": "campaign"}
    assert us.classify(D("2025-11-24"))["phase"] == "warmup"
    assert us.classify(D("2025-10-04"))["is_weekend"]  # a Saturday, no 调休 abroad
    assert ShopCalendar.from_config({}, "US").classify(D("2025-07-04"))["holiday_known"] is False


def test_a_bad_holiday_entry_names_itself() -> None:
    with pytest.raises(CustlensError, match=r"calendar.holidays\[2\]: .*2027-02-30"):
        ShopCalendar.from_config({"holidays": ["2027-01-01", "2027-02-30"]})
    with pytest.raises(CustlensError, match=r"calendar.holidays\[1\]: .*end 2027-01-01 before"):
        ShopCalendar.from_config({"holidays": [{"start": "2027-01-03", "end": "2027-01-01"}]})


@pytest.fixture(scope="module")
def shop_2027(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small shop whose data lies in 2027 (past chinese-calendar), raw files only."""
    root = tmp_path_factory.mktemp("y2027")
    ws = Workspace(lake=root / "lake")
    ws.generate(ShopSpec(users=400, start=dt.date(2027, 1, 20), days=40, seed=5))
    ws.close()
    return root


def _calendar(root: Path, config: str, capfd: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    (root / "custlens.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    ws = Workspace(lake=root / "lake", config=root / "custlens.toml")
    capfd.readouterr()
    ws.build(["dim_calendar"])
    err = capfd.readouterr().err
    rows = {r["date"]: r for r in ws.engine.query("SELECT * FROM dim_calendar").to_pylist()}
    ws.close()
    return rows, err


@pytest.mark.slow
def test_the_build_warns_of_a_year_without_holidays_and_config_fills_it(
        shop_2027: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTLENS_QUIET", raising=False)
    rows, err = _calendar(shop_2027, "", capfd)
    assert "public holidays are unknown for 2027" in " ".join(err.split())
    assert rows[D("2027-02-08")]["kind"] == "daily"
    rows, err = _calendar(shop_2027, """
        [calendar]
        holidays = [{start = "2027-02-06", end = "2027-02-12", name = "春节", name_en = "Spring Festival"}]
        """, capfd)
    assert "unknown" not in err
    assert rows[D("2027-02-08")]["kind"] == "holiday"
    assert rows[D("2027-02-08")]["period_name"] == "春节"
    rows, _ = _calendar(shop_2027, """
        [shop]
        country = "DE"
        """, capfd)
    assert rows[D("2027-11-11")]["kind"] == "daily" and rows[D("2027-02-02")]["kind"] == "daily"
