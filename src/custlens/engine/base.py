"""What every engine offers the warehouse: named tables, queries, and table writes.

`Engine` is the one type the other packages see. The walk over the lake's catalogue
(`refresh`) and the Python-side writes (`write_arrow`) are the same for every engine and
live here once; an engine supplies only how it registers one table and how it runs SQL —
its deltas, as ibis keeps a backend's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from custlens import schema
from custlens.lake import Lake


class Engine(ABC):
    name: str
    lake: Lake

    # ---- the catalogue: the same walk for every engine -----------------------------------
    def refresh(self) -> None:
        """(Re)register every lake table under its catalogue name: the canonical ODS tables
        (typed by the schema, so no file is opened to infer one), the quarantine, tables
        copied from databases in their source's own columns, the batch log, every built
        table. Called after every model, so an engine skips what has not changed."""
        for table in schema.TABLES:
            self._register_ods(f"ods_{table}", self.lake.ods_files(table), schema.ods_schema(table))
        self._register_ods("ods_rejected", self.lake.rejected_files(), schema.REJECTED,
                           partitioned=False)
        for table, paths in self.lake.synced_files().items():
            self._register_synced(f"ods_{table}", paths)
        self._register_batches(self.lake.batches_table())
        for table in self.lake.built_tables():
            self._register_built(table)

    @abstractmethod
    def _register_ods(self, name: str, files: list[Path], arrow_schema: pa.Schema,
                      partitioned: bool = True) -> None:
        """Expose ODS files under `name` with the canonical schema; `partitioned`: the files
        sit in `dt=` folders whose value is the column `dt`."""

    @abstractmethod
    def _register_synced(self, name: str, files: list[Path]) -> None:
        """Expose a database copy in whatever columns its source had."""

    @abstractmethod
    def _register_built(self, table: str) -> None:
        """Expose the published version of a built table, in its recorded columns."""

    def _register_batches(self, batches: pa.Table) -> None:
        self.register_arrow("ops_batches", batches)

    @abstractmethod
    def narrow(self, name: str, column: str, dates: list[str]) -> None:
        """Until the next refresh, show under `name` only its rows whose `column` (a local
        date) is one of `dates` — the input of an incremental build."""

    @abstractmethod
    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Expose an in-memory Arrow table under a name (for Python-side steps)."""

    # ---- running ------------------------------------------------------------------------
    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """Run a query over the catalogue; the result as Arrow."""

    @abstractmethod
    def execute(self, sql: str, params: list | None = None) -> None:
        """Run a statement for its effect (a view, a setting)."""

    @abstractmethod
    def write(self, sql: str, dest: Path, partition_by: str | None, append: bool = False) -> int:
        """Write a query's result as Parquet under dest; returns the row count. `append`:
        dest already holds other partitions of the same table, to keep."""

    def write_arrow(self, table: pa.Table, dest: Path) -> int:
        """Write a table a Python model computed (K-means, CLV, monitoring) as one file:
        the lake is plain Parquet whichever engine reads it."""
        pq.write_table(table, dest / "part-0.parquet")
        return table.num_rows

    @abstractmethod
    def close(self) -> None:
        """Release what the engine holds (Spark's session is the process's: it keeps it)."""
