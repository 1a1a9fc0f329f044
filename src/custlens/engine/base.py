"""What every engine offers the warehouse: named tables, queries, and table writes."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa


class Engine(Protocol):
    name: str

    def refresh(self) -> None:
        """(Re)register every lake table under its catalogue name."""

    def query(self, sql: str) -> pa.Table:
        """Run a query over the catalogue; the result as Arrow."""

    def write(self, sql: str, dest: Path, partition_by: str | None, append: bool = False) -> int:
        """Write a query's result as Parquet under dest; returns the row count. `append`:
        dest already holds other partitions of the same table, to keep."""

    def narrow(self, name: str, column: str, dates: list[str]) -> None:
        """Until the next refresh, show under `name` only its rows whose `column` (a local
        date) is one of `dates` — the input of an incremental build."""

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Expose an in-memory Arrow table under a name (for Python-side steps)."""

    def close(self) -> None: ...
