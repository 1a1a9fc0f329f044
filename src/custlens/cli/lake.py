"""The lake itself: batches, the quarantine, forgetting, the audit log, upgrades, SQL."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli.app import app
from custlens.cli.common import (
    STATE,
    FormatOpt,
    OutOpt,
    audit_export,
)
from custlens.masking import mask_table, mask_value
from custlens.output import Format
from custlens.runs import recorded_run

batches_app = typer.Typer(help="List or undo import batches.", no_args_is_help=True)
quarantine_app = typer.Typer(help="What was rejected, and why.", no_args_is_help=True)
app.add_typer(batches_app, name="batches")
app.add_typer(quarantine_app, name="quarantine")


# ---- batches and quarantine -----------------------------------------------------------------
@batches_app.command("list")
def batches_list(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Every import batch: table, source, rows, rejected."""
    ws = STATE.workspace()
    rows = [{"batch_id": b.batch_id, "table_name": b.table, "source": b.source, "created": b.created,
             "rows": b.rows, "rejected": b.rejected} for b in ws.lake.batches()]
    cols = ["batch_id", "table_name", "source", "created", "rows", "rejected"]
    table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.string()) for c in cols})
    output.write(table, fmt, out, ws.settings.lang)


@batches_app.command("undo")
def batches_undo(batch_id: str) -> None:
    """Remove a batch from the lake; the next build reflects it."""
    from custlens.lock import writer_lock

    ws = STATE.workspace()
    with writer_lock(ws.lake.root):
        batch = ws.lake.undo_batch(batch_id)
    console.info(f"undone: {batch.batch_id} ({batch.rows:,} rows of ods_{batch.table} from {batch.source})")


@quarantine_app.command("list")
def quarantine_list(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Rejected records counted by batch, table and reason."""
    ws = STATE.workspace()
    table = ws.sql("SELECT batch_id, table_name, field, reason, count(*) AS count FROM dwd_quarantine "
                   "GROUP BY ALL ORDER BY batch_id, count DESC")
    output.write(table, fmt, out, ws.settings.lang)


@quarantine_app.command("show")
def quarantine_show(
    batch: Annotated[str | None, typer.Option(help="only this batch")] = None,
    limit: Annotated[int, typer.Option(help="at most this many records")] = 50,
    show_personal: Annotated[bool, typer.Option("--show-personal", help="do not mask personal data")] = False,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Rejected records with file, line, field, value and reason."""
    ws = STATE.workspace()
    where = f"WHERE batch_id = '{batch.replace(chr(39), '')}'" if batch else ""
    table = ws.sql(f"SELECT batch_id, table_name, source, line, field, value, reason, raw "
                   f"FROM dwd_quarantine {where} ORDER BY batch_id, line LIMIT {int(limit)}")
    if not show_personal:
        table = _mask_quarantine(table)
    output.write(table, fmt, out, ws.settings.lang)
    if show_personal and table.num_rows:
        audit_export(ws, "quarantine", table, fmt)


def _mask_quarantine(table: pa.Table) -> pa.Table:
    rows = table.to_pylist()
    for r in rows:
        if r["field"] in {"phone", "email", "address", "birthday"}:
            r["value"] = mask_value(r["field"], r["value"])
        if r["table_name"] == "customers":
            r["raw"] = "(masked: customer record; --show-personal to see)"
    return pa.Table.from_pylist(rows, schema=table.schema) if rows else table



@app.command()
def forget(user: Annotated[str, typer.Argument(help="the customer id")],
           yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False) -> None:
    """Delete a person from every layer, ODS included (PIPL), and record that it was done."""
    if not yes and not typer.confirm(f"Remove {user} and every id joined to them from the lake?"):
        raise typer.Exit(1)
    ws = STATE.workspace()
    with recorded_run(ws.lake, "forget") as run:
        result = ws.forget(user)
        run.rows_out = sum(result.rows.values())
        run.detail = {"ids": result.ids, "files": result.files}
    removed = ", ".join(f"{t} {n:,}" for t, n in sorted(result.rows.items())) or "no rows"
    console.info(f"forgot {result.ids} id(s): {removed}; {result.files} file(s) rewritten, "
                 f"{result.tables_dropped} built table(s) dropped (rebuilt on the next command)")
    console.info(f"profile store: {result.store_removed} file(s) or row(s) removed (republished "
                 "by the next build)")
    for rel in result.logs_rewritten:
        console.info(f"{rel}: the id replaced by its keyed hash")
    for rel in result.files_removed:
        console.info(f"{rel}: removed, it named the person (generate it again if needed)")
    console.info("recorded in _ops/forgotten.jsonl (a keyed hash, not the id). Not reachable from "
                 "here: the source files and databases, files outside the lake, and messages still "
                 "retained on Kafka topics")


@app.command()
def audit(user: Annotated[str, typer.Option("--user", help="a customer id: who saw this person")],
          fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Who saw or exported a customer's personal data, when and how (the web app's audit log,
    which keeps customer ids only as keyed hashes)."""
    import pyarrow as pa

    from custlens.serve.auth import Audit

    ws = STATE.workspace()
    rows = [{k: e.get(k) for k in ("ts", "user", "role", "what", "rows", "export")}
            for e in Audit(ws.lake).about(user)]
    names = ["ts", "user", "role", "what", "rows", "export"]
    table = pa.Table.from_pylist(rows) if rows else pa.table({n: pa.array([], pa.string()) for n in names})
    output.write(table, fmt, out, ws.settings.lang)


@app.command()
def upgrade() -> None:
    """Bring the lake's format up to this custlens (writers do it themselves; this shows it)."""
    from custlens.lake import FORMAT_VERSION
    from custlens.lock import writer_lock

    ws = STATE.workspace()
    with writer_lock(ws.lake.root):
        steps = ws.lake.upgrade()
    for step in steps:
        console.info(step)
    console.info(f"the lake at {ws.lake.root} is at format {FORMAT_VERSION}"
                 + ("" if steps else " (nothing to do)"))


@app.command()
def sql(query: str,
        show_personal: Annotated[bool, typer.Option("--show-personal", help="do not mask personal data")] = False,
        fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Run SQL over the warehouse tables by name (dwd_events, ads_rfm, …)."""
    ws = STATE.workspace()
    table = mask_table(ws.sql(query), show_personal)
    output.write(table, fmt, out, ws.settings.lang)
    if show_personal and table.num_rows:
        audit_export(ws, "sql", table, fmt)


@app.command()
def tables(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """The table catalogue: layer, grain and rows of each table."""
    from custlens.warehouse import registry

    ws = STATE.workspace()
    rows = []
    for name in registry.SOURCES:
        table = name.removeprefix("ods_")
        count = sum(b.rows for b in ws.lake.batches(None if table == "rejected" else table)) \
            if table != "rejected" else sum(b.rejected for b in ws.lake.batches())
        rows.append({"name": name, "layer": "ods", "grain": "one row per record received", "rows": count})
    for name, (model, _) in registry.models().items():
        meta = ws.lake.current(name)
        rows.append({"name": name, "layer": model.layer, "grain": model.grain,
                     "rows": meta["rows"] if meta else None})
    output.write(pa.Table.from_pylist(rows), fmt, out, ws.settings.lang)


@app.command()
def runs(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Run history: start, end, status, rows, error."""
    from custlens.runs import runs as load_runs

    ws = STATE.workspace()
    rows = [{k: v for k, v in r.items() if k != "detail"} for r in load_runs(ws.lake)]
    table = pa.Table.from_pylist(rows) if rows else pa.table({"run_id": pa.array([], pa.string())})
    output.write(table, fmt, out, ws.settings.lang)
