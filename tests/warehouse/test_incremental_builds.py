"""Incremental builds by dt end equal to a forced full rebuild, and survive a kill -9.

The shop is generated, then loaded as a history and its last days later (events, orders,
their lines and new customers), as a shop's daily export arrives. After each change the
incremental build's tables are compared, row for row, with a forced rebuild of every
model from the same ODS — the independent computation here is the full build."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from custlens import Workspace
from custlens.collect.generate import ShopSpec, write_raw
from custlens.warehouse import registry
from snapshots import assert_equal_to_forced

pytestmark = pytest.mark.slow  # each test builds a shop's warehouse several times over (make test-quick leaves it out)

CUTOFF = dt.datetime(2025, 2, 27, 16, tzinfo=dt.UTC)  # 2025-02-28 00:00 in Shanghai


def _split(raw: dict[str, list[Path]], out: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """History before CUTOFF and the days after it, per table, as Parquet files."""
    first, later = {}, {}
    tables = {t: pa.concat_tables(pq.read_table(p) for p in paths) for t, paths in raw.items()}
    orders = tables["orders"]
    late_orders = pc.greater_equal(orders.column("order_ts"), pa.scalar(CUTOFF, orders.schema.field("order_ts").type))
    late_ids = pa.array(orders.filter(late_orders).column("order_id"))
    n_customers = tables["customers"].num_rows
    for table, data in tables.items():
        if table == "events":
            late = pc.greater_equal(data.column("ts"), pa.scalar(CUTOFF, data.schema.field("ts").type))
        elif table == "orders":
            late = late_orders
        elif table == "order_items":
            late = pc.is_in(data.column("order_id"), value_set=late_ids)
        elif table == "customers":
            late = pa.array([i >= n_customers * 9 // 10 for i in range(n_customers)])
        else:
            first[table] = out / f"{table}.parquet"
            pq.write_table(data, first[table])
            continue
        first[table], later[table] = out / f"{table}-a.parquet", out / f"{table}-b.parquet"
        pq.write_table(data.filter(pc.invert(late)), first[table])
        pq.write_table(data.filter(late), later[table])
    return first, later


def _import(ws: Workspace, files: dict[str, Path]) -> list:
    order = ["items", "customers", "ad_spend", "order_items", "orders", "events"]
    return [r for t in order if t in files for r in ws.import_file(t.replace("_", "-"), files[t])]


@pytest.fixture()
def daily(ws: Workspace, tmp_path: Path):
    raw = write_raw(ShopSpec(users=400, start=dt.date(2025, 1, 1), days=60, seed=5), tmp_path / "raw")
    first, later = _split(raw, tmp_path)
    _import(ws, first)
    ws.build()
    return ws, later


def _inode(ws: Workspace, table: str, date: str) -> set[int]:
    folder = ws.lake.version_dir(table) / f"dt={date}"
    return {p.stat().st_ino for p in folder.glob("*.parquet")}


def test_a_new_day_of_events_orders_and_customers_rebuilds_only_its_dates(daily):
    ws, later = daily
    days_before = set(ws.lake.current("dwd_events")["partitions"])
    kept = _inode(ws, "dwd_events", "2025-01-15"), _inode(ws, "dws_customer_day", "2025-01-15")
    _import(ws, later)
    report = ws.build()
    new_days = set(ws.lake.current("dwd_events")["partitions"]) - days_before
    assert new_days == {"2025-02-28", "2025-03-01"}
    assert report.dates["dwd_events"] == 2
    assert report.dates["dws_customer_day"] <= 3  # the new days, and any with new orders only
    # the untouched days are the same files, linked from the previous version
    assert (_inode(ws, "dwd_events", "2025-01-15"), _inode(ws, "dws_customer_day", "2025-01-15")) == kept
    assert_equal_to_forced(ws)


def test_late_events_for_an_old_day_and_their_undo(daily, tmp_path):
    ws, later = daily
    _import(ws, later)
    ws.build()
    old = pq.read_table(later["events"]).slice(0, 40)
    shifted = old.set_column(old.schema.get_field_index("ts"), "ts",
                             pc.subtract(old.column("ts"), pa.scalar(dt.timedelta(days=30))))
    pq.write_table(shifted, tmp_path / "late.parquet")
    [late] = ws.import_file("events", tmp_path / "late.parquet")
    report = ws.build()
    assert report.dates["dwd_events"] == len({r.date() for r in pc.add(
        shifted.column("ts"), pa.scalar(dt.timedelta(hours=8))).to_pylist()})
    assert_equal_to_forced(ws)

    ws.lake.undo_batch(late.batch.batch_id)
    ws.engine.refresh()
    ws.build()
    assert_equal_to_forced(ws)


def test_identity_change_and_forget_rebuild_every_day(daily, tmp_path):
    ws, later = daily
    _import(ws, later)
    ws.build()
    users = ws.sql("SELECT DISTINCT user_id FROM dwd_events ORDER BY 1 LIMIT 2").column(0).to_pylist()
    (tmp_path / "identity.csv").write_text(f"source,source_id,user_id\nlog,{users[1]},{users[0]}\n")
    ws.import_file("identity", tmp_path / "identity.csv")
    report = ws.build()
    assert report.dates["dwd_events"] == len(ws.lake.current("dwd_events")["partitions"])
    assert_equal_to_forced(ws)

    ws.forget(users[0])
    ws.build()
    assert ws.sql(f"SELECT count(*) FROM dwd_events WHERE user_id = '{users[0]}'").column(0)[0].as_py() == 0
    assert_equal_to_forced(ws)


def _readable(lake: Path) -> dict[str, int]:
    """Every published table's row count, read as it is (no build first)."""
    with Workspace(lake=lake) as w:
        return {t: w.engine.query(f"SELECT count(*) FROM {t}").column(0)[0].as_py()
                for t in w.lake.built_tables()}


def _kill_when_writing(lake: Path, table: str, env: dict[str, str]) -> bool:
    """Start a build and SIGKILL it while it writes `table`'s new version; False when the
    build got past it before the kill could land."""
    folder = lake / table.split("_")[0] / table
    proc = subprocess.Popen([sys.executable, "-m", "custlens.cli", "--lake", str(lake), "build"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if any(folder.glob("_tmp-*")):
                proc.send_signal(signal.SIGKILL)
                return True
            time.sleep(0.002)
        return False
    finally:
        proc.kill()
        proc.wait()


def test_kill_9_mid_incremental_build_leaves_tables_readable_and_next_build_equal(daily):
    ws, later = daily
    _import(ws, later)
    lake = ws.lake.root
    before = _readable(lake)
    ws.close()
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    killed = [t for t in ("dwd_events", "dws_customer_day", "dws_customer")
              if _kill_when_writing(lake, t, env)]
    assert killed, "every build finished before the kill: nothing was tested"
    after = _readable(lake)  # every published table opens and counts
    assert after.keys() == before.keys()
    with Workspace(lake=lake) as w:
        report = w.build()
        assert "dwd_events" not in report.built or report.dates["dwd_events"] <= 2
        assert_equal_to_forced(w)


def test_a_full_rebuild_day_by_day_equals_one_statement(daily, monkeypatch):
    """A big lake's full rebuild runs a few days per statement (no spilling); the result is
    the one-statement result, row for row."""
    from custlens.warehouse import incremental

    ws, later = daily
    _import(ws, later)
    ws.build()
    monkeypatch.setattr(incremental.chunks, "__defaults__", (1,))  # one day per statement
    days = {"2025-01-01", "2025-01-02"}
    assert len(incremental.chunks(ws.lake, registry.get("dwd_events"), days)) == 2
    assert_equal_to_forced(ws)  # the forced rebuild runs day by day


def _events_csv(path: Path, copy_on_day: int | None) -> Path:
    lines = ["user_id,item_id,behavior,ts"]
    for day in (1, 2, 3):
        lines += [f"u{i % 7},i{i},pv,2025-03-0{day} 10:{i:02d}:00" for i in range(50)]
        if day == copy_on_day:
            lines.append(lines[-1])  # an exact copy: the same content hash, the same day
    path.write_text("\n".join(lines) + "\n")
    return path


def test_days_without_copies_are_the_ods_files_linked(ws, tmp_path):
    """A day with no repeated event id and no identity to apply is its ODS files as they
    are: dwd_events links them (the same inodes) instead of writing them again. The day
    with a copied line is computed and keeps one copy; every reader sees the declared
    columns, not the ODS lineage the linked files also hold."""
    ws.import_file("events", _events_csv(tmp_path / "e.csv", copy_on_day=2))
    ws.build()
    ods = {p.stat().st_ino for p in ws.lake.ods_files("events")}
    assert _inode(ws, "dwd_events", "2025-03-01") <= ods and _inode(ws, "dwd_events", "2025-03-03") <= ods
    assert not _inode(ws, "dwd_events", "2025-03-02") & ods
    assert ws.sql("SELECT count(*) AS n FROM dwd_events").column("n")[0].as_py() == 150  # 151 lines
    assert ws.sql("SELECT * FROM dwd_events LIMIT 1").column_names == \
        [c.name for c in registry.get("dwd_events").columns]
    spec = {c.name: c.type for c in registry.get("dwd_events").columns}
    assert {k: v for k, v in ws.lake.current("dwd_events")["columns"]} == spec
    assert_equal_to_forced(ws)

    # an identity to apply to the log's ids: no day passes through, the ids are mapped
    (tmp_path / "identity.csv").write_text("source,source_id,user_id\nlog,u1,u0\n")
    ws.import_file("identity", tmp_path / "identity.csv")
    ws.build()
    assert not any(_inode(ws, "dwd_events", f"2025-03-0{d}") & ods for d in (1, 2, 3))
    users = set(ws.sql("SELECT DISTINCT user_id FROM dwd_events").column("user_id").to_pylist())
    assert "u1" not in users and "u0" in users


def test_an_ods_file_without_a_column_is_computed_not_linked(ws, tmp_path, monkeypatch):
    """A lake's older ODS files may lack a later column: such a day is computed (the
    column NULL), never linked with a column missing."""
    from custlens.warehouse import incremental

    ws.import_file("events", _events_csv(tmp_path / "e.csv", copy_on_day=None))
    real = incremental._holds
    monkeypatch.setattr(incremental, "_holds",
                        lambda path, columns: real(path, {**columns, "a_later_column": "VARCHAR"}))
    ws.build()
    ods = {p.stat().st_ino for p in ws.lake.ods_files("events")}
    assert not any(_inode(ws, "dwd_events", f"2025-03-0{d}") & ods for d in (1, 2, 3))
    assert ws.sql("SELECT count(*) AS n FROM dwd_events").column("n")[0].as_py() == 150


def test_a_computed_day_is_checked_unique_within_its_date(ws, tmp_path, monkeypatch):
    """dwd_events' event_id is unique within a local date: a computed day with a planted
    second copy fails the build before publishing (linked days hold no repeated id)."""
    from custlens.errors import CustlensError
    from custlens.warehouse.model import Model

    ws.import_file("events", _events_csv(tmp_path / "e.csv", copy_on_day=2))
    real_render = Model.render

    def planted(self, ctx):
        sql = real_render(self, ctx)
        return f"SELECT * FROM ({sql}) UNION ALL (SELECT * FROM ({sql}) LIMIT 1)" \
            if self.name == "dwd_events" else sql

    monkeypatch.setattr(Model, "render", planted)
    with pytest.raises(CustlensError, match="dwd_events: column event_id fails its check unique within dt"):
        ws.build()
    assert ws.lake.current("dwd_events") is None
