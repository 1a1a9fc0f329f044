"""The dashboard's 监控 page and its routes (#19): a KPI's series with its band, the flagged
days, the alert history with acknowledgement (ledger and audit log), for admins and
analysts only. The shop has a tracking outage planted on an ordinary day, so there is
something to flag; the alerts are sent by the real delivery code to a file recipient."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from custlens import Workspace
from custlens.collect.generate import ShopSpec, write_raw
from custlens.serve.api import create_app
from custlens.serve.auth import Accounts
from serving import wait_js

pytestmark = pytest.mark.slow
PASSWORD = "correct horse 1"
OUTAGE = "2025-09-17"  # Wednesdays, no campaign, promo day or holiday: one for the API
OUTAGES = (OUTAGE, "2025-08-13")  # test to acknowledge, one for the browser


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitorpage")
    write_raw(ShopSpec(users=8_000, days=365, seed=31), root / "raw")
    con = duckdb.connect()
    ws = Workspace(lake=root / "lake")
    kinds = {"order_items": "order-items", "ad_spend": "ad-spend"}
    for table in ("events", "orders", "order_items", "customers", "items", "ad_spend"):
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{root}/raw/{table}-*.parquet')")
        if table == "events":
            days = ", ".join(f"DATE '{d}'" for d in OUTAGES)
            con.execute(f"DELETE FROM t WHERE CAST(timezone('Asia/Shanghai', ts) AS DATE) IN ({days})")
        con.execute(f"COPY t TO '{root}/{table}.parquet' (FORMAT parquet)")
        con.execute("DROP TABLE t")
        ws.import_file(kinds.get(table, table), root / f"{table}.parquet")
    ws.settings = ws.settings.with_overrides(monitor__alerts=[
        {"name": "ops", "to": [f"file:{root}/alerts.jsonl"], "scopes": ["all"]}])
    ws.build()
    sent = ws.send_alerts(ws.monitor(since=dt.date(2025, 8, 1)))
    assert sent.sent >= 2 and sent.failed == 0
    accounts = Accounts(ws.lake)
    for name, role in (("admin", "admin"), ("ana", "analyst"), ("op1", "operator")):
        accounts.add(name, role, PASSWORD)
    ws.close()
    return root / "lake"


@pytest.fixture(scope="module")
def app(lake: Path):
    ws = Workspace(lake=lake)
    ws.settings = ws.settings.with_overrides(serve__secure_cookies=False, serve__login_rate=1000)
    yield create_app(ws)
    ws.close()


def client(app, name: str) -> TestClient:
    c = TestClient(app)
    token = c.get("/api/csrf").json()["csrf"]
    r = c.post("/api/login", json={"name": name, "password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


def test_the_series_carries_its_band_and_the_outage_is_flagged(app) -> None:
    c = client(app, "ana")
    d = c.get("/api/monitor?kpi=visitors&scope=all&start=2025-09-01&end=2025-09-30").json()
    days = {r["date"]: r for r in d["series"]}
    assert len(days) == 30
    gap = days[OUTAGE]
    assert gap["actual"] == 0 and gap["is_anomaly"] and gap["direction"] == "gap"
    ordinary = days["2025-09-10"]
    assert ordinary["low"] <= ordinary["expected"] <= ordinary["high"]
    assert ordinary["actual_text"] and ordinary["kpi_name"] == "访客数" and ordinary["scope_name"] == "全店"
    assert any(a["date"] == OUTAGE and a["kpi"] == "visitors" for a in d["anomalies"])
    assert {k["kpi"] for k in d["kpis"]} >= {"gmv", "conversion", "refund_rate"}
    assert d["scopes"][0]["scope"] == "all" and any(s["scope"].startswith("channel=") for s in d["scopes"])
    en = c.get("/api/monitor?kpi=conversion&lang=en").json()
    assert en["series"] and en["series"][0]["kpi_name"] == "conversion"
    assert c.get("/api/monitor?kpi=revenue").status_code in (400, 422)
    assert c.get("/api/monitor?scope=all'--").status_code in (400, 422)


def test_alert_history_and_acknowledgement_are_recorded(app, lake: Path) -> None:
    c = client(app, "ana")
    history = c.get("/api/monitor/alerts").json()
    assert history and all(h["state"] == "sent" for h in history)
    outage = next(h for h in history if h["alert"]["date"] == OUTAGE)
    assert outage["alert"]["kpi_name"] and outage["ack_by"] is None
    assert c.post(f"/api/monitor/alerts/{outage['key']}/ack",
                  headers={"X-CSRF-Token": "wrong"}).status_code == 403
    done = c.post(f"/api/monitor/alerts/{outage['key']}/ack").json()
    assert done["ack_by"] == "ana"
    again = {h["key"]: h for h in c.get("/api/monitor/alerts").json()}
    assert again[outage["key"]]["ack_by"] == "ana" and again[outage["key"]]["state"] == "sent"
    audit = [json.loads(x) for x in (lake / "_ops" / "audit.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "alert_acknowledged" and e["user"] == "ana"
               and e["what"] == outage["key"] for e in audit)
    assert c.post("/api/monitor/alerts/0123456789abcdef/ack").status_code == 404
    op = client(app, "op1")
    assert op.get("/api/monitor").status_code == 403
    assert op.get("/api/monitor/alerts").status_code == 403


def test_the_page_draws_the_band_and_acknowledges_from_the_browser(server, tmp_path) -> None:
    from playwright.sync_api import sync_playwright
    from tests.services import CHROMIUM, ensure_chromium

    problem = ensure_chromium()
    assert problem is None, problem
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("nav a[data-page=monitor]")
        assert page.inner_text("nav a[data-page=monitor]") == "监控"
        page.goto(server + "/#/monitor?kpi=visitors&scope=all")
        page.wait_for_selector("main canvas")
        wait_js(page, "document.querySelector('#alerts')")
        assert "告警记录" in page.inner_text("main") and "异常日" in page.inner_text("main")
        before = page.locator("button.ack").count()
        assert before >= 1
        page.click("button.ack >> nth=0")
        wait_js(page, f"document.querySelectorAll('button.ack').length === {before - 1}")
        assert "已确认 · admin" in page.inner_text("#alerts")
        page.screenshot(path=str(artifacts / "web-zh-monitor.png"), full_page=True)
        page.click("#lang")
        wait_js(page, "document.querySelector('nav').innerText.includes('Monitoring')")
        page.click("nav a[data-page=monitor]")
        # The nav click re-renders the page that the language switch had already drawn in
        # English, so wait for the alerts of that second render, not for the heading.
        wait_js(page, "document.querySelector('#alerts') && "
                       "document.querySelector('main').innerText.includes('Alert history')")
        assert page.inner_text("main h1") == "Monitoring"
        browser.close()
        assert not errors, errors


def test_the_command_reports_a_day_and_alerts_once(lake: Path, tmp_path: Path) -> None:
    """`custlens monitor` as the daily job runs it: the day's anomalies translated, JSON for
    scripts, and --alert sending by the config's rules once, however often it runs."""
    import os
    import subprocess
    import sys

    config = tmp_path / "custlens.toml"
    config.write_text(f'lake = "{lake}"\n[[monitor.alerts]]\nname = "cli"\n'
                      f'to = ["file:{tmp_path}/sent.jsonl"]\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTLENS_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "custlens.cli", "--config", str(config), *args],
                              capture_output=True, text=True, env=env, timeout=300)

    shown = run("monitor", "--date", OUTAGE)
    assert shown.returncode == 0, shown.stderr
    assert "访客数" in shown.stdout and "数据缺口" in shown.stdout and "全店" in shown.stdout
    rows = json.loads(run("monitor", "--date", OUTAGE, "--format", "json").stdout)
    assert any(r["kpi"] == "visitors" and r["direction"] == "gap" for r in rows)
    latest = json.loads(run("monitor", "--all", "--format", "json").stdout)
    assert {r["date"] for r in latest} == {"2025-12-31"}  # not 2026-01-01, a spill past midnight
    assert not any(r["note"] == "partial_day" for r in latest)
    quiet = run("monitor", "--date", "2025-09-10")
    assert "没有异常" in quiet.stderr
    first = run("monitor", "--date", OUTAGE, "--alert")
    assert first.returncode == 0 and "已发送 1" in first.stderr, first.stderr
    again = run("monitor", "--date", OUTAGE, "--alert")
    assert "已发送 0" in again.stderr and "早已发送 1" in again.stderr
    daily = run("build", "--monitor")  # the daily job: build, then the last complete day
    assert daily.returncode == 0 and "告警: 新检测" in daily.stderr, daily.stderr
    sent = [json.loads(x) for x in (tmp_path / "sent.jsonl").read_text().splitlines()]
    assert len(sent) == 1 and sent[0]["date"] == OUTAGE and sent[0]["kpi"] == "visitors"
