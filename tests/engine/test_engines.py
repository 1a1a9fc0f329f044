"""Issue #7: one warehouse, two engines. The same suite runs every model and every analysis
on DuckDB and on Spark local[2] over copies of one lake (a generated shop and the real
samples) and compares the results row by row: floating values within 1e-6 relative (sums
are added in a different order), everything else exactly.
Then the Hive side: tables registered in the embedded metastore, and Spark's Thrift server
answering beeline (from the pyspark jars) by table name.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from custlens import Workspace, schema
from custlens.collect.generate import ShopSpec
from custlens.warehouse import registry
from custlens.workspace import FUNNEL_BREAKDOWNS

pytestmark = pytest.mark.slow
CUSTLENS = str(Path(sys.executable).parent / "custlens")

DATASETS: dict[str, Callable[[Workspace, Path], object]] = {
    "generated": lambda ws, data: ws.generate(ShopSpec(users=800, days=365, seed=13)),
    "taobao": lambda ws, data: ws.import_file("taobao", data / "taobao" / "UserBehavior_users_head.csv"),
    "online_retail": lambda ws, data: ws.import_file(
        "online-retail", data / "online_retail" / "OnlineRetail_sample40k.csv"),
}

ANALYSES: dict[str, Callable[[Workspace], pa.Table]] = {
    "segments": lambda ws: ws.segments(),
    **{f"segment_view_{v}": (lambda ws, v=v: ws.segment_view(v)) for v in ("k", "crosstab", "names")},
    "rfm": lambda ws: ws.rfm(),
    "classes": lambda ws: ws.class_summary(),
    "periods": lambda ws: ws.periods(),
    "period_kinds": lambda ws: ws.period_kinds(),
    "campaign_carts": lambda ws: ws.campaign_carts(),
    "campaign_only": lambda ws: ws.campaign_only(),
    **{f"funnel_{by}": (lambda ws, by=by: ws.funnel(by)) for by in FUNNEL_BREAKDOWNS},
    "hourly": lambda ws: ws.hourly(),
    "repurchase_category": lambda ws: ws.repurchase("category"),
    "repurchase_item": lambda ws: ws.repurchase("item"),
    "membership_invites": lambda ws: ws.membership_invites(),
    "purchase_due": lambda ws: ws.purchase_due(),
    **{f"channels_{a}": (lambda ws, a=a: ws.channels(a)) for a in ("last", "first", "linear")},
    "retention_month": lambda ws: ws.retention("month"),
    "retention_week": lambda ws: ws.retention("week"),
    "clv": lambda ws: ws.clv(),
    "batches": lambda ws: ws.sql("SELECT table_name, source, rows, rejected, files FROM ops_batches"),
}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b


def _rows(table: pa.Table) -> list[tuple]:
    rows = [tuple(r.values()) for r in table.to_pylist()]
    return sorted(rows, key=lambda r: tuple((x is None, str(x)) for x in r))


def _differences(name: str, a: pa.Table, b: pa.Table) -> list[str]:
    if a.column_names != b.column_names:
        return [f"{name}: columns {a.column_names} on DuckDB, {b.column_names} on Spark"]
    ra, rb = _rows(a), _rows(b)
    if len(ra) != len(rb):
        return [f"{name}: {len(ra)} rows on DuckDB, {len(rb)} on Spark"]
    bad = [(i, j) for i, (x, y) in enumerate(zip(ra, rb, strict=True))
           for j, (u, v) in enumerate(zip(x, y, strict=True)) if not _same(u, v)]
    if not bad:
        return []
    i, j = bad[0]
    return [f"{name}: {len(bad)} cells differ, e.g. row {i} column {a.column_names[j]}: "
            f"{ra[i][j]!r} vs {rb[i][j]!r}"]


def _published(ws: Workspace, name: str) -> pa.Table:
    """A built table as published, read the same way whichever engine wrote it."""
    import duckdb

    meta = ws.lake.current(name)
    cols = ", ".join(c for c, _ in meta["columns"])
    if meta["rows"] == 0:
        return pa.table({c: pa.array([], pa.null()) for c, _ in meta["columns"]})
    folder = ws.lake.table_dir(name) / meta["version"]
    part = meta.get("partition_by")
    opts = f", hive_partitioning = true, hive_types = {{'{part}': 'DATE'}}" if part else ""
    return duckdb.sql(f"SELECT {cols} FROM read_parquet('{folder}/**/*.parquet'{opts})").to_arrow_table()


@pytest.fixture(scope="module", params=list(DATASETS))
def engines(request, tmp_path_factory, data_dir):
    """(dataset, DuckDB workspace, Spark workspace) over two copies of one lake, both built."""
    os.environ["CUSTLENS_QUIET"] = "1"
    root = tmp_path_factory.mktemp(request.param)
    seed = Workspace(lake=root / "duck")
    DATASETS[request.param](seed, data_dir)
    seed.close()
    shutil.copytree(root / "duck", root / "spark")
    duck = Workspace(lake=root / "duck")
    spark = Workspace(lake=root / "spark", engine="spark")
    duck.build()
    spark.build()
    yield request.param, duck, spark
    duck.close()
    spark.close()


def test_every_model_equal_on_both_engines(engines):
    dataset, duck, spark = engines
    problems = []
    for name in registry.models():
        a, b = duck.lake.current(name), spark.lake.current(name)
        if a is None or b is None:
            problems.append(f"{name}: built on {'neither' if a is b else 'one engine only'}")
            continue
        if a["rows"] or b["rows"]:
            problems += _differences(name, _published(duck, name), _published(spark, name))
    assert sum(duck.lake.current(m)["rows"] for m in registry.models() if duck.lake.current(m)) > 10_000, dataset
    assert duck.lake.current("ads_rfm")["rows"] > 100, dataset
    assert not problems, "\n".join(problems)


def test_every_analysis_equal_on_both_engines(engines):
    dataset, duck, spark = engines
    problems = []
    for name, call in ANALYSES.items():
        problems += _differences(name, call(duck), call(spark))
    assert duck.segments().num_rows >= 2, dataset
    assert not problems, "\n".join(problems)


def test_notes_and_clusters_equal(engines):
    """The K-means fit sees the same hash-drawn sample on both engines: same k (for the same
    reason), same centres, same diagnostics and bootstrap stability, same tiers."""
    _, duck, spark = engines
    a, b = duck.rfm_notes(), spark.rfm_notes()
    assert a["k"] == b["k"] and a["buyers"] == b["buyers"]
    assert a["k_reason"] == b["k_reason"] and a["stability"] == pytest.approx(b["stability"], abs=1e-9)
    assert [d["k"] for d in a["diagnostics"]] == [d["k"] for d in b["diagnostics"]]
    for da, db in zip(a["diagnostics"], b["diagnostics"], strict=True):
        for key, va in da.items():
            assert va == db[key] if va is None else va == pytest.approx(db[key], rel=1e-6), (da["k"], key)
    assert [(c["label"], c["borderline"]) for c in a["clusters"]] == \
        [(c["label"], c["borderline"]) for c in b["clusters"]]
    assert a["breakpoints"] == b["breakpoints"]
    for ca, cb in zip(a["centres"], b["centres"], strict=True):
        assert all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(ca, cb, strict=True))


def test_action_plan_and_migration_equal(engines):
    dataset, duck, spark = engines
    if dataset != "generated":
        pytest.skip("the playbook needs the generated shop's customer records")
    plan_a, pb = duck.plan_actions(), spark.plan_actions()
    assert plan_a.plan_id == pb.plan_id  # the plan id is a hash of its inputs and rows
    problems = _differences("plan", duck.action_list(plan_a.plan_id), spark.action_list(pb.plan_id))
    start, end = dt.date(2025, 7, 1), dt.date(2025, 12, 1)
    for i, (a, b) in enumerate(zip(duck.migration(start, end), spark.migration(start, end), strict=True)):
        problems += _differences(f"migration[{i}]", a, b)
    assert not problems, "\n".join(problems)


def test_tables_registered_in_the_metastore(engines):
    """A Spark build registers every published table as an external table over its version,
    and the ODS tables over their folders."""
    _, duck, spark = engines
    s = spark.engine.spark
    tables = {r["tableName"] for r in s.sql("SHOW TABLES IN custlens").collect() if not r["isTemporary"]}
    ods = {f"ods_{t}" for t in schema.TABLES if spark.lake.ods_files(t)}
    assert tables == set(spark.lake.built_tables()) | ods
    for name in ods:  # ODS by name holds what the lake's manifests say, nothing more
        want = duck.sql(f"SELECT count(*) AS n FROM {name}").column("n")[0].as_py()
        assert s.sql(f"SELECT count(*) FROM custlens.{name}").collect()[0][0] == want, name
    detail = {r["col_name"]: r["data_type"] for r in s.sql("DESCRIBE TABLE EXTENDED custlens.dwd_events").collect()}
    assert detail["Type"] == "EXTERNAL"
    assert detail["Location"].endswith(spark.lake.current("dwd_events")["version"])
    by_name = s.sql("SELECT count(*) FROM custlens.dwd_events").collect()[0][0]
    assert by_name == spark.lake.current("dwd_events")["rows"]
    parts = s.sql("SHOW PARTITIONS custlens.dwd_events").count()
    assert parts == len(list((spark.lake.table_dir("dwd_events") / detail["Location"].rsplit("/", 1)[1]).glob("dt=*")))


# ---- the Thrift server, as a user runs it ------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _beeline(port: int, sql: str) -> list[list[str]]:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    out = subprocess.run(
        ["java", "-cp", f"{jars}/*", "org.apache.hive.beeline.BeeLine", "-u",
         f"jdbc:hive2://127.0.0.1:{port}/custlens", "-n", "analyst", "--silent=true",
         "--showHeader=false", "--outputformat=csv2", "-e", sql],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [re.sub(r"^\d+: jdbc:hive2://\S+> ", "", line) for line in out.stdout.splitlines()]
    return [line.split(",") for line in lines if line]


def _custlens(lake: Path, *args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([CUSTLENS, "--lake", str(lake), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, **kw)


def test_thrift_server_answers_beeline(engines, tmp_path):
    dataset, duck, spark = engines
    if dataset != "generated":
        pytest.skip("one dataset is enough for the server")
    lake = tmp_path / "lake"  # a copy: this test process's own Spark holds the other's metastore
    shutil.copytree(spark.lake.root, lake, ignore=shutil.ignore_patterns("metastore"))
    port = _free_port()
    env = {"CUSTLENS_SPARK__THRIFT_POLL_SECONDS": "2"}
    server = subprocess.Popen([CUSTLENS, "--lake", str(lake), "warehouse",
                               "thrift", "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        address = server.stdout.readline().strip()
        assert address == f"jdbc:hive2://127.0.0.1:{port}/custlens", server.stderr.read()[-3000:]
        got = _beeline(port, "SELECT segment, customers FROM ads_segments ORDER BY segment_rank")
        want = duck.segments().select(["segment", "customers"]).to_pylist()
        assert [[r["segment"], str(r["customers"])] for r in want] == got
        events = _beeline(port, "SELECT count(*) FROM dwd_events WHERE dt >= DATE '2025-06-01'")
        assert int(events[0][0]) == duck.sql(
            "SELECT count(*) n FROM dwd_events WHERE dt >= DATE '2025-06-01'").column("n")[0].as_py()

        # while the server runs it owns the embedded metastore: registering elsewhere says so
        busy = _custlens(lake, "warehouse", "register", timeout=300)
        assert busy.returncode == 2 and "held by the Thrift server" in busy.stderr
        # a new build (here by DuckDB) is re-registered by the server itself
        before = json.loads((lake / "dwd" / "dwd_orders" / "_current.json").read_text())["rows"]
        extra = tmp_path / "orders.csv"
        extra.write_text("order_id,user_id,order_ts,amount,status\n"
                         "T-1,U-new-1,2025-12-30 10:00:00,99.5,paid\n")
        done = _custlens(lake, "import", "orders", str(extra), timeout=300)
        assert done.returncode == 0, done.stderr
        assert _custlens(lake, "build", timeout=600).returncode == 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = _beeline(port, "SELECT count(*) FROM dwd_orders")
            if int(got[0][0]) == before + 1:
                break
            time.sleep(2)
        assert int(got[0][0]) == before + 1
    finally:
        server.send_signal(signal.SIGTERM)
        rc = server.wait(timeout=60)
    assert rc == 0
    assert not (lake / "_ops" / "metastore" / "thrift-server.json").exists()
