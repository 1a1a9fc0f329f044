"""The operations report (`report --period week|month`, #19): its figures equal the
warehouse's. The expected figures are computed here from the DWD tables with plain SQL
of this test's own (distinct visitors from the events, buyers and GMV from the orders),
then read back from the report's data, its XLSX and its HTML."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from custlens import Workspace
from custlens.serve import ops_report

pytestmark = pytest.mark.slow

NOV = (dt.date(2025, 11, 1), dt.date(2025, 11, 30))
PLAN_DAY = dt.date(2025, 10, 20)


@pytest.fixture(scope="module")
def shop(shop: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A copy of the session's generated shop (its lake files are immutable), with a plan."""
    root = tmp_path_factory.mktemp("opsreport")
    shutil.copytree(shop.lake.root, root / "lake")
    ws = Workspace(lake=root / "lake")
    ws.plan_actions(PLAN_DAY)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def november(shop: Workspace) -> ops_report.OpsReport:
    return ops_report.build(shop, "month", dt.date(2025, 11, 17), lang="zh")


def truth(ws: Workspace, start: dt.date, end: dt.date) -> dict[str, float]:
    """The period's KPIs straight from dwd_events and dwd_orders."""
    window = f"BETWEEN DATE '{start}' AND DATE '{end}'"
    v = ws.sql(f"""SELECT count(*) AS visitors,
            count(*) FILTER (WHERE n = 1 AND pv = 1) AS bounced
        FROM (SELECT user_id, count(*) AS n, count(*) FILTER (WHERE behavior = 'pv') AS pv
              FROM dwd_events WHERE dt {window} GROUP BY user_id)""").to_pylist()[0]
    o = ws.sql(f"""SELECT count(DISTINCT user_id) FILTER (WHERE in_gmv) AS buyers,
            count(*) FILTER (WHERE in_gmv) AS orders,
            sum(amount) FILTER (WHERE in_gmv) AS gmv,
            count(*) FILTER (WHERE in_gmv AND status = 'refunded') AS refunded,
            count(DISTINCT user_id) FILTER (WHERE is_first_order) AS new_buyers
        FROM dwd_orders WHERE order_date {window}""").to_pylist()[0]
    return {"visitors": v["visitors"], "buyers": o["buyers"], "orders": o["orders"],
            "gmv": o["gmv"], "conversion": o["buyers"] / v["visitors"],
            "avg_per_buyer": o["gmv"] / o["buyers"], "aov": o["gmv"] / o["orders"],
            "bounce_rate": v["bounced"] / v["visitors"], "refund_rate": o["refunded"] / o["orders"],
            "new_buyers": o["new_buyers"], "returning_buyers": o["buyers"] - o["new_buyers"]}


def test_periods_are_calendar_weeks_and_months() -> None:
    assert ops_report.bounds("week", dt.date(2025, 11, 13)) == (dt.date(2025, 11, 10), dt.date(2025, 11, 16))
    assert ops_report.bounds("month", dt.date(2024, 2, 10)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    # the last complete one: a week ending on Sunday, a month ending on its last day
    assert ops_report.last_complete("week", dt.date(2025, 11, 16)) == dt.date(2025, 11, 16)
    assert ops_report.bounds("week", ops_report.last_complete("week", dt.date(2025, 11, 19)))[1] \
        == dt.date(2025, 11, 16)
    assert ops_report.bounds("month", ops_report.last_complete("month", dt.date(2025, 12, 30)))[0] \
        == dt.date(2025, 11, 1)


def test_the_kpis_equal_the_warehouse(shop: Workspace, november: ops_report.OpsReport) -> None:
    assert (november.start, november.end) == NOV
    assert november.previous == (dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    assert november.complete
    now, before = truth(shop, *NOV), truth(shop, *november.previous)
    rows = {r["kpi"]: r for r in november.section("kpis").rows}
    for kpi, value in now.items():
        assert rows[kpi]["this_period"] == pytest.approx(value, rel=1e-12), kpi
        assert rows[kpi]["previous_period"] == pytest.approx(before[kpi], rel=1e-12), kpi
    assert rows["gmv"]["change"] == pytest.approx(now["gmv"] / before["gmv"] - 1)


def test_anomalies_migration_and_campaigns_equal_their_tables(
        shop: Workspace, november: ops_report.OpsReport) -> None:
    flagged = shop.sql("""SELECT count(*) FROM ads_monitor WHERE is_anomaly
        AND date BETWEEN DATE '2025-11-01' AND DATE '2025-11-30'""").column(0)[0].as_py()
    assert len(november.section("anomalies").rows) == flagged
    moves = november.section("migration").rows
    buyers_before = shop.sql("""SELECT count(DISTINCT user_id) FROM dwd_orders
        WHERE is_paid AND order_date < DATE '2025-11-01'""").column(0)[0].as_py()
    buyers_after = shop.sql("""SELECT count(DISTINCT user_id) FROM dwd_orders
        WHERE is_paid AND order_date < DATE '2025-12-01'""").column(0)[0].as_py()
    assert sum(m["at_start"] for m in moves) == buyers_before
    assert sum(m["at_end"] for m in moves) == buyers_after
    assert sum(m["new_buyers"] for m in moves) == buyers_after - buyers_before
    for m in moves:
        assert m["at_end"] == m["stayed"] + m["moved_in"] + m["new_buyers"]
        assert m["at_start"] == m["stayed"] + m["moved_out"]
    campaigns = {r["period_label"]: r for r in november.section("campaigns").rows}
    peak = shop.sql("""SELECT gmv, gmv_lift FROM ads_periods WHERE period_name = '双十一'
        AND phase = 'peak' AND year = 2025""").to_pylist()[0]
    assert campaigns["双十一 爆发"]["gmv"] == pytest.approx(peak["gmv"], rel=1e-12)
    assert campaigns["双十一 爆发"]["gmv_lift"] == pytest.approx(peak["gmv_lift"], rel=1e-12)
    assert peak["gmv_lift"] > 3


def test_action_lifts_and_recommendations_come_from_the_measurement(
        shop: Workspace, november: ops_report.OpsReport) -> None:
    measured = shop.measure("latest")
    lifts = {(r["action"], r["metric"]): r for r in measured.lifts.to_pylist()}
    labels = {a.name: a.display("zh") for a in shop.playbook()}
    rows = november.section("actions").rows
    assert rows, "the plan of 2025-10-20 runs into November"
    for r in rows:
        action = next(k for k, v in labels.items() if v == r["action_name"])
        m = lifts[(action, r["_metric"])]
        # the same figures; sums of doubles may differ in the last bit between two runs
        assert (r["lift"], r["ci_low"], r["ci_high"]) == pytest.approx(
            (m["lift"], m["ci_low"], m["ci_high"]), rel=1e-12, abs=1e-12)
    _, summary = shop.plan_summary("latest")
    sizes = {s["action"]: s["treated"] for s in summary.to_pylist()}
    for r in november.section("recommendations").rows:
        m = lifts.get((r["_action"], "revenue"))
        if m and m["lift"] is not None:
            assert r["expected_effect"] == pytest.approx(m["lift"] * sizes[r["_action"]])
            assert r["effect_low"] == pytest.approx(m["ci_low"] * sizes[r["_action"]])
        else:
            assert r["expected_effect"] is None


def test_the_xlsx_and_html_carry_the_same_figures(shop: Workspace, november: ops_report.OpsReport,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "nov.xlsx"
    ops_report.write(november, path)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames[0] == "要点" and book.sheetnames[-1] == "来源"
    sheet = book["本期指标 vs 上期"]
    header, *cells = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("指标", "本期", "上期")
    gmv = next(c for c in cells if c[0] == "成交额")
    assert gmv[1] == pytest.approx(truth(shop, *NOV)["gmv"], rel=1e-12)
    page = tmp_path / "nov.html"
    ops_report.write(november, page)
    text = page.read_text(encoding="utf-8")
    assert "运营月报 2025-11-01 – 2025-11-30" in text and "<svg" in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    with pytest.raises(Exception, match=r"\.html or \.xlsx"):
        ops_report.write(november, tmp_path / "nov.pdf")


def test_the_command_writes_an_english_weekly_report(shop: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "week.html"
    env = {**os.environ, "CUSTLENS_LAKE": str(shop.lake.root), "CUSTLENS_LANG": "en"}
    done = subprocess.run([sys.executable, "-m", "custlens.cli", "report", "--period", "week",
                           "--date", "2025-11-12", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "Weekly operations report 2025-11-10 – 2025-11-16" in text
    assert "What the campaigns lifted" in text and "Double 11" in text
    bad = subprocess.run([sys.executable, "-m", "custlens.cli", "report", "--period", "quarter",
                          "--out", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode != 0 and "'quarter' is not one of week, month" in bad.stderr
