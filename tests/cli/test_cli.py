"""Every command, as a user types it: data on stdout, progress and errors on stderr."""

import csv
import io
import json
import subprocess
import sys
from typing import Any

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from command_line import custlens as _cl
from custlens.cli import app

runner = CliRunner()


def _commands() -> list[list[str]]:
    """Every command and group of the app, walked from the app itself (not a hand-kept list)."""
    import click
    import typer.main

    root = typer.main.get_command(app)
    ctx = click.Context(root)

    def walk(cmd: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        if hasattr(cmd, "list_commands"):  # a group (typer carries its own click)
            for name in sorted(cmd.list_commands(ctx)):
                found += walk(cmd.get_command(ctx, name), [*path, name])
        return found

    return walk(root, [])


COMMANDS = _commands()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def _process(cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "custlens.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env={"CUSTLENS_QUIET": "1", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, data_dir):
    cwd = tmp_path_factory.mktemp("cli")
    _cl(cwd, "import", "taobao", str(data_dir / "taobao" / "UserBehavior_users_head.csv"))
    return cwd


def test_lake_defaults_to_the_working_directory(workdir):
    assert (workdir / "lake" / "_ops" / "batches").is_dir()


def test_segment_json_is_clean_stdout(workdir):
    proc = _cl(workdir, "segment", "--format", "json")
    rows = json.loads(proc.stdout)
    assert rows and {"segment", "segment_en", "customers", "share"} <= set(rows[0])
    assert sum(r["customers"] for r in rows) > 0


def test_segment_table_in_both_languages(workdir):
    zh = _cl(workdir, "segment").stdout
    en = _cl(workdir, "--lang", "en", "segment").stdout
    assert "客户分群" in zh and "运营分类" in zh
    assert "Segments" in en and "Operational classes" in en and "customers" in en


def test_export_rfm_round_trips_in_every_format(workdir):
    header = ["user_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
              "m_score", "cluster", "segment", "segment_en", "tier", "segment_label",
              "segment_label_en", "borderline", "rule_segment", "r_threshold", "f_threshold",
              "m_threshold", "cluster_recency_days", "cluster_frequency", "cluster_monetary", "class"]
    rows = list(csv.DictReader(io.StringIO(_cl(workdir, "export", "rfm").stdout)))
    assert list(rows[0]) == header
    _cl(workdir, "export", "rfm", "--format", "parquet", "--out", "rfm.parquet")
    table = pq.read_table(workdir / "rfm.parquet")
    assert table.column_names == header and table.num_rows == len(rows)
    _cl(workdir, "export", "rfm", "--format", "xlsx", "--out", "rfm.xlsx")
    sheet = load_workbook(workdir / "rfm.xlsx").active
    values = list(sheet.values)
    assert list(values[0]) == header and len(values) - 1 == len(rows)
    assert [str(v) for v in values[1]][:3] == [rows[0]["user_id"], rows[0]["recency_days"], rows[0]["frequency"]]
    _cl(workdir, "export", "rfm", "--format", "csv", "--out", "rfm.csv")
    assert (workdir / "rfm.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8


def test_sql_over_tables_by_name(workdir):
    proc = _cl(workdir, "sql", "SELECT count(*) AS n FROM dwd_events", "--format", "csv")
    assert proc.stdout.splitlines()[1] == "84439"  # 35 records outside the dataset's dates


def test_a_real_process_keeps_stdout_clean(workdir):
    """One cold process: data alone on stdout; an error on stderr, no traceback, exit code 2."""
    proc = _process(workdir, "segment", "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)
    proc = _process(workdir, "sql", "SELECT * FROM no_such_table")
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "no_such_table" in proc.stderr


def test_user_errors_are_one_line_without_traceback(workdir):
    proc = _cl(workdir, "sql", "SELECT * FROM no_such_table", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "no_such_table" in proc.stderr
    proc = _cl(workdir, "segment", "--as-of", "yesterday", check=False)
    assert proc.returncode == 2 and "--as-of" in proc.stderr
    proc = _cl(workdir, "import", "events", "missing.csv", check=False)
    assert proc.returncode == 2 and "missing.csv" in proc.stderr


@pytest.mark.slow  # imports, undoes and rebuilds through the CLI
def test_batches_quarantine_tables_runs(workdir, tmp_path):
    out = _cl(workdir, "batches", "list", "--format", "json").stdout
    assert json.loads(out)[0]["table_name"] == "events"
    bad = workdir / "bad.csv"
    bad.write_text("user_id,behavior,ts,phone\nu1,pv,2025-01-01 10:00:00,1\nu2,zzz,2025-01-01,1\n")
    _cl(workdir, "import", "events", str(bad))
    listed = json.loads(_cl(workdir, "quarantine", "list", "--format", "json").stdout)
    # the Taobao sample's 35 records outside its dates, and the bad behaviour
    assert {(r["field"], r["count"]) for r in listed} == {("ts", 35), ("behavior", 1)}
    shown = json.loads(_cl(workdir, "quarantine", "show", "--format", "json").stdout)
    bad_rows = [r for r in shown if r["field"] == "behavior"]
    assert bad_rows[0]["line"] == 3 and bad_rows[0]["value"] == "zzz"
    tables = json.loads(_cl(workdir, "tables", "--format", "json").stdout)
    assert {"ads_rfm", "dwd_events", "ods_events", "dim_calendar"} <= {t["name"] for t in tables}
    runs = json.loads(_cl(workdir, "runs", "--format", "json").stdout)
    assert runs and runs[-1]["status"] == "ok"
    batch = [b for b in json.loads(_cl(workdir, "batches", "list", "--format", "json").stdout)
             if b["source"].endswith("bad.csv")][0]
    _cl(workdir, "batches", "undo", batch["batch_id"])
    listed = json.loads(_cl(workdir, "quarantine", "list", "--format", "json").stdout)
    assert [r["field"] for r in listed] == ["ts"]


def test_personal_data_masked_unless_asked(tmp_path):
    (tmp_path / "c.csv").write_text("user_id,phone,email\nc1,13812345678,zhang@example.com\n")
    _cl(tmp_path, "import", "customers", "c.csv")
    masked = json.loads(_cl(tmp_path, "sql", "SELECT phone, email FROM dwd_customers", "--format", "json").stdout)
    assert masked == [{"phone": "138****5678", "email": "z***@example.com"}]
    shown = json.loads(_cl(tmp_path, "sql", "SELECT phone FROM dwd_customers", "--show-personal",
                           "--format", "json").stdout)
    assert shown == [{"phone": "13812345678"}]


def test_config_file_and_environment(tmp_path):
    (tmp_path / "custlens.toml").write_text('lake = "mylake"\n[segment]\nmode = "rules"\n')
    (tmp_path / "o.csv").write_text("order_id,user_id,order_ts,amount\n1,a,2025-01-01 10:00:00,5\n"
                                    "2,b,2025-01-03 10:00:00,50\n")
    _cl(tmp_path, "import", "orders", "o.csv")
    assert (tmp_path / "mylake").is_dir() and not (tmp_path / "lake").exists()
    rows = json.loads(_cl(tmp_path, "export", "rfm", "--format", "json").stdout)
    assert all(r["cluster"] is None for r in rows)  # rules mode from the config file


def test_every_command_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    generic = readme.split("custlens import events|", 1)[1].split(" ", 1)[0].split("|")
    for command in COMMANDS[1:]:
        assert f"custlens {' '.join(command)}" in readme or \
            (command[0] == "import" and command[-1] in generic + ["events"]), command


@pytest.fixture(scope="module")
def shopdir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("shop")
    _cl(cwd, "generate", "--users", "1500", "--days", "365", "--seed", "5")
    return cwd


ANALYSES = [
    (["periods"], "period_id"), (["periods", "--view", "kinds"], "day_type"),
    (["periods", "--view", "carts"], "peak_date"), (["periods", "--view", "campaign-only"], "user_id"),
    (["funnel"], "users_buy"), (["funnel", "--by", "category"], "value"),
    (["funnel", "--hourly"], "hour"), (["repurchase"], "repurchase_rate"),
    (["repurchase", "--level", "item"], "key"), (["repurchase", "--invites"], "user_id"),
    (["repurchase", "--due"], "next_due_date"), (["channels", "--attribution", "linear"], "roas"),
    (["retention", "--by", "week"], "cohort"),
]


@pytest.mark.slow  # builds a generated year through the CLI
@pytest.mark.parametrize("command,column", ANALYSES, ids=lambda c: " ".join(c) if isinstance(c, list) else c)
def test_analysis_json_on_stdout(shopdir, command, column):
    proc = _cl(shopdir, *command, "--format", "json")
    rows = json.loads(proc.stdout)
    assert rows and column in rows[0]


@pytest.mark.slow  # builds a generated year through the CLI
def test_analysis_tables_in_both_languages(shopdir):
    zh = _cl(shopdir, "periods").stdout
    assert "双十一 爆发 2025" in zh and "客单价" in zh and "同比" in zh
    en = _cl(shopdir, "--lang", "en", "periods").stdout
    assert "Double 11 peak 2025" in en and "GMV per buyer" in en
    funnel = _cl(shopdir, "funnel").stdout
    assert "fav_or_cart" in funnel and "占上一环节" in funnel
    matrix = _cl(shopdir, "retention").stdout
    assert "100.0%" in matrix and "队列人数" in matrix


@pytest.mark.slow  # builds a generated year through the CLI
def test_charts_are_svg(shopdir):
    import xml.etree.ElementTree as ET

    for command in (["retention"], ["periods"], ["funnel"], ["funnel", "--by", "channel"],
                    ["repurchase"], ["channels"]):
        path = shopdir / f"{command[0]}.svg"
        proc = _cl(shopdir, *command, "--chart", str(path), "--format", "csv")
        assert "chart written" in proc.stderr and proc.stdout.startswith('"')
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg") and len(root.findall("{http://www.w3.org/2000/svg}rect")) > 3


@pytest.mark.slow  # builds a generated year through the CLI
def test_analysis_files_round_trip(shopdir):
    out = shopdir / "repurchase.parquet"
    _cl(shopdir, "repurchase", "--format", "parquet", "--out", str(out))
    table = pq.read_table(out)
    cats = {r["key"] for r in table.to_pylist() if r["is_membership_candidate"]}
    assert cats and cats <= {f"C{i:03d}" for i in range(8)}
    rows = list(csv.DictReader(io.StringIO(_cl(shopdir, "retention", "--format", "csv").stdout)))
    assert {"unit", "cohort", "periods_since", "rate"} <= set(rows[0])


@pytest.mark.slow  # builds a generated year through the CLI
def test_analysis_option_errors(shopdir):
    proc = _cl(shopdir, "funnel", "--by", "month", check=False)
    assert proc.returncode == 2 and "--by" in proc.stderr and "category" in proc.stderr
    proc = _cl(shopdir, "channels", "--attribution", "middle", check=False)
    assert proc.returncode == 2 and "--attribution" in proc.stderr
    proc = _cl(shopdir, "periods", "--view", "weeks", check=False)
    assert proc.returncode == 2 and "campaign-only" in proc.stderr
    proc = _cl(shopdir, "collect", "x.log", "--to", "kafka://127.0.0.1", check=False)
    assert proc.returncode == 2 and "not a bus address" in proc.stderr
    proc = _cl(shopdir, "sync", "--source", "postgresql://u:pw@127.0.0.1/x", "--table", "t",
               "--mode", "full", check=False)
    assert proc.returncode == 2 and "must not carry a password" in proc.stderr and "pw" not in \
        proc.stderr.replace("password", "")


@pytest.mark.slow  # builds a generated year through the CLI
def test_periods_say_when_holidays_are_unknown(tmp_path):
    # chinese-calendar 1.11 knows 2004–2026: 2027 holidays are unknown, not an error
    (tmp_path / "o.csv").write_text("order_id,user_id,order_ts,amount\n1,a,2027-01-05 10:00:00,5\n"
                                    "2,b,2027-01-06 10:00:00,50\n")
    _cl(tmp_path, "import", "orders", "o.csv")
    proc = _cl(tmp_path, "periods", "--format", "json")
    assert "holidays are unknown for 2027" in proc.stderr
    assert {p["kind"] for p in json.loads(proc.stdout)} == {"daily"}


def test_thrift_refuses_a_port_in_use(tmp_path):
    """Spark would fail to listen in a JVM thread and say nothing; custlens says where."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = _cl(tmp_path, "warehouse", "thrift", "--port", str(port), check=False)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    bad = _cl(tmp_path, "warehouse", "thrift", "--port", "70000", check=False)
    assert bad.returncode == 2 and "--port must be 1–65535" in bad.stderr
