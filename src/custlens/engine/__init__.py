"""Compute engines. The models are written once; an engine holds only its differences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from custlens.errors import CustlensError

if TYPE_CHECKING:
    from custlens.engine.base import Engine
    from custlens.hub.lake import Lake


def open_engine(name: str, lake: Lake) -> Engine:
    if name == "duckdb":
        from custlens.engine.duckdb import DuckDBEngine

        return DuckDBEngine(lake)
    raise CustlensError(
        f"engine {name!r} is not available in this version",
        hint="use --engine duckdb (the Spark engine is tracked in its own issue)",
    )
