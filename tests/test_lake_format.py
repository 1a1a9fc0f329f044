"""Lakes written by the previous release keep working: read as they are, upgraded by the
first writer (or `custlens upgrade`), rebuilt to what a fresh build gives; a lake from a
newer custlens is refused with a clear error.

`fixtures/lake_format1.tar.gz` is a lake written by custlens at commit 1bf8b9c (the
2026-12-01 release, format 1: no _ops/format.json): a generated shop of 150 customers
over 40 days, imported and built by that code."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens import Workspace
from custlens.cli import app
from custlens.errors import CustlensError
from custlens.lake import FORMAT_VERSION, Lake
from snapshots import assert_equal_to_forced, snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "lake_format1.tar.gz"


@pytest.fixture()
def old_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "lake"


def test_a_format_1_lake_is_read_as_it_is(old_lake):
    assert not (old_lake / "_ops" / "format.json").exists()
    assert Lake(old_lake).format_version() == 1
    with Workspace(lake=old_lake) as ws:
        counts = {t: ws.engine.query(f"SELECT count(*) FROM {t}").column(0)[0].as_py()
                  for t in ws.lake.built_tables()}
    assert counts["dws_customer_day"] > 0 and counts["ads_rfm"] > 0 and counts["dwd_events"] > 0
    assert not (old_lake / "_ops" / "format.json").exists()  # reading writes nothing


def test_custlens_upgrade_names_each_step_and_is_idempotent(old_lake):
    runner = CliRunner()
    first = runner.invoke(app, ["--lake", str(old_lake), "upgrade"])
    assert first.exit_code == 0, first.output
    assert "format 1 → 2" in first.output
    assert json.loads((old_lake / "_ops" / "format.json").read_text())["format"] == FORMAT_VERSION
    again = runner.invoke(app, ["--lake", str(old_lake), "upgrade"])
    assert again.exit_code == 0 and "nothing to do" in again.output


@pytest.mark.slow  # builds the old lake and a fresh one
def test_the_first_build_upgrades_and_ends_equal_to_a_fresh_build(old_lake):
    with Workspace(lake=old_lake) as ws:
        before = snapshot(ws)
        report = ws.build()
        assert Lake(old_lake).format_version() == FORMAT_VERSION
        # the incremental tables of the old format had no partition records: rebuilt whole
        assert report.dates["dwd_events"] == len(ws.lake.current("dwd_events")["partitions"]) == 40
        assert ws.lake.current("dws_customer_day")["partition_by"] == "dt"
        after = snapshot(ws)
        # the answers the previous release gave stay the answers
        for table in ("dwd_events", "dws_customer_day", "ads_rfm", "ads_segments"):
            assert sorted(after[table], key=repr) == sorted(before[table], key=repr), table
        assert_equal_to_forced(ws)
        # and the next day is incremental
        assert ws.build().built == []


def test_a_lake_from_a_newer_custlens_is_refused(old_lake):
    (old_lake / "_ops" / "format.json").write_text(json.dumps({"format": FORMAT_VERSION + 1}))
    with pytest.raises(CustlensError) as err:
        Workspace(lake=old_lake)
    assert f"format {FORMAT_VERSION + 1}" in str(err.value)
    assert "upgrade custlens" in (err.value.hint or "")
    before = sorted(p.name for p in (old_lake / "_ops" / "batches").iterdir())
    with pytest.raises(CustlensError):
        Lake(old_lake).upgrade()
    assert sorted(p.name for p in (old_lake / "_ops" / "batches").iterdir()) == before


def test_a_new_lake_starts_at_the_current_format(ws, tmp_path):
    (tmp_path / "e.csv").write_text("user_id,behavior,ts\nu1,pv,2025-01-05 10:00:00\n")
    ws.import_file("events", tmp_path / "e.csv")
    assert json.loads(ws.lake.ops("format.json").read_text())["format"] == FORMAT_VERSION
