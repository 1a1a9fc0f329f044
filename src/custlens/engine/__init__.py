"""Compute engines. The models are written once; an engine holds only its differences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custlens.errors import CustlensError

if TYPE_CHECKING:
    from custlens.engine.base import Engine
    from custlens.lake import Lake


def open_engine(name: str, lake: Lake, options: dict[str, Any] | None = None) -> Engine:
    """The engine by name; options are the `[spark]` settings (DuckDB needs none)."""
    if name == "duckdb":
        from custlens.engine.duckdb import DuckDBEngine

        return DuckDBEngine(lake)
    if name == "spark":
        from custlens.engine.spark import SparkEngine

        return SparkEngine(lake, options)
    raise CustlensError(f"engine {name!r} is not one of duckdb, spark")
