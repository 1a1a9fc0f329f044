"""Apache Spark as the engine: the same models, the same lake, any spark.master.

The models' SQL is written once (in DuckDB's dialect, the embedded default's); this module
translates it with sqlglot and keeps what Spark forces to differ as data (REWRITES), so
no model knows which engine runs it. Tables are the lake's Parquet files registered as
views, as the DuckDB engine does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from custlens import schema
from custlens.errors import CustlensError
from custlens.hub.lake import Lake

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


class SparkEngine:
    name = "spark"

    def __init__(self, lake: Lake, master: str | None = None) -> None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise CustlensError("the Spark engine needs pyspark", hint="pip install pyspark") from exc
        self.lake = lake
        builder = SparkSession.builder.master(master or os.environ.get("CUSTLENS_SPARK_MASTER", "local[2]"))
        for key, value in {**SESSION, "spark.sql.warehouse.dir": str(lake.ops("spark-warehouse"))}.items():
            builder = builder.config(key, value)
        self.spark = builder.appName("custlens").getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        self.refresh()

    # ---- SQL -----------------------------------------------------------------------------
    @staticmethod
    def translate(sql: str) -> str:
        import sqlglot

        tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite)
        return tree.sql(dialect=_dialect())

    # ---- catalogue -----------------------------------------------------------------------
    def refresh(self) -> None:
        for table in schema.TABLES:
            self._register_ods(f"ods_{table}", self.lake.ods_files(table), schema.ods_schema(table),
                               self.lake.root / "ods" / table)
        self._register_ods("ods_rejected", self.lake.rejected_files(), schema.REJECTED, None)
        for table in self.lake.built_tables():
            self._register_built(table)

    def _empty(self, arrow_schema: pa.Schema) -> Any:
        return self.spark.createDataFrame(arrow_schema.empty_table())

    def _register_ods(self, name: str, files: list[Path], arrow_schema: pa.Schema,
                      base: Path | None) -> None:
        if not files:
            df = self._empty(arrow_schema)
        else:
            reader = self.spark.read.option("mergeSchema", "true")
            if base is not None and "dt" in arrow_schema.names:
                reader = reader.option("basePath", str(base))
            df = reader.parquet(*[str(f) for f in files])
            for field in arrow_schema:
                if field.name not in df.columns:
                    from pyspark.sql.functions import lit

                    df = df.withColumn(field.name, lit(None).cast(_spark_type(field.type)))
            df = df.select(*arrow_schema.names)
        df.createOrReplaceTempView(name)

    def _register_built(self, table: str) -> None:
        meta = self.lake.current(table)
        assert meta is not None
        folder = self.lake.table_dir(table) / meta["version"]
        if meta["rows"] == 0:
            cols = ", ".join(f"CAST(NULL AS {_spark_sql_type(t)}) AS {c}" for c, t in meta["columns"])
            self.spark.sql(f"SELECT {cols} WHERE false").createOrReplaceTempView(table)
            return
        df = self.spark.read.parquet(str(folder))
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

    def write(self, sql: str, dest: Path, partition_by: str | None) -> int:
        df = self._frame(sql)
        writer = df.write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(partition_by)
        writer.parquet(str(dest))
        return self.spark.read.parquet(str(dest)).count()

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def write_arrow(self, table: pa.Table, dest: Path) -> int:
        pq.write_table(table, dest / "part-0.parquet")
        return table.num_rows

    def close(self) -> None:
        pass  # the session is the process's: stopping it would end every other user of it


def _spark_type(t: pa.DataType) -> str:
    return _spark_sql_type(schema.arrow_to_sql(t))


def _spark_sql_type(sql_type: str) -> str:
    return {"TIMESTAMPTZ": "TIMESTAMP", "VARCHAR": "STRING", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT",
            "INTEGER": "INT", "BOOLEAN": "BOOLEAN", "DATE": "DATE"}.get(sql_type, sql_type)
