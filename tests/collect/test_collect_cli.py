"""generate --as-logs → collect → build: the demo's real path, through the command line."""

import json

import pytest

from command_line import custlens as _cl

pytestmark = pytest.mark.slow  # collects a generated year of logs through the CLI (make test-quick leaves it out)


def test_generated_logs_collected_equal_the_generated_shop(tmp_path):
    _cl(tmp_path, "generate", "--users", "800", "--days", "120", "--as-logs", "shop")
    logs = sorted(p.name for p in (tmp_path / "shop" / "logs").iterdir())
    assert logs[0] == "events.log"
    written = sum(p.read_bytes().count(b"\n") for p in (tmp_path / "shop" / "logs").iterdir())
    first = _cl(tmp_path, "collect", "shop/logs/events.log*")
    assert f"collected: {written:,} lines" in first.stderr and "0 quarantined" in first.stderr
    assert "collected: 0 lines" in _cl(tmp_path, "collect", "shop/logs/events.log*").stderr
    for table in sorted((tmp_path / "shop" / "tables").glob("orders-*.parquet")):
        _cl(tmp_path, "import", "orders", str(table))
    rows = json.loads(_cl(tmp_path, "sql", "SELECT count(*) AS n FROM dwd_events", "--format", "json").stdout)
    assert rows[0]["n"] == written
    runs = json.loads(_cl(tmp_path, "runs", "--format", "json").stdout)
    collect_runs = [r for r in runs if r["command"] == "collect"]
    assert collect_runs[0]["rows_in"] == written and collect_runs[0]["status"] == "ok"
    segments = json.loads(_cl(tmp_path, "segment", "--format", "json").stdout)
    assert sum(s["customers"] for s in segments) > 0
