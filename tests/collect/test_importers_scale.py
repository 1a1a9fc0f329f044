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


# ---- the census: cleaning a file needs only where its bytes call for it ------------------

def test_the_census_names_what_no_record_holds(tmp_path):
    from custlens.collect.readers import census

    plain = tmp_path / "plain.csv"
    plain.write_text("user id,item\n1,2\n3,4\n")  # the header's space is not a record's
    assert census(plain, skip=1) == {"edges", "dot", "bad_text"}
    assert census(plain, skip=0) == {"dot", "bad_text"}
    late = tmp_path / "late.csv"  # marks past the first read still count, each on its own
    late.write_bytes(b"1,2\n" * 5_000_000 + "7.0,\u3000x,\ufffd\n".encode())
    assert census(late) == set()
    tabbed = tmp_path / "tabbed.tsv"  # the delimiter is not content
    tabbed.write_text("1\t2\n")
    assert census(tabbed, sep="\t") == {"edges", "dot", "bad_text"}


def _ods_rows(ws):
    files = sorted(str(f) for f in (ws.lake.root / "ods" / "events").glob("dt=*/*.parquet"))
    return duckdb.connect().execute(
        f"SELECT * EXCLUDE (_batch_id, _source) FROM read_parquet({files}) "
        "ORDER BY event_id").fetchall()


def test_a_plain_file_loads_the_same_with_and_without_the_cleaning(tmp_path, monkeypatch):
    """The census leaves cleaning out only where it is the identity: the same file imported
    with every cleaning forced on gives the same rows and the same rejections."""
    from custlens.collect import readers

    path, _ = _taobao_file(tmp_path)
    fast = Workspace(lake=tmp_path / "fast")
    [quick] = fast.import_file("taobao", path)
    monkeypatch.setattr(readers, "census", lambda *a, **k: frozenset())
    slow = Workspace(lake=tmp_path / "slow")
    [full] = slow.import_file("taobao", path)
    assert (quick.rows, quick.rejected) == (full.rows, full.rejected)
    assert _ods_rows(fast) == _ods_rows(slow)
    keep = ("_line", "field", "value", "reason", "raw")
    rejected = [pq.read_table(w.lake.root / r.batch.rejected_file, columns=list(keep)).to_pylist()
                for w, r in ((fast, quick), (slow, full))]
    assert rejected[0] == rejected[1]


def test_one_padded_cell_keeps_the_cleaning_for_the_whole_file(ws, tmp_path):
    path, _ = _taobao_file(tmp_path, rows=50)
    text = path.read_text().splitlines()
    text[10] = text[10].replace(",pv,", ",\tpv ,").replace("11,", '="11",', 1)
    text[20] = "3.0," + text[20].split(",", 1)[1]  # an id written as a float
    path.write_text("\n".join(text) + "\n")
    [result] = ws.import_file("taobao", path)
    assert result.rejected == 0
    users = {r[1] for r in _ods_rows(ws)}
    assert "3" in users and "3.0" not in users and "11" in users
    behaviours = {r[4] for r in _ods_rows(ws)}
    assert behaviours == {"pv"}
