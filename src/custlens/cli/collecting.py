"""Getting data in: a generated shop, the log agent, the bus, database copies."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli.app import app
from custlens.cli.common import (
    STATE,
    FormatOpt,
    MapOpt,
    OutOpt,
    TimeFormatOpt,
    TzOpt,
    ValueOpt,
    mapping,
    parse_date,
    report_imports,
)
from custlens.collect.generate import ShopSpec
from custlens.collect.mapping import parse_pairs, parse_values
from custlens.errors import CustlensError
from custlens.output import Format
from custlens.runs import recorded_run


# ---- loading --------------------------------------------------------------------------------
@app.command()
def generate(
    users: Annotated[int, typer.Option(help="number of customers")] = 20_000,
    start: Annotated[str, typer.Option(help="first day YYYY-MM-DD")] = "2025-01-01",
    days: Annotated[int, typer.Option(help="number of days")] = 365,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same shop")] = 7,
    out: Annotated[Path | None, typer.Option(help="write raw Parquet files here instead of loading the lake")] = None,
    as_logs: Annotated[Path | None, typer.Option("--as-logs", help="write behaviour as rotating JSON-lines logs here (for custlens collect), the tables as Parquet")] = None,
) -> None:
    """Generate a realistic synthetic shop (campaigns, loyal and one-time buyers, intent users)."""
    ws = STATE.workspace()
    spec = ShopSpec(users=users, start=parse_date(start, "--start") or dt.date(2025, 1, 1), days=days, seed=seed)
    if as_logs:
        from custlens.collect.generate import write_logs

        with console.progress(f"writing {users:,} customers × {days} days as logs"):
            written = write_logs(spec, as_logs)
        console.info(f"wrote {len(written['logs'])} log files to {as_logs / 'logs'} and the tables to "
                     f"{as_logs / 'tables'}; next: custlens collect '{as_logs / 'logs'}/events.log*'")
        return
    with console.progress(f"generating {users:,} customers × {days} days"):
        results = ws.generate(spec, out)
    if out:
        console.info(f"wrote raw files to {out}")
        return
    report_imports(results)





# ---- collection -----------------------------------------------------------------------------
@app.command()
def collect(
    patterns: Annotated[list[str], typer.Argument(help="log files or globs (quote globs: 'logs/*.log')")],
    follow: Annotated[bool, typer.Option("--follow/--once", help="keep tailing until SIGTERM (--follow) or read what is there and stop (--once, default)")] = False,
    to: Annotated[str, typer.Option("--to", help="lake (default) or kafka://HOST:PORT/TOPIC")] = "lake",
    input_format: Annotated[str, typer.Option("--input-format", help="auto, json, csv or filebeat")] = "auto",
    name: Annotated[str, typer.Option("--name", help="agent name: its registry of read positions")] = "default",
    interval: Annotated[float, typer.Option(help="seconds between passes with --follow")] = 2.0,
    map: MapOpt = None, value: ValueOpt = None, tz: TzOpt = None, time_format: TimeFormatOpt = None,
) -> None:
    """Tail behaviour logs (JSON lines, CSV, Filebeat output) into the lake; resumes where it stopped."""
    from custlens.collect.importers import ImportOptions
    from custlens.collect.logagent import LogAgent, PassCounts

    ws = STATE.workspace()
    opts = ImportOptions(**mapping(map, value), tz=tz or ws.settings.tz, time_format=time_format)
    sink = None
    if to != "lake":
        from custlens.bus.kafka import BusUrl, KafkaSink

        sink = KafkaSink(BusUrl.parse(to), dict(ws.settings.get("kafka")))
    agent = LogAgent(ws.lake, patterns, opts, ws.settings.tz, name=name, fmt=input_format, sink=sink)

    def report(c: PassCounts, final: bool = False) -> None:
        done = f"{c.loaded:,} shipped to {to}" if sink else f"{c.loaded:,} loaded, {c.quarantined:,} quarantined"
        console.info(f"{'collected' if final else 'so far'}: {c.lines:,} lines, {c.bytes:,} bytes, "
                     f"{done}, {len(c.batches):,} batches")

    if follow:
        last = [0]

        def on_pass(total: PassCounts) -> None:
            if total.lines != last[0]:
                last[0] = total.lines
                report(total)

        console.info(f"following {', '.join(patterns)} (SIGTERM or Ctrl-C stops after the batch in hand)")
        with recorded_run(ws.lake, "collect --follow") as run:
            counts = agent.follow(interval, on_pass)
            _record_collect(run, counts)
        report(counts, final=True)
        return
    with recorded_run(ws.lake, "collect") as run, console.progress(f"collecting {', '.join(patterns)}"):
        counts = agent.run_pass()
        _record_collect(run, counts)
    report(counts, final=True)
    for r in counts.batches:
        for sample in r.samples[:3]:
            console.warn(f"{sample['_source']} line {sample['_line']} (byte {sample.get('_offset')}): "
                         f"{sample['reason']}")
    if counts.quarantined:
        console.warn("see: custlens quarantine show")


def _record_collect(run, counts) -> None:
    run.rows_in, run.rows_out, run.quarantined = counts.lines, counts.loaded, counts.quarantined
    run.detail = {"bytes": counts.bytes, "batches": len(counts.batches)}


bus_app = typer.Typer(help="The Kafka bus: status of a consumer group.", no_args_is_help=True)
app.add_typer(bus_app, name="bus")


@app.command()
def consume(
    source: Annotated[str, typer.Option("--from", help="kafka://HOST:PORT[,HOST:PORT…]/TOPIC")],
    group: Annotated[str, typer.Option("--group", help="consumer group (members share the partitions)")] = "custlens",
    once: Annotated[bool, typer.Option("--once", help="drain what the topic holds, then stop")] = False,
    map: MapOpt = None, value: ValueOpt = None, time_format: TimeFormatOpt = None,
) -> None:
    """Write a Kafka topic into the lake, exactly once in effect; SIGTERM stops cleanly."""
    from custlens.bus.kafka import BusConsumer, BusUrl
    from custlens.collect.importers import ImportOptions

    ws = STATE.workspace()
    opts = ImportOptions(**mapping(map, value), tz=ws.settings.tz, time_format=time_format)
    consumer = BusConsumer(ws.lake, BusUrl.parse(source), group, dict(ws.settings.get("kafka")),
                           opts, ws.settings.tz)
    last = [0.0]

    def on_batch(c) -> None:
        if time.time() - last[0] > 5:
            last[0] = time.time()
            console.info(f"so far: {c.messages:,} messages, {c.loaded:,} loaded, {c.quarantined:,} quarantined")

    with recorded_run(ws.lake, f"consume {source}") as run:
        counts = consumer.run(once=once, on_batch=on_batch)
        run.rows_in, run.rows_out, run.quarantined = counts.messages, counts.loaded, counts.quarantined
        run.detail = {"batches": counts.batches, "dead_lettered": counts.dead_lettered, "notes": counts.notes}
    console.info(f"consumed: {counts.messages:,} messages, {counts.loaded:,} loaded, "
                 f"{counts.quarantined:,} quarantined ({counts.dead_lettered:,} to the dead-letter topic), "
                 f"{counts.batches:,} batches")


@bus_app.command("status")
def bus_status(
    source: Annotated[str, typer.Option("--from", help="kafka://HOST:PORT/TOPIC")],
    group: Annotated[str, typer.Option("--group")] = "custlens",
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Per partition: committed offset, topic end, lag, what the lake holds, quarantined."""
    from custlens.bus.kafka import BusUrl, status

    ws = STATE.workspace()
    output.write(status(ws.lake, BusUrl.parse(source), group, dict(ws.settings.get("kafka"))),
                 fmt, out, ws.settings.lang)


@app.command()
def sync(
    source: Annotated[str | None, typer.Option("--source", help="SQLAlchemy URL without the password, e.g. postgresql://shop@db/shop (password: CUSTLENS_DB_PASSWORD or [sync] password)")] = None,
    table: Annotated[str | None, typer.Option("--table", help="the source table")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="append, lastmodified or full")] = None,
    check_column: Annotated[str | None, typer.Option("--check-column", help="a number, date or time column that grows")] = None,
    merge_key: Annotated[str | None, typer.Option("--merge-key", help="lastmodified: the key rows merge by (latest wins)")] = None,
    job: Annotated[str | None, typer.Option("--job", help="saved job name (default: the table's)")] = None,
    as_table: Annotated[str | None, typer.Option("--as", help="also load as orders, customers, items or order-items")] = None,
    map: MapOpt = None, value: ValueOpt = None,  # for --as
    set_: Annotated[str | None, typer.Option("--set", help="field=VALUE,… a constant for --as (e.g. status=paid)")] = None,
    list_jobs: Annotated[bool, typer.Option("--list", help="show the saved jobs")] = False,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Copy a database table into the lake incrementally (Sqoop's append, lastmodified, full)."""
    from custlens.collect.dbsync import AS_TABLES, MODES, PASSWORD_ENV, DatabaseSync, SyncJob

    ws = STATE.workspace()
    if list_jobs:
        rows = [{"job": j.name, "source": j.source, "table_name": j.table, "mode": j.mode,
                 "check_column": j.check_column, "merge_key": j.merge_key, "as": j.as_table,
                 "last_value": json.dumps(j.last_value, ensure_ascii=False), "runs": j.runs}
                for j in DatabaseSync.jobs(ws.lake)]
        output.write(pa.Table.from_pylist(rows) if rows else pa.table({"job": pa.array([], pa.string())}),
                     fmt, out, ws.settings.lang)
        return
    name = job or table
    if not name:
        raise CustlensError("give --table (and --source, --mode) for a new job, or --job NAME for a saved one")
    saved = DatabaseSync.load_job(ws.lake, name)
    if saved is None:
        if not (source and table and mode):
            raise CustlensError(f"no saved job {name!r}: a new job needs --source, --table and --mode")
        saved = SyncJob(name, source, table, mode)
    for attr, given in (("source", source), ("table", table), ("mode", mode), ("check_column", check_column),
                        ("merge_key", merge_key), ("as_table", as_table)):
        if given is not None:
            setattr(saved, attr, given)
    if map is not None:
        saved.map = dict(parse_pairs(map, "--map"))
    if value is not None:
        saved.values = parse_values(value)
    if set_ is not None:
        saved.constants = dict(parse_pairs(set_, "--set"))
    if saved.mode not in MODES:
        raise CustlensError(f"--mode {saved.mode!r}: one of {', '.join(MODES)}")
    if saved.as_table and saved.as_table not in AS_TABLES:
        raise CustlensError(f"--as {saved.as_table!r}: one of {', '.join(AS_TABLES)}")
    if saved.mode == "lastmodified" and not saved.merge_key:
        raise CustlensError("--mode lastmodified needs --merge-key (rows merge by it, latest wins)")
    password = os.environ.get(PASSWORD_ENV) or ws.settings.get("sync.password") or None
    runner = DatabaseSync(ws.lake, saved, password, ws.settings.tz)
    with recorded_run(ws.lake, f"sync {saved.name}") as run, \
            console.progress(f"syncing {saved.table} ({saved.mode})"):
        result = runner.run()
        run.rows_in = run.rows_out = result["rows"]
        run.detail = {"chunks": result["chunks"], "last_value": str(result["last_value"])}
    console.info(f"{saved.name}: {result['rows']:,} rows in {result['chunks']} chunks "
                 f"({result['seconds']:.1f}s) → ods_{saved.ods_table}"
                 + (f" and ods_{saved.as_table.replace('-', '_')}" if saved.as_table else "")
                 + f"; last value {result['last_value']}")
