"""The Spark SQL the translator makes of every SQL model, kept as golden files.

A change to a model, to sqlglot or to the engine's declared deltas shows here as a diff
of tests/engine/golden/spark/<model>.sql, without a JVM (the parity suite, tests/engine/test_engines.py,
runs the same SQL on Spark). After a deliberate change:
CUSTLENS_UPDATE_GOLDEN=1 pytest tests/engine/test_spark_sql_golden.py, and read the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from custlens.config import load_settings
from custlens.warehouse import registry
from custlens.warehouse.context import BuildContext

pytest.importorskip("sqlglot")
from custlens.engine.spark import SparkEngine  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "spark"
AS_OF = dt.date(2025, 1, 1)  # fixed: the literal is part of the text


def _translated() -> dict[str, str]:
    """Each SQL model (and SQL a model declares beside its logic) rendered with the default
    settings at a fixed date, as the Spark engine would run it."""
    ctx = BuildContext(lake=None, settings=load_settings(environ={}), engine=None,  # type: ignore[arg-type]
                       as_of_arg=AS_OF)
    out: dict[str, str] = {}
    for name, (model, _) in sorted(registry.models().items()):
        if model.sql is not None:
            out[name] = _readable(SparkEngine.translate(model.render(ctx)))
        if model.unchanged_dates:
            out[f"{name}.unchanged_dates"] = _readable(SparkEngine.translate(model.unchanged_dates))
    return out


def _readable(spark_sql: str) -> str:
    """The same Spark SQL laid out one clause a line, so a change reads as a small diff."""
    import sqlglot

    return sqlglot.transpile(spark_sql, read="spark", write="spark", pretty=True)[0]


def test_spark_sql_matches_the_golden_files():
    translated = _translated()
    if os.environ.get("CUSTLENS_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.glob("*.sql"):
            old.unlink()
        for name, sql in translated.items():
            (GOLDEN / f"{name}.sql").write_text(sql + "\n", encoding="utf-8")
    kept = {p.stem: p.read_text(encoding="utf-8").rstrip("\n") for p in GOLDEN.glob("*.sql")}
    assert sorted(kept) == sorted(translated), "models and golden files differ: update them"
    changed = [name for name, sql in translated.items() if kept[name] != sql]
    assert not changed, f"the Spark SQL changed for {changed}: see the diff, then update"
