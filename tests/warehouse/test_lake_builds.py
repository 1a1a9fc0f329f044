"""Idempotent imports, undo, repeatable builds, and crashes that lose nothing."""

from pathlib import Path

import pytest

from custlens.engine.duckdb import DuckDBEngine
from custlens.errors import CustlensError
from custlens.lake import Lake
from custlens.runs import runs

EVENTS = "user_id,item_id,behavior,ts\nu1,i1,pv,2025-01-01 10:00:00\nu1,i1,buy,2025-01-01 10:05:00\n" \
         "u2,i2,cart,2025-01-02 11:00:00\n"


def test_same_file_twice_adds_nothing(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(EVENTS, encoding="utf-8")
    [first] = ws.import_file("events", path)
    [second] = ws.import_file("events", path)
    assert first.rows == 3 and second.batch is None and second.previous.batch_id == first.batch.batch_id
    assert ws.sql("SELECT count(*) FROM ods_events").column(0)[0].as_py() == 3


def test_overlapping_files_count_each_event_once(ws, tmp_path):
    (tmp_path / "a.csv").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "b.csv").write_text(EVENTS + "u3,i3,pv,2025-01-03 09:00:00\n", encoding="utf-8")
    ws.import_file("events", tmp_path / "a.csv")
    ws.import_file("events", tmp_path / "b.csv")
    assert ws.sql("SELECT count(*) FROM ods_events").column(0)[0].as_py() == 7
    assert ws.sql("SELECT count(*) FROM dwd_events").column(0)[0].as_py() == 4


def test_undo_removes_a_batch_and_the_next_build_reflects_it(ws, tmp_path):
    (tmp_path / "a.csv").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "b.csv").write_text("user_id,behavior,ts\nu9,pv,2025-01-05 10:00:00\n", encoding="utf-8")
    ws.import_file("events", tmp_path / "a.csv")
    [b] = ws.import_file("events", tmp_path / "b.csv")
    assert ws.sql("SELECT count(*) FROM dwd_events").column(0)[0].as_py() == 4
    ws.lake.undo_batch(b.batch.batch_id)
    ws.engine.refresh()
    assert ws.sql("SELECT count(*) FROM dwd_events").column(0)[0].as_py() == 3
    # and it can be imported again after the undo
    [again] = ws.import_file("events", tmp_path / "b.csv")
    assert again.batch is not None


@pytest.mark.slow  # builds a year twice
def test_rebuild_is_a_no_op_and_forced_rebuild_gives_same_values(shop):
    report = shop.build()
    assert report.built == []
    before = shop.sql("SELECT * FROM ads_rfm ORDER BY user_id").to_pylist()
    shop.build(force=True)
    after = shop.sql("SELECT * FROM ads_rfm ORDER BY user_id").to_pylist()
    assert before == after and len(before) > 500


def test_crash_mid_build_leaves_previous_results_readable(ws, tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text(EVENTS, encoding="utf-8")
    ws.import_file("events", tmp_path / "a.csv")
    ws.build()
    good = ws.sql("SELECT count(*) FROM dwd_events").column(0)[0].as_py()
    (tmp_path / "b.csv").write_text("user_id,behavior,ts\nu9,pv,2025-01-05 10:00:00\n", encoding="utf-8")
    ws.import_file("events", tmp_path / "b.csv")

    real_publish = Lake.publish

    def crash(self, table, tmp, *args, **kwargs):
        # the new version's files are in place (written, or linked from ODS), never published
        assert list(Path(tmp).rglob("*.parquet"))
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(Lake, "publish", crash)
    with pytest.raises(KeyboardInterrupt):
        ws.build(["dwd_events"])
    monkeypatch.setattr(Lake, "publish", real_publish)
    fresh = DuckDBEngine(ws.lake)
    assert fresh.query("SELECT count(*) FROM dwd_events").column(0)[0].as_py() == good
    fresh.close()
    ws.build(["dwd_events"])
    assert ws.sql("SELECT count(*) FROM dwd_events").column(0)[0].as_py() == good + 1
    assert not list(ws.lake.table_dir("dwd_events").glob("_tmp-*"))
    statuses = [r["status"] for r in runs(ws.lake)]
    assert statuses.count("failed") == 1 and statuses[-1] == "ok"


def test_crash_mid_import_leaves_no_partial_batch(ws, tmp_path, monkeypatch):
    from custlens.lake import Lake

    (tmp_path / "a.csv").write_text(EVENTS, encoding="utf-8")

    def die(*args, **kwargs):
        raise KeyboardInterrupt("killed before the manifest")

    monkeypatch.setattr(Lake, "commit_batch", die)
    with pytest.raises(KeyboardInterrupt):
        ws.import_file("events", tmp_path / "a.csv")
    monkeypatch.undo()
    assert ws.lake.batches() == []
    [r] = ws.import_file("events", tmp_path / "a.csv")  # recovers, then imports once
    assert r.rows == 3
    assert ws.sql("SELECT count(*) FROM ods_events").column(0)[0].as_py() == 3


def test_run_history_records_builds(ws, tmp_path):
    (tmp_path / "a.csv").write_text(EVENTS, encoding="utf-8")
    ws.import_file("events", tmp_path / "a.csv")
    ws.build()
    last = runs(ws.lake)[-1]
    assert last["command"] == "build" and last["status"] == "ok" and last["rows_out"] > 0


@pytest.mark.parametrize("model, column, plant, check", [
    ("dws_customer", "user_id", "CASE WHEN row_number() OVER () = 1 THEN NULL ELSE user_id END", "not_null"),
    ("dws_customer", "user_id", "CASE WHEN row_number() OVER () <= 2 THEN 'twice' ELSE user_id END", "unique"),
    ("ads_customer_class", "class", "CASE WHEN row_number() OVER () = 1 THEN 'vip' ELSE class END", "accepted"),
    ("dws_customer_day", "user_id", "CASE WHEN row_number() OVER () = 1 THEN NULL ELSE user_id END", "not_null"),
])
def test_a_planted_bad_row_fails_the_build_and_is_not_published(ws, tmp_path, monkeypatch, model,
                                                               column, plant, check):
    """Every build runs each model's declared column checks on what it wrote, before
    publishing: one bad row fails the build naming the table, column, check and the row."""
    from custlens.warehouse import registry

    (tmp_path / "a.csv").write_text(EVENTS, encoding="utf-8")
    ws.import_file("events", tmp_path / "a.csv")
    target = registry.get(model)
    real_render = type(target).render

    def planted(self, ctx):
        sql = real_render(self, ctx)
        if self.name != model:
            return sql
        return f"SELECT * REPLACE ({plant} AS {column}) FROM ({sql})"

    monkeypatch.setattr(type(target), "render", planted)
    with pytest.raises(CustlensError) as failure:
        ws.build()
    message = str(failure.value)
    assert model in message and f"column {column}" in message and check in message
    assert "1 row(s)" in message
    assert ws.lake.current(model) is None  # never published
    monkeypatch.setattr(type(target), "render", real_render)
    ws.build()
    assert ws.lake.current(model) is not None
