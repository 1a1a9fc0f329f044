"""The import at scale (issue #16): one pass for good and rejected rows, line numbers only
where a record is rejected, and DuckDB's memory bounded by the `[duckdb]` settings.

The expected lines are read off the file here, by Python, not by custlens."""

import duckdb
import pyarrow.parquet as pq
import pytest

from custlens import Workspace
from custlens.errors import CustlensError

GOOD = "{u},{i},5,pv,{ts}"
NOV_25 = 1511539200  # 2017-11-25 00:00 in Shanghai, the Taobao dataset's first day


def _taobao_file(tmp_path, rows=400):
    """Good rows, with bad ones spread through: an unknown behaviour, a time outside the
    dataset's dates (twice, identical), a time that is no number, an unsplittable line."""
    lines, bad = [], {}
    for n in range(1, rows + 1):
        if n % 97 == 0:
            lines.append(f"{n},1,5,zz,{NOV_25 + n}")
            bad[n] = "behavior"
        elif n in (150, 151):
            lines.append("7,7,7,pv,1400000000")
            bad[n] = "ts"
        elif n == 222:
            lines.append(f"{n},1,5,pv,soon")
            bad[n] = "ts"
        elif n == 300:
            lines.append("1,2,3")  # three fields of five
            bad[n] = None
        else:
            lines.append(GOOD.format(u=n % 37, i=n, ts=NOV_25 + n * 600))
    path = tmp_path / "UserBehavior.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, bad


def test_rejected_rows_carry_their_own_lines(ws, tmp_path):
    path, bad = _taobao_file(tmp_path)
    [result] = ws.import_file("taobao", path)
    assert (result.rows, result.rejected) == (400 - len(bad), len(bad))
    rejected = pq.read_table(ws.lake.root / result.batch.rejected_file).to_pylist()
    assert {r["_line"]: r["field"] for r in rejected} == bad
    text = path.read_text().splitlines()
    for r in rejected:
        if r["field"]:
            assert r["value"] in text[r["_line"] - 1].split(","), r
    # the good rows' files hold good rows only, and no trace of the rejected ones
    files = sorted((ws.lake.root / "ods" / "events").glob("dt=*/*.parquet"))
    assert files and not any("HIVE_DEFAULT" in str(f) for f in files)
    good = duckdb.connect().execute(
        f"SELECT count(*), count(_reject) FROM read_parquet({[str(f) for f in files]})").fetchone()
    assert good == (result.rows, 0)


def test_the_same_rows_with_own_ids_are_numbered_as_before(ws, tmp_path):
    """A file with its own event ids keeps a line on every row (a copy may differ from the
    first, so which one was first matters); its rejected rows get the same lines."""
    path, bad = _taobao_file(tmp_path)
    body = path.read_text().splitlines()
    own = tmp_path / "events.csv"
    own.write_text("event_id,user_id,item_id,category_id,behavior,ts\n" + "\n".join(
        f"{n},{line}" for n, line in enumerate(body, start=1)) + "\n")
    [result] = ws.import_file("events", own, time_format="epoch")
    rejected = pq.read_table(ws.lake.root / result.batch.rejected_file).column("_line").to_pylist()
    # the header is line 1; without the Taobao preset's dates, 1400000000 is a fine time
    assert sorted(rejected) == sorted(n + 1 for n in bad if n not in (150, 151))
    files = [str(f) for f in (ws.lake.root / "ods" / "events").glob("dt=*/*.parquet")]
    lines = duckdb.connect().execute(
        f"SELECT min(_line), count(_line) FROM read_parquet({files})").fetchone()
    assert lines == (2, result.rows)


def _setting(con, name):
    return con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_the_memory_limit_reaches_the_engine_and_the_importer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "custlens.toml").write_text(
        '[duckdb]\nmemory_limit = "700MB"\nthreads = 1\nspill = "spill"\n')
    w = Workspace(lake=tmp_path / "lake")
    try:
        engine = w.reader.con
        assert _setting(engine, "memory_limit").startswith("667.5 MiB") or \
            _setting(engine, "memory_limit") in {"700.0 MB", "667.5 MiB"}
        assert _setting(engine, "threads") == 1
        assert _setting(engine, "temp_directory").endswith("spill")
        importer = w.lake.duckdb()
        assert _setting(importer, "memory_limit") == _setting(engine, "memory_limit")
    finally:
        w.close()


def test_the_default_limit_is_a_laptops_not_the_machines(ws):
    limit = _setting(ws.lake.duckdb(), "memory_limit")
    assert limit in {"2.0 GB", "1.8 GiB", "1.8 GB"}, limit


def test_a_bad_memory_limit_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTLENS_DUCKDB__MEMORY_LIMIT", "lots")
    w = Workspace(lake=tmp_path / "lake")
    with pytest.raises(CustlensError, match=r"\[duckdb\].*lots"):
        w.lake.duckdb()
