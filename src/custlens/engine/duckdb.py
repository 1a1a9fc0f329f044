"""The embedded default engine: DuckDB over the Parquet lake, no server."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pyarrow as pa

from custlens import schema
from custlens.engine.base import Engine
from custlens.errors import CustlensError
from custlens.lake import Lake


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(f"'{str(p)}'" for p in paths) + "]"


def typed_empty(arrow_schema: pa.Schema) -> str:
    cols = ", ".join(
        f"CAST(NULL AS {schema.arrow_to_sql(f.type)}) AS {f.name}" for f in arrow_schema
    )
    return f"SELECT {cols} WHERE false"


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, lake: Lake, threads: int | None = None) -> None:
        self.lake = lake
        self.con = lake.duckdb()
        self._registered: set[str] = set()
        self._bodies: dict[str, str] = {}  # each built table's view, for narrow()
        self.con.execute("SET preserve_insertion_order = false")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.refresh()

    # ---- catalogue (the walk is Engine.refresh) -------------------------------------
    def _register_ods(self, name: str, files: list[Path], arrow_schema: pa.Schema,
                      partitioned: bool = True) -> None:
        if not files:
            body = typed_empty(arrow_schema)
        else:
            partitioned = partitioned and "dt" in arrow_schema.names
            opts = ", hive_partitioning = true, hive_types = {'dt': 'DATE'}" if partitioned else ""
            scan = f"read_parquet({_sql_list(files)}, union_by_name = true{opts})"
            body = f"SELECT {', '.join(arrow_schema.names)} FROM {scan}"
            try:
                self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
                return
            except duckdb.BinderException:
                # a lake written by an earlier version lacks a later column (say _offset)
                present = {r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
                cols = ", ".join(c.name if c.name in present else
                                 f"CAST(NULL AS {schema.arrow_to_sql(c.type)}) AS {c.name}"
                                 for c in arrow_schema)
                body = f"SELECT {cols} FROM {scan}"
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")

    def _register_synced(self, name: str, files: list[Path]) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                         f"read_parquet({_sql_list(files)}, union_by_name = true)")

    def _register_built(self, table: str, dates: set[str] | None = None) -> None:
        meta = self.lake.current(table)
        assert meta is not None
        columns = [(c, t) for c, t in meta["columns"]]
        files = self.lake.built_files(table, dates) if meta["rows"] else []
        if not files:
            cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in columns)
            body = f"SELECT {cols} WHERE false"
        else:
            part = meta.get("partition_by")
            opts = f", hive_partitioning = true, hive_types = {{'{part}': 'DATE'}}" if part else ""
            names = ", ".join(c for c, _ in columns)
            body = f"SELECT {names} FROM read_parquet({_sql_list(files)}{opts})"
        self._bodies[table] = body
        self.con.execute(f"CREATE OR REPLACE VIEW {table} AS {body}")

    def narrow(self, name: str, column: str, dates: list[str]) -> None:
        """Show only the rows of `dates` (by `column`) under `name` until the next refresh:
        an incremental build reads just the days it rewrites. Partitioned tables are
        narrowed by their files, others by a filter."""
        wanted = set(dates)
        if name.startswith("ods_") and column == "dt":
            table = name.removeprefix("ods_")
            self._register_ods(name, self.lake.ods_files(table, wanted), schema.ods_schema(table))
        elif (self.lake.current(name) or {}).get("partition_by") == column:
            self._register_built(name, wanted)
        else:
            days = ", ".join(f"DATE '{d}'" for d in sorted(wanted)) or "NULL"
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                             f"({self._bodies[name]}) WHERE {column} IN ({days})")

    # ---- running -------------------------------------------------------------------
    def query(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise CustlensError(f"query failed: {exc}") from exc

    def execute(self, sql: str, params: list | None = None) -> None:
        self.con.execute(sql, params or [])

    def write(self, sql: str, dest: Path, partition_by: str | None, append: bool = False) -> int:
        if partition_by:  # files are named per statement, so an append adds, never replaces
            names = f", FILENAME_PATTERN 'part-{uuid.uuid4().hex[:8]}-{{i}}'" if append else ""
            target = (f"'{dest}' (FORMAT parquet, PARTITION_BY ({partition_by}), "
                      f"OVERWRITE_OR_IGNORE{names})")
        else:
            target = f"'{dest / 'part-0.parquet'}' (FORMAT parquet)"
        result = self.con.execute(f"COPY ({sql}) TO {target}").fetchone()
        return int(result[0]) if result else 0

    def register_arrow(self, name: str, table: pa.Table) -> None:
        if name in self._registered:
            self.con.unregister(name)
        self.con.register(name, table)
        self._registered.add(name)

    def close(self) -> None:
        self.con.close()
