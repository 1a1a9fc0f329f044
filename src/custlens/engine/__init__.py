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
    if name == "spark":
        import os

        if os.environ.get("CUSTLENS_SPARK_EXPERIMENTAL") != "1":
            raise CustlensError("the Spark engine is not finished yet (issue #7)",
                                hint="use --engine duckdb; developers: CUSTLENS_SPARK_EXPERIMENTAL=1")
        from custlens.engine.spark import SparkEngine

        return SparkEngine(lake)
    raise CustlensError(f"engine {name!r} is not one of duckdb, spark")
