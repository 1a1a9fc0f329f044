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

import pyarrow as pa

from custlens import console
from custlens.config import Settings
from custlens.engine.base import Engine
from custlens.hub.lake import Lake
from custlens.hub.lock import writer_lock
from custlens.hub.runs import recorded_run
from custlens.schema import arrow_to_sql
from custlens.warehouse import registry
from custlens.warehouse.context import BuildContext
from custlens.warehouse.model import Model


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    as_of: dt.date | None = None


def _source_fingerprint(lake: Lake, name: str) -> str:
    table = name.removeprefix("ods_")
    ids = [b.batch_id for b in lake.batches(None if table == "rejected" else table)]
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()


def _fingerprint(model: Model, ctx: BuildContext, known: dict[str, str]) -> str:
    _, module = registry.models()[model.name]
    parts = {
        "code": model.code_hash(module),
        "params": {p: ctx.param(p) for p in model.params},
        "inputs": {d: known[d] for d in model.depends},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _arrow_columns(table: pa.Table) -> list[list[str]]:
    return [[f.name, arrow_to_sql(f.type)] for f in table.schema]


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
    declared = [c.name for c in model.columns]
    produced = [c for c, _ in columns]
    if sorted(declared) != sorted(produced):
        raise AssertionError(f"{model.name}: contract lists {declared}, logic produced {produced}")
    lake.publish(model.name, tmp, fingerprint[:16],
                 {"fingerprint": fingerprint, "columns": columns, "rows": rows,
                  "partition_by": partition, "grain": model.grain,
                  "notes": ctx.notes.get(model.name, {})})
    return rows


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
                bar.update(0, description=f"building {model.name}")
                fp = _fingerprint(model, ctx, known)
                known[model.name] = fp
                current = lake.current(model.name)
                forced = force and (targets is None or model.name in targets)
                if current and current.get("fingerprint") == fp and not forced:
                    report.skipped.append(model.name)
                else:
                    t0 = time.perf_counter()
                    report.rows[model.name] = _run_model(model, ctx, fp)
                    report.seconds[model.name] = round(time.perf_counter() - t0, 3)
                    report.built.append(model.name)
                    engine.refresh()
                bar.advance(0)
        if any(m.params and "as_of" in m.params for m in plan):
            report.as_of = ctx.as_of
        run.rows_out = sum(report.rows.values())
        run.detail = {"built": report.built, "skipped": len(report.skipped),
                      "as_of": str(report.as_of) if report.as_of else None}
    return report
