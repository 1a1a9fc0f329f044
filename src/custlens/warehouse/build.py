"""Bring stale models up to date: write new, then publish; skip what is current.

A model is current when its fingerprint — its code, the settings it reads and its
inputs' fingerprints — matches the published one. Re-running on the same input is a
no-op; a crash mid-build leaves every published table as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from rich.progress import TaskID

from custlens import console
from custlens.config import Settings
from custlens.engine.base import Engine
from custlens.lake import Lake
from custlens.lock import writer_lock
from custlens.runs import recorded_run
from custlens.schema import arrow_to_sql
from custlens.warehouse import checks, incremental, registry
from custlens.warehouse.context import BuildContext
from custlens.warehouse.model import Model


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    dates: dict[str, int] = field(default_factory=dict)  # incremental models: dates computed
    as_of: dt.date | None = None


def _source_fingerprint(lake: Lake, name: str) -> str:
    table = name.removeprefix("ods_")
    ids = [b.batch_id for b in lake.batches(None if table == "rejected" else table)]
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()


def _fingerprint(model: Model, ctx: BuildContext, known: dict[str, str]) -> str:
    """Code, settings and inputs; for an incremental model only its whole-table inputs
    (its dated inputs count per date, in warehouse/incremental.py): its *static* part."""
    _, module = registry.models()[model.name]
    dated = {name for name, _ in model.incremental}
    parts: dict[str, Any] = {
        "code": model.code_hash(module),
        "forgets": ctx.forgets,
        "params": {p: ctx.param(p) for p in model.params},
        "inputs": {d: known[d] for d in model.depends if d not in dated},
    }
    if dated:  # whole-table inputs of an incremental model count by their content
        for name in parts["inputs"]:
            if not name.startswith("ods_") and ctx.lake.current(name):
                parts["inputs"][name] = incremental.table_digest(ctx.lake, name)
        parts["dated"] = sorted(model.incremental)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _arrow_columns(table: pa.Table) -> list[list[str]]:
    return [[f.name, arrow_to_sql(f.type)] for f in table.schema]


def _check_contract(model: Model, columns: list[list[str]]) -> None:
    declared = [c.name for c in model.columns]
    produced = [c for c, _ in columns]
    if sorted(declared) != sorted(produced):
        raise AssertionError(f"{model.name}: contract lists {declared}, logic produced {produced}")


def _run_model(model: Model, ctx: BuildContext, fingerprint: str) -> int:
    lake, engine = ctx.lake, ctx.engine
    logic = model.render(ctx)
    tmp = lake.new_version_dir(model.name)
    if isinstance(logic, pa.Table):
        columns = _arrow_columns(logic)
        rows = engine.write_arrow(logic, tmp)
        partition = None
    else:
        described = engine.query(f"SELECT * FROM ({logic}) LIMIT 0")
        columns = _arrow_columns(described)
        partition = model.partition_by
        rows = engine.write(logic, tmp, partition)
    _check_contract(model, columns)
    checks.verify(lake, model, sorted(tmp.rglob("*.parquet")), partition)
    lake.publish(model.name, tmp, fingerprint[:16],
                 {"fingerprint": fingerprint, "columns": columns, "rows": rows,
                  "partition_by": partition, "grain": model.grain,
                  "notes": ctx.notes.get(model.name, {})})
    return rows


def _run_by_date(model: Model, ctx: BuildContext, static: str,
                 plan: incremental.DatePlan) -> tuple[int, int]:
    """Compute the plan's dates from their inputs' rows of those dates, link the rest.
    Returns (rows, dates computed)."""
    lake, engine = ctx.lake, ctx.engine
    fingerprint = plan.fingerprint(static)
    tmp = lake.new_version_dir(model.name)
    logic = model.render(ctx)
    assert isinstance(logic, str), f"{model.name}: an incremental model is SQL"
    columns = _arrow_columns(engine.query(f"SELECT * FROM ({logic}) LIMIT 0"))
    _check_contract(model, columns)
    linked = incremental.link_unchanged(lake, model, engine, plan.rebuild, columns, tmp)
    groups = incremental.chunks(lake, model, plan.rebuild - linked)
    for n, dates in enumerate(groups):
        whole = plan.full and not linked and len(groups) == 1
        if not whole:
            for name, column in model.incremental:
                engine.narrow(name, column, dates)
        try:
            engine.write(logic, tmp, "dt", append=n > 0)
        finally:
            if not whole:
                engine.refresh()  # every input whole again
    computed = sorted(p for d in plan.rebuild - linked for p in (tmp / f"dt={d}").glob("*.parquet"))
    checks.verify(lake, model, computed, "dt")
    incremental.link_kept(lake, model, plan, tmp)
    per_date = incremental.partition_rows(tmp)
    rows = sum(per_date.values())
    lake.publish(model.name, tmp, fingerprint[:16],
                 {"fingerprint": fingerprint, "static": static, "columns": columns,
                  "rows": rows, "partition_by": "dt", "grain": model.grain,
                  "partitions": incremental.partitions_meta(plan, per_date),
                  "notes": ctx.notes.get(model.name, {})})
    return rows, len(plan.rebuild)


def _build_one(model: Model, ctx: BuildContext, known: dict[str, str], report: BuildReport,
               forced: bool) -> None:
    """Build one model if stale (an incremental one: only its changed dates)."""
    fp = _fingerprint(model, ctx, known)
    current = ctx.lake.current(model.name)
    plan = incremental.plan_dates(ctx.lake, model, fp, forced) if model.incremental else None
    known[model.name] = plan.fingerprint(fp) if plan is not None else fp
    if current and current.get("fingerprint") == known[model.name] and not forced:
        report.skipped.append(model.name)
        return
    t0 = time.perf_counter()
    if plan is not None:
        report.rows[model.name], report.dates[model.name] = _run_by_date(model, ctx, fp, plan)
    else:
        report.rows[model.name] = _run_model(model, ctx, fp)
    report.seconds[model.name] = round(time.perf_counter() - t0, 3)
    report.built.append(model.name)
    ctx.engine.refresh()


def build(lake: Lake, settings: Settings, engine: Engine, targets: list[str] | None = None,
          as_of: dt.date | None = None, since: dt.date | None = None,
          force: bool = False) -> BuildReport:
    """Build what is stale among the targets (all models when None) and their inputs.

    `force` rebuilds the targets themselves even when current, not their inputs."""
    report = BuildReport()
    with writer_lock(lake.root), recorded_run(lake, "build") as run:
        ctx = BuildContext(lake, settings, engine, as_of, since)
        known = {s: _source_fingerprint(lake, s) for s in registry.SOURCES}
        plan = registry.order(targets)
        with console.progress("building the warehouse", total=len(plan)) as bar:
            for model in plan:
                bar.update(TaskID(0), description=f"building {model.name}")
                _build_one(model, ctx, known, report,
                           forced=force and (targets is None or model.name in targets))
                bar.advance(TaskID(0))
        if any(m.params and "as_of" in m.params for m in plan):
            report.as_of = ctx.as_of
        run.rows_out = sum(report.rows.values())
        run.detail = {"built": report.built, "skipped": len(report.skipped),
                      "as_of": str(report.as_of) if report.as_of else None}
    return report
