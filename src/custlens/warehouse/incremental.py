"""Incremental builds by local date: rewrite only the `dt` partitions whose inputs changed.

A model whose rows each belong to one local date, and whose rows for a date depend only
on its dated inputs' rows for that same date (plus whole-table inputs such as the identity
map), declares `incremental=((input, date column), …)` and `partition_by="dt"`. A build
then works out, per date, a fingerprint from

- the model's *static* fingerprint: its code, settings and whole-table inputs — when that
  changes (a new identity merge, a code change) every partition is rebuilt; and
- each dated input's digest for that date: for an ODS table the files of its `dt=` folder
  (name, size, modification time); for a built incremental table its partition
  fingerprints; for any other built table a content hash of its rows of that date.

Partitions whose fingerprint changed are computed again from their dates' input rows
only (the engine narrows each dated input to those dates); dates that vanished from every
input are dropped; the rest are hard-linked from the published version. The new version
is then published as a whole, so readers never see a half-written day and a crash leaves
the previous version as it was. Equality with a forced full rebuild is tested.

A model over an ODS table whose rows usually pass through unchanged (dwd_events: no
repeated event id in the day, no identity to apply) names those dates in SQL
(`unchanged_dates`); their ODS files are hard-linked as the partition when every file
holds the model's columns in the model's types. Writing 100M events a second time cost as
much as importing them. The linked files also hold the ODS lineage columns (`_batch_id`,
`_source`, `_line`, …); every engine reads a built table by the columns its
`_current.json` lists, and so should any other reader.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from custlens.engine.base import Engine
from custlens.lake import Lake, date_of_path
from custlens.schema import arrow_to_sql
from custlens.warehouse.model import Model


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class DatePlan:
    """What an incremental build of one model will do."""

    fingerprints: dict[str, str]  # every date the inputs hold → its partition fingerprint
    rebuild: set[str] = field(default_factory=set)  # dates to compute
    keep: set[str] = field(default_factory=set)  # dates to link from the published version
    drop: set[str] = field(default_factory=set)  # published dates no input holds any more
    full: bool = True  # no usable published version: every date is computed

    def fingerprint(self, static: str) -> str:
        """The version's fingerprint, which downstream models read as their input's."""
        return hashlib.sha256(json.dumps([static, sorted(self.fingerprints.items())])
                              .encode()).hexdigest()


def _ods_digests(lake: Lake, table: str) -> dict[str, str] | None:
    files: dict[str, list[Any]] = {}
    for path in lake.ods_files(table):
        date = date_of_path(path.relative_to(lake.root))
        if date is None:
            return None  # not partitioned by date: no per-date view of it
        stat = path.stat()
        files.setdefault(date, []).append((path.name, stat.st_size, stat.st_mtime_ns))
    return {d: _digest(sorted(f)) for d, f in files.items()}


def _row_digests(lake: Lake, table: str, column: str | None) -> dict[str, str]:
    """A hash of a built table's rows (order-free: XOR of row hashes, with the count),
    per date of `column`, or of the whole table under the key "" when `column` is None."""
    meta = lake.current(table)
    assert meta is not None
    if meta["rows"] == 0:
        return {}
    folder = lake.table_dir(table) / meta["version"]
    part = meta.get("partition_by")
    opts = f", hive_partitioning = true, hive_types = {{'{part}': 'DATE'}}" if part else ""
    key = f"CAST({column} AS VARCHAR)" if column else "''"
    con = lake.duckdb()
    try:
        rows = con.execute(
            f"SELECT {key}, count(*), bit_xor(hash(t)) "
            f"FROM read_parquet('{folder}/**/*.parquet'{opts}) t GROUP BY 1").fetchall()
    finally:
        con.close()
    return {str(d): f"{n}:{h}" for d, n, h in rows if d is not None}


def table_digest(lake: Lake, table: str) -> str:
    """What a whole-table input of an incremental model counts as: its content, so a
    rebuild that gives the same rows (the identity map after new customers with no shared
    phone) does not rebuild every day."""
    return _row_digests(lake, table, None).get("", "empty")


def input_digests(lake: Lake, name: str, column: str) -> dict[str, str] | None:
    """Per-date digests of one dated input, or None when it cannot be split by date."""
    if name.startswith("ods_"):
        return _ods_digests(lake, name.removeprefix("ods_")) if column == "dt" else None
    meta = lake.current(name)
    if meta is None:
        return {}
    if meta.get("partitions") is not None and meta.get("partition_by") == column:
        return {d: p["fingerprint"] for d, p in meta["partitions"].items()}
    return _row_digests(lake, name, column)


def plan_dates(lake: Lake, model: Model, static: str, forced: bool) -> DatePlan | None:
    """Which partitions to compute, keep and drop; None when the inputs can't be split."""
    digests: dict[str, dict[str, str]] = {}
    for name, column in model.incremental:
        found = input_digests(lake, name, column)
        if found is None:
            return None
        digests[name] = found
    dates = set().union(*(d.keys() for d in digests.values()))
    fingerprints = {d: _digest(static, [digests[n].get(d) for n, _ in model.incremental])
                    for d in dates}
    plan = DatePlan(fingerprints)
    current = lake.current(model.name)
    published = (current or {}).get("partitions")
    if forced or current is None or published is None or current.get("static") != static:
        plan.rebuild = set(dates)
        return plan
    plan.full = False
    for date in dates:
        same = published.get(date, {}).get("fingerprint") == fingerprints[date]
        (plan.keep if same else plan.rebuild).add(date)
    plan.drop = set(published) - dates
    return plan


CHUNK_BYTES = 64 << 20  # input Parquet per statement when many dates are rebuilt


def _input_bytes(lake: Lake, name: str, column: str) -> dict[str, int]:
    """Bytes of input Parquet per date, where the files say (ODS and partitioned tables)."""
    if name.startswith("ods_"):
        files = lake.ods_files(name.removeprefix("ods_"))
        root = lake.root
    elif (lake.current(name) or {}).get("partition_by") == column:
        files, root = lake.built_files(name), lake.version_dir(name) or lake.root
    else:
        return {}
    out: dict[str, int] = {}
    for path in files:
        date = date_of_path(path.relative_to(root))
        if date is not None:
            out[date] = out.get(date, 0) + path.stat().st_size
    return out


def chunks(lake: Lake, model: Model, dates: set[str], budget: int = CHUNK_BYTES) -> list[list[str]]:
    """The dates to rebuild in groups of about `budget` input bytes: a full rebuild of a big
    lake runs day by day (each day's dedup fits in memory instead of spilling), a small
    one in a single statement."""
    sizes: dict[str, int] = {}
    for name, column in model.incremental:
        for date, n in _input_bytes(lake, name, column).items():
            sizes[date] = sizes.get(date, 0) + n
    out: list[list[str]] = [[]]
    used = 0
    for date in sorted(dates):
        if out[-1] and used + sizes.get(date, 0) > budget:
            out.append([])
            used = 0
        out[-1].append(date)
        used += sizes.get(date, 0)
    return out if out[-1] else []


def link_kept(lake: Lake, model: Model, plan: DatePlan, tmp: Path) -> None:
    """Hard-link the kept partitions' files from the published version into `tmp`."""
    current = lake.current(model.name)
    if not plan.keep or current is None:
        return
    source = lake.table_dir(model.name) / current["version"]
    for date in sorted(plan.keep):
        folder = source / f"dt={date}"
        if not folder.is_dir():
            continue  # a date whose inputs gave no rows
        dest = tmp / f"dt={date}"
        dest.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if path.suffix == ".parquet":
                os.link(path, dest / path.name)


def link_unchanged(lake: Lake, model: Model, engine: Engine, dates: set[str],
                   columns: list[list[str]], tmp: Path) -> set[str]:
    """Link the ODS files of the dates among `dates` that pass through unchanged; returns
    the dates linked (the caller computes the others)."""
    if not model.unchanged_dates or not dates:
        return set()
    wanted = dict(columns)
    wanted.pop("dt", None)  # in the folder's name, not the file
    source, column = model.incremental[0]
    found: set[str] = set()
    for group in chunks(lake, model, dates):  # a day at a time at scale: the check fits in memory
        engine.narrow(source, column, group)
        try:
            result = engine.query(f"SELECT CAST(dt AS VARCHAR) AS dt FROM ({model.unchanged_dates})")
        finally:
            engine.refresh()
        found.update(result.column("dt").to_pylist())
    linked: set[str] = set()
    table = source.removeprefix("ods_")
    for date in sorted(dates & found):
        files = lake.ods_files(table, {date})
        if not files or not all(_holds(path, wanted) for path in files):
            continue
        dest = tmp / f"dt={date}"
        dest.mkdir(parents=True, exist_ok=True)
        for path in files:
            os.link(path, dest / path.name)
        linked.add(date)
    return linked


def _holds(path: Path, columns: dict[str, str]) -> bool:
    """Whether a Parquet file has these columns in these SQL types (a file of an older
    lake may lack one: its date is computed instead)."""
    file_schema = pq.read_schema(path)
    try:
        return all(arrow_to_sql(file_schema.field(name).type) == sql_type
                   for name, sql_type in columns.items())
    except (KeyError, LookupError):
        return False


def partition_rows(tmp: Path) -> dict[str, int]:
    """Rows per `dt=` folder of a written version, from the Parquet footers."""
    rows: dict[str, int] = {}
    for path in tmp.glob("dt=*/*.parquet"):
        date = date_of_path(path.relative_to(tmp))
        if date is not None:
            rows[date] = rows.get(date, 0) + pq.ParquetFile(path).metadata.num_rows
    return rows


def partitions_meta(plan: DatePlan, rows: dict[str, int]) -> dict[str, dict[str, Any]]:
    return {d: {"fingerprint": fp, "rows": rows.get(d, 0)}
            for d, fp in sorted(plan.fingerprints.items())}
