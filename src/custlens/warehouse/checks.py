"""The column checks a model declares (not_null, unique, accepted), run on the version a
build has just written and before it is published: a table that breaks its own contract
never reaches a reader, and the build fails saying which table, column and check, how
many rows, and a few of them (personal fields masked: the message reaches logs).

The files are read with the lake's DuckDB whatever the engine (they are Parquet on this
machine either way), in one pass per model. In a table partitioned by `dt`, `unique`
means unique within a date (dwd_events keeps one copy of an event per local date), and
only the partitions this build computed are read: kept ones were checked when they were
written, and days linked from ODS hold rows the import validated, with no repeated id
(the link's own condition).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from custlens.errors import CustlensError
from custlens.lake import Lake
from custlens.masking import mask_table
from custlens.warehouse.model import Model

SAMPLE_ROWS = 5


def _violations(model: Model, partition: str | None) -> list[tuple[str, str, str, str]]:
    """(column, check, count expression, predicate of an offending row) per declared check."""
    out = []
    for col in model.columns:
        name = f'"{col.name}"'
        if col.name == partition:
            continue  # in the folder's name: never NULL, one per file
        if col.not_null:
            out.append((col.name, "not_null", f"count(*) FILTER (WHERE {name} IS NULL)",
                        f"{name} IS NULL"))
        if col.accepted:
            allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in col.accepted)
            out.append((col.name, f"accepted ({', '.join(col.accepted)})",
                        f"count(*) FILTER (WHERE {name} NOT IN ({allowed}))", f"{name} NOT IN ({allowed})"))
        if col.unique:
            within = [f'"{partition}"'] if partition else []
            key = ", ".join([*within, name])
            count = (f"count({name}) - count(DISTINCT ({key}))" if partition
                     else f"count({name}) - count(DISTINCT {name})")
            repeated = f"({key}) IN (SELECT ({key}) FROM rel GROUP BY {key} HAVING count(*) > 1)"
            out.append((col.name, "unique" + (f" within {partition}" if partition else ""),
                        count, f"{name} IS NOT NULL AND {repeated}"))
    return out


def verify(lake: Lake, model: Model, files: list[Path], partition: str | None) -> None:
    """Raise if a row of `files` breaks one of the model's column checks."""
    checks = _violations(model, partition)
    if not checks or not files:
        return
    listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    hive = f", hive_partitioning = true, hive_types = {{'{partition}': 'DATE'}}" if partition else ""
    con = lake.duckdb()
    try:
        con.execute(f"CREATE TEMP VIEW rel AS SELECT * FROM read_parquet([{listed}]{hive})")
        [counts] = con.execute(f"SELECT {', '.join(c for _, _, c, _ in checks)} FROM rel").fetchall()
        failed = [(col, check, int(n), where)
                  for (col, check, _, where), n in zip(checks, counts, strict=True) if n]
        if not failed:
            return
        col, check, n, where = failed[0]
        sample = con.sql(f"SELECT * FROM rel WHERE {where} LIMIT {SAMPLE_ROWS}").to_arrow_table()
    finally:
        con.close()
    others = "; ".join(f"{c} {k}: {m} row(s)" for c, k, m, _ in failed[1:])
    raise CustlensError(
        f"{model.name}: column {col} fails its check {check}: {n} row(s), e.g. "
        f"{_rows(mask_table(sample).to_pylist())}" + (f"; also {others}" if others else ""),
        hint="the table was not published; the previous version stays readable")


def _rows(rows: list[dict[str, Any]]) -> str:
    return "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in rows)
