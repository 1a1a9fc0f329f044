"""Apache Spark as the engine: the same models, the same lake, any spark.master.

The models' SQL is written once (in DuckDB's dialect, the embedded default's); this module
translates it with sqlglot and keeps what Spark forces to differ as data (REWRITES), so
no model knows which engine runs it. Tables are the lake's Parquet files registered as
views, as the DuckDB engine does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens import schema
from custlens.config import DEFAULTS
from custlens.engine.base import Engine
from custlens.errors import CustlensError
from custlens.lake import Lake

# session settings for a laptop-sized local run; a cluster's come from its own config
SESSION = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # decimal division keeps its digits (DuckDB gives a DOUBLE; Spark would round to 6 places)
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
}


DEFAULT_OPTIONS: dict[str, Any] = DEFAULTS["spark"]  # the [spark] settings have one home: config

# DuckDB functions sqlglot passes through by name, and their Spark spelling (args in order)
REWRITES: dict[str, Any] = {
    # timezone(zone, instant) → the local wall time; Spark's sessions run in UTC
    "TIMEZONE": lambda a: ("FROM_UTC_TIMESTAMP", [a[1], a[0]]),
}


def _rewrite(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.DayOfWeekIso):  # ISO day of week (Mon 1 … Sun 7); Spark's WEEKDAY is 0-based
        return exp.Paren(this=exp.Add(this=exp.Anonymous(this="WEEKDAY", expressions=[node.this]),
                                      expression=exp.Literal.number(1)))
    if isinstance(node, exp.Anonymous) and node.name.upper() in REWRITES:
        name, args = REWRITES[node.name.upper()](list(node.expressions))
        return exp.Anonymous(this=name, expressions=args)
    return node


def _dialect() -> Any:
    """sqlglot's Spark dialect, less what Spark 4 no longer needs: it runs QUALIFY itself
    (sqlglot's rewrite into a subquery leaks the window column through SELECT *)."""
    from sqlglot import exp, transforms
    from sqlglot.dialects.spark import Spark

    base = Spark.Generator

    class Generator(base):  # type: ignore[misc, valid-type]
        TRANSFORMS = {**base.TRANSFORMS, exp.Select: transforms.preprocess(
            [transforms.eliminate_distinct_on, transforms.unnest_to_explode, transforms.any_to_exists])}

    class Spark4(Spark):
        generator_class = Generator

    Spark4.Generator = Generator
    return Spark4


_ACTIVE: dict[str, Any] = {}  # the process's one SparkSession and what it was made for


def session_conf(lake: Lake, options: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every setting the session is built with: ours, the metastore's, then the user's."""
    options = {**DEFAULT_OPTIONS, **options}
    conf = {**SESSION, "spark.master": options["master"],
            "spark.sql.warehouse.dir": str(lake.ops("spark-warehouse"))}
    if options["metastore"] == "embedded":
        home = lake.ops("metastore")
        conf["spark.sql.catalogImplementation"] = "hive"
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true")
        conf["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={home}"
    elif options["metastore"] == "external":
        conf["spark.sql.catalogImplementation"] = "hive"
    conf.update({str(k): str(v) for k, v in (options["conf"] or {}).items()})
    conf.update(extra or {})
    if master := os.environ.get("CUSTLENS_SPARK_MASTER"):
        conf["spark.master"] = master
    return conf


def spark_uri(root: Path, lake_uri: str, path: Path) -> str:
    """Where Spark finds a lake path: under lake_uri when set (HDFS, object storage), the
    driver's own path otherwise."""
    if not lake_uri:
        return str(path)
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise CustlensError(f"{path} is outside the lake {root}; spark.lake_uri maps only the lake") from exc
    return lake_uri.rstrip("/") + "/" + rel.as_posix()


def _session(conf: dict[str, str]) -> Any:
    """The SparkSession for these settings: static settings (master, catalogue, metastore)
    hold for a session's life, so a different set stops the old one first."""
    from pyspark.sql import SparkSession

    key = json.dumps(conf, sort_keys=True)
    if _ACTIVE.get("key") == key:
        return _ACTIVE["spark"]
    if "spark" in _ACTIVE:
        _ACTIVE.pop("spark").stop()
    builder = SparkSession.builder.appName("custlens")
    for name, value in conf.items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _ACTIVE.update(key=key, spark=spark)
    return spark


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, lake: Lake, options: dict[str, Any] | None = None,
                 extra_conf: dict[str, str] | None = None) -> None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise CustlensError("the Spark engine needs pyspark", hint="pip install 'custlens[spark]'") from exc
        self.lake = lake
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        self.conf = session_conf(lake, self.options, extra_conf)
        self.spark = _session(self.conf)
        self._keys: dict[str, Any] = {}  # what each view was registered for
        self.refresh()

    def uri(self, path: Path) -> str:
        return spark_uri(self.lake.root, self.options["lake_uri"], path)

    # ---- SQL -----------------------------------------------------------------------------
    @staticmethod
    def translate(sql: str) -> str:
        import sqlglot

        tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite)
        return tree.sql(dialect=_dialect())

    # ---- catalogue -----------------------------------------------------------------------
    # Engine.refresh walks the catalogue; each step below registers only what changed since
    # the last call, since a Spark view costs a planning round-trip to the JVM.
    def _register_synced(self, name: str, files: list[Path]) -> None:
        if self._changed(name, tuple(files)):
            self.spark.read.option("mergeSchema", "true").parquet(
                *[self.uri(p) for p in files]).createOrReplaceTempView(name)

    def _register_batches(self, batches: pa.Table) -> None:
        if self._changed("ops_batches", batches.column("batch_id").to_pylist()):
            self.register_arrow("ops_batches", batches)

    def _changed(self, name: str, key: Any) -> bool:
        if self._keys.get(name) == key:
            return False
        self._keys[name] = key
        return True

    def _register_ods(self, name: str, files: list[Path], arrow_schema: pa.Schema,
                      partitioned: bool = True) -> None:
        if not self._changed(name, tuple(files)):
            return
        ddl = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in arrow_schema)
        if not files:
            df = self.spark.createDataFrame([], ddl)
        else:
            reader = self.spark.read.schema(ddl)
            if partitioned and "dt" in arrow_schema.names:
                base = self.lake.root / "ods" / name.removeprefix("ods_")
                reader = reader.option("basePath", self.uri(base))
            df = reader.parquet(*[self.uri(f) for f in files]).select(*arrow_schema.names)
        df.createOrReplaceTempView(name)

    def _register_built(self, table: str) -> None:
        meta = self.lake.current(table)
        assert meta is not None
        if not self._changed(table, (meta["version"], meta.get("published"))):
            return
        folder = self.lake.table_dir(table) / meta["version"]
        ddl = ", ".join(f"`{c}` {spark_sql_type(t)}" for c, t in meta["columns"])
        if meta["rows"] == 0:
            df = self.spark.createDataFrame([], ddl)
        else:
            df = self.spark.read.schema(ddl).parquet(self.uri(folder))
        df.select(*[c for c, _ in meta["columns"]]).createOrReplaceTempView(table)

    # ---- running -------------------------------------------------------------------------
    def _frame(self, sql: str) -> Any:
        """The query as a DataFrame; decimals as DOUBLE, as DuckDB's division and the
        warehouse's money columns are (Spark keeps `1.0 / n` a DECIMAL)."""
        from pyspark.sql.types import DecimalType

        df = self.spark.sql(self.translate(sql))
        decimals = [f.name for f in df.schema.fields if isinstance(f.dataType, DecimalType)]
        for name in decimals:
            df = df.withColumn(name, df[name].cast("double"))
        return df

    def query(self, sql: str) -> pa.Table:
        try:
            return self._frame(sql).toArrow()
        except Exception as exc:
            raise CustlensError(f"query failed on Spark: {str(exc)[:2000]}") from exc

    def execute(self, sql: str, params: list | None = None) -> None:
        self.spark.sql(self.translate(sql)).collect()

    def write(self, sql: str, dest: Path, partition_by: str | None, append: bool = False) -> int:
        """Rows are counted as they are written (an Observation), as DuckDB's COPY reports
        them: reading the result back cost a second job per model — about a second each on
        a small shop — and, on an append, counted the partitions already there as well.
        A partitioned result is first rebalanced by its partition column, so a day lands in
        one file (or a few of the advisory size) rather than one per task and day."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observed = Observation()
        df = self._frame(sql)
        if partition_by:
            df = df.hint("rebalance", partition_by)
        df = df.observe(observed, F.count(F.lit(1)).alias("n"))
        writer = df.write.mode("append" if append else "overwrite")
        if partition_by:
            writer = writer.partitionBy(partition_by)
        writer.parquet(self.uri(dest))
        return int(observed.get.get("n") or 0)

    def narrow(self, name: str, column: str, dates: list[str]) -> None:
        """As DuckDB's: the view filtered to `dates`; Spark prunes the `dt=` folders itself."""
        import datetime as dt

        from pyspark.sql import functions as F

        days = [dt.date.fromisoformat(d) for d in dates]
        self.spark.table(name).where(F.col(column).isin(days)).createOrReplaceTempView(name)
        self._keys.pop(name, None)  # the next refresh registers the whole table again

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def close(self) -> None:
        pass  # the session is the process's: stopping it would end every other user of it


def _spark_type(t: pa.DataType) -> str:
    return spark_sql_type(schema.arrow_to_sql(t))


def spark_sql_type(sql_type: str) -> str:
    return {"TIMESTAMPTZ": "TIMESTAMP", "VARCHAR": "STRING", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT",
            "INTEGER": "INT", "BOOLEAN": "BOOLEAN", "DATE": "DATE"}.get(sql_type, sql_type)
