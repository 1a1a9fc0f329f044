"""The log agent on real files: partial lines, rotation, truncation, restarts, Filebeat."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens import Workspace
from custlens.collect.importers import ImportOptions
from custlens.collect.logagent import LogAgent
from custlens.lake import Lake


def _event(i: int, **extra) -> str:
    return json.dumps({"user_id": f"u{i}", "item_id": f"I{i % 7}", "behavior": "pv",
                       "ts": f"2025-11-11 10:{i // 60 % 60:02d}:{i % 60:02d}", **extra}) + "\n"


def _agent(root: Path, *patterns: str, **kw) -> LogAgent:
    return LogAgent(Lake(root / "lake"), [str(root / p) for p in patterns], ImportOptions(),
                    "Asia/Shanghai", **kw)


def _users(root: Path, table: str = "dwd_events") -> list[str]:
    ws = Workspace(lake=root / "lake")
    try:
        return sorted(ws.sql(f"SELECT user_id FROM {table}").column(0).to_pylist())
    finally:
        ws.close()


def _expected(ids) -> list[str]:
    return sorted(f"u{i}" for i in ids)


def test_lines_partial_lines_new_files_and_quarantine(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(_event(i) for i in range(3)) + '{"user_id": "u3", "beh')
    agent = _agent(tmp_path, "*.log")
    first = agent.run_pass()
    assert (first.lines, first.loaded) == (3, 3)  # the partial last line waits
    assert agent.run_pass().lines == 0
    with open(log, "a") as fh:
        fh.write('avior": "pv", "ts": "2025-11-11 11:00:00"}\n')
        fh.write('{"user_id": "u4", "behavior": "zzz", "ts": "2025-11-11 11:00:00"}\n')
        fh.write("{broken\n")
        fh.write('{"behavior": "pv", "ts": "2025-11-11 11:00:00"}\n')
        fh.write(_event(5))
    (tmp_path / "web2.log").write_text(_event(6))  # a new file matching the glob
    second = agent.run_pass()
    assert (second.loaded, second.quarantined) == (3, 3)
    assert _users(tmp_path) == _expected([0, 1, 2, 3, 5, 6])
    ws = Workspace(lake=tmp_path / "lake")
    bad = ws.sql("SELECT source, line, byte_offset, field, reason, raw FROM dwd_quarantine "
                 "ORDER BY line").to_pylist()
    ws.close()
    assert [(b["line"], b["field"]) for b in bad] == [(5, "behavior"), (6, None), (7, "user_id")]
    start_of_line_6 = len("".join(_event(i) for i in range(3)).encode()) + len(
        '{"user_id": "u3", "behavior": "pv", "ts": "2025-11-11 11:00:00"}\n'
        '{"user_id": "u4", "behavior": "zzz", "ts": "2025-11-11 11:00:00"}\n')
    assert bad[1]["byte_offset"] == start_of_line_6 and bad[1]["raw"] == "{broken"
    assert str(log) in bad[0]["source"] and "not valid JSON" in bad[1]["reason"]
    assert bad[2]["reason"] == "missing"


def test_unparseable_time_and_bad_encoding_are_quarantined(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(_event(1).encode()
                    + b'{"user_id": "u2", "behavior": "pv", "ts": "yesterday"}\n'
                    + b'{"user_id": "u3\xff\xfe", "behavior": "pv", "ts": "2025-11-11 10:00:00"}\n'
                    + _event(4).encode())
    counts = _agent(tmp_path, "app.log").run_pass()
    assert (counts.loaded, counts.quarantined) == (2, 2)
    ws = Workspace(lake=tmp_path / "lake")
    bad = ws.sql("SELECT line, field, reason FROM dwd_quarantine ORDER BY line").to_pylist()
    ws.close()
    assert [(b["line"], b["field"]) for b in bad] == [(2, "ts"), (3, "user_id")]
    assert "date-time" in bad[0]["reason"] and "encoding" in bad[1]["reason"]


def test_rotation_by_rename_reads_the_old_file_to_its_end(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(_event(i) for i in range(3)))
    agent = _agent(tmp_path, "app.log")  # the glob does not match the rotated name
    agent.run_pass()
    with open(log, "a") as fh:
        fh.write(_event(3))
    log.rename(tmp_path / "app.log.1")
    log.write_text(_event(4))
    agent.run_pass()
    assert _users(tmp_path) == _expected(range(5))
    # a restarted agent knows both files and reads nothing twice
    assert _agent(tmp_path, "app.log").run_pass().lines == 0
    assert len(_users(tmp_path, "ods_events")) == 5


def test_copytruncate_starts_again_and_the_copy_adds_nothing(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(_event(i) for i in range(5)))
    agent = _agent(tmp_path, "app.log*")
    agent.run_pass()
    with open(log, "a") as fh:
        fh.write(_event(5))
    shutil.copy(log, tmp_path / "app.log.1")  # logrotate copytruncate: copy, then truncate
    with open(log, "r+") as fh:
        fh.truncate(0)
    with open(log, "a") as fh:
        fh.write(_event(6))
    agent.run_pass()
    assert _users(tmp_path) == _expected(range(7))  # the copy's lines are in DWD once


def test_rewritten_file_with_the_same_inode_is_a_new_file(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(_event(i) for i in range(3)))
    agent = _agent(tmp_path, "app.log")
    agent.run_pass()
    inode = log.stat().st_ino
    with open(log, "r+") as fh:  # same inode, other content, longer than what was read
        fh.write("".join(_event(i) for i in range(10, 15)))
    assert log.stat().st_ino == inode
    agent.run_pass()
    assert _users(tmp_path) == _expected([0, 1, 2, 10, 11, 12, 13, 14])


def test_crash_between_batch_and_registry_write_duplicates_nothing(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(_event(i) for i in range(3)))
    agent = _agent(tmp_path, "app.log")
    registry = agent.registry_path
    before = registry.read_text()
    agent.run_pass()
    registry.write_text(before)  # as if killed after the batch, before the registry write
    with open(log, "a") as fh:
        fh.write(_event(3))
    _agent(tmp_path, "app.log").run_pass()
    assert _users(tmp_path, "ods_events") == _expected(range(4))  # not even in ODS twice
    saved = json.loads(registry.read_text())["files"][0]
    assert saved["offset"] == log.stat().st_size and saved["line"] == 4


def test_csv_logs(tmp_path):
    log = tmp_path / "events.csv"
    log.write_text("user_id,behavior,ts\nu1,pv,2025-11-11 10:00:00\nu2,cart,2025-11-11 10:01:00\n")
    agent = _agent(tmp_path, "*.csv")
    agent.run_pass()
    with open(log, "a") as fh:
        fh.write("u3,buy,2025-11-11 10:02:00\nu4,pv\n")
    counts = agent.run_pass()
    assert (counts.loaded, counts.quarantined) == (1, 1)
    assert _users(tmp_path) == ["u1", "u2", "u3"]


def _filebeat(offset: int, event: str, host: str = "web-1") -> str:
    return json.dumps({
        "@timestamp": "2025-11-11T02:00:05.123Z",
        "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.15.0"},
        "message": event.rstrip("\n"), "log": {"file": {"path": "/var/log/shop/app.log"},
                                              "offset": offset},
        "input": {"type": "filestream"}, "host": {"name": host},
        "agent": {"id": "a1", "name": host, "type": "filebeat", "version": "8.15.0",
                  "ephemeral_id": "e1"},
        "fields": {"shop_id": "S1"},
    }) + "\n"


def test_filebeat_output_deduplicated_on_host_path_offset(tmp_path):
    first = _filebeat(0, _event(1)) + _filebeat(81, _event(2))
    # Filebeat delivers at least once: a redelivery of offset 81, and a line from another host
    again = _filebeat(81, _event(2)) + _filebeat(0, _event(1), host="web-2")
    (tmp_path / "fb-1.json").write_text(first)
    (tmp_path / "fb-2.json").write_text(again + '{"@timestamp": "x", "message": 5}\n')
    counts = _agent(tmp_path, "fb-*.json").run_pass()
    assert counts.quarantined == 1
    ws = Workspace(lake=tmp_path / "lake")
    rows = ws.sql("SELECT user_id, shop_id FROM dwd_events ORDER BY user_id").to_pylist()
    ws.close()
    # web-2's line is another delivery of another log line: it stays
    assert [r["user_id"] for r in rows] == ["u1", "u1", "u2"]
    assert {r["shop_id"] for r in rows} == {"S1"}  # from Filebeat's custom fields


def _cli(*args, cwd, **kw):
    return subprocess.Popen([sys.executable, "-m", "custlens.cli", *args], cwd=cwd,
                            env={**os.environ, "CUSTLENS_QUIET": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _ods_count(root: Path) -> int:
    lake = Lake(root / "lake")
    return sum(b.rows for b in lake.batches("events"))


def test_follow_stops_cleanly_on_sigterm(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(_event(0))
    proc = _cli("--lake", str(tmp_path / "lake"), "collect", str(log), "--follow", "--interval", "0.2",
                cwd=tmp_path)
    deadline = time.time() + 30
    while _ods_count(tmp_path) < 1 and time.time() < deadline:
        time.sleep(0.2)
    with open(log, "a") as fh:
        fh.write(_event(1))
    while _ods_count(tmp_path) < 2 and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "collected: 2 lines" in err
    assert _users(tmp_path) == ["u0", "u1"]


WRITER = """
import json, os, sys, time, random
folder, n = sys.argv[1], int(sys.argv[2])
random.seed(5)
log = os.path.join(folder, "app.log")
rotated = 0
fh = open(log, "a")
for i in range(n):
    fh.write(json.dumps({"user_id": f"u{i}", "behavior": "pv",
                         "ts": "2025-11-11 10:00:00", "event_id": i}) + "\\n")
    if i % 50 == 49:
        fh.flush()
        time.sleep(random.random() * 0.25)
    if i % 700 == 699:
        fh.close()
        rotated += 1
        os.rename(log, f"{log}.{rotated}")
        fh = open(log, "a")
fh.close()
"""


@pytest.mark.slow
def test_kill_9_twenty_times_loses_nothing_and_doubles_nothing(tmp_path):
    n = 6_000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(n)])
    rng = random.Random(7)
    for _ in range(20):
        agent = _cli("--lake", str(tmp_path / "lake"), "collect", str(tmp_path / "app.log*"),
                     "--follow", "--interval", "0.05", cwd=tmp_path)
        time.sleep(rng.uniform(0.3, 1.2))
        agent.send_signal(signal.SIGKILL)
        agent.wait()
    writer.wait(timeout=120)
    final = _cli("--lake", str(tmp_path / "lake"), "collect", str(tmp_path / "app.log*"), cwd=tmp_path)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    ws = Workspace(lake=tmp_path / "lake")
    dwd = ws.sql("SELECT event_id FROM dwd_events").column(0).to_pylist()
    ods = ws.sql("SELECT event_id FROM ods_events").column(0).to_pylist()
    ws.close()
    assert sorted(dwd) == list(range(n))
    assert len(ods) == n  # not even a replay in ODS


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=60).filter(lambda b: b"\n" not in b), min_size=1, max_size=8),
       st.sampled_from(["json", "filebeat", "csv"]))
def test_fuzzed_lines_are_loaded_or_quarantined(tmp_path_factory, lines, fmt):
    root = tmp_path_factory.mktemp("fuzz")
    good = {"json": _event(1), "filebeat": _filebeat(0, _event(1)),
            "csv": "u1,pv,2025-11-11 10:00:00\n"}[fmt].encode()
    head = b"user_id,behavior,ts\n" if fmt == "csv" else b""
    data = head + b"".join(line + b"\n" for line in lines) + good
    (root / "fuzz.log").write_bytes(data)
    counts = _agent(root, "fuzz.log", fmt=fmt).run_pass()
    non_blank = sum(1 for line in lines if line.strip(b" \t\r")) + 1  # blank: spaces and tabs only
    assert counts.loaded + counts.quarantined == non_blank
    assert counts.loaded >= 1  # the good line after the noise still loads
