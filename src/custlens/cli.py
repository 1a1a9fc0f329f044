"""The `custlens` command. Global options go before the command (DESIGN.md Conventions)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli_common import (
    STATE,
    AsOfOpt,
    FormatOpt,
    OutOpt,
    SinceOpt,
    audit_account,
    audit_export,
    parse_date,
    report_imports,
)
from custlens.cli_import import import_app
from custlens.cli_segments import segment
from custlens.collect.generate import ShopSpec
from custlens.collect.mapping import parse_pairs, parse_values
from custlens.errors import CustlensError
from custlens.i18n import heading, kind_name, pick
from custlens.masking import mask_table, mask_value
from custlens.output import Format
from custlens.runs import recorded_run
from custlens.workspace import Workspace

app = typer.Typer(help="custlens — e-commerce customer data analysis (电商客户数据分析系统)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
batches_app = typer.Typer(help="List or undo import batches.", no_args_is_help=True)
quarantine_app = typer.Typer(help="What was rejected, and why.", no_args_is_help=True)
export_app = typer.Typer(help="Export results.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(batches_app, name="batches")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(export_app, name="export")


def _add_actions() -> None:
    from custlens.cli_actions import actions_app

    app.add_typer(actions_app, name="actions")
    from custlens.cli_warehouse import warehouse_app

    app.add_typer(warehouse_app, name="warehouse")



@app.callback()
def main_options(
    lake: Annotated[Path | None, typer.Option("--lake", help="lake folder (default ./lake, or config, or CUSTLENS_LAKE)")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="config file (default ./custlens.toml)")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="duckdb or spark")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en (headings, segment names)")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="CSV: text cells as they are (by default a cell a spreadsheet would run as a formula, =… +… -… @…, gets a leading ')")] = False,
) -> None:
    STATE.lake, STATE.config, STATE.engine, STATE.lang = lake, config, engine, lang
    output.RAW.set(raw)


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


_add_actions()


# ---- collection -----------------------------------------------------------------------------
@app.command()
def collect(
    patterns: Annotated[list[str], typer.Argument(help="log files or globs (quote globs: 'logs/*.log')")],
    follow: Annotated[bool, typer.Option("--follow/--once", help="keep tailing until SIGTERM (--follow) or read what is there and stop (--once, default)")] = False,
    to: Annotated[str, typer.Option("--to", help="lake (default) or kafka://HOST:PORT/TOPIC")] = "lake",
    input_format: Annotated[str, typer.Option("--input-format", help="auto, json, csv or filebeat")] = "auto",
    name: Annotated[str, typer.Option("--name", help="agent name: its registry of read positions")] = "default",
    interval: Annotated[float, typer.Option(help="seconds between passes with --follow")] = 2.0,
    map: Annotated[str | None, typer.Option("--map", help="field=key,… (canonical field = your key)")] = None,
    value: Annotated[str | None, typer.Option("--value", help="field=raw:canonical,…")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="time zone of local times in the logs")] = None,
    time_format: Annotated[str | None, typer.Option("--time-format", help="epoch, epoch_ms or a strptime format")] = None,
) -> None:
    """Tail behaviour logs (JSON lines, CSV, Filebeat output) into the lake; resumes where it stopped."""
    from custlens.collect.importers import ImportOptions
    from custlens.collect.logagent import LogAgent, PassCounts

    ws = STATE.workspace()
    opts = ImportOptions(map=dict(parse_pairs(map, "--map")), values=parse_values(value),
                         tz=tz or ws.settings.tz, time_format=time_format)
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
    map: Annotated[str | None, typer.Option("--map", help="field=key,… (canonical field = your key)")] = None,
    value: Annotated[str | None, typer.Option("--value", help="field=raw:canonical,…")] = None,
    time_format: Annotated[str | None, typer.Option("--time-format", help="epoch, epoch_ms or a strptime format")] = None,
) -> None:
    """Write a Kafka topic into the lake, exactly once in effect; SIGTERM stops cleanly."""
    from custlens.bus.kafka import BusConsumer, BusUrl
    from custlens.collect.importers import ImportOptions

    ws = STATE.workspace()
    opts = ImportOptions(map=dict(parse_pairs(map, "--map")), values=parse_values(value),
                         tz=ws.settings.tz, time_format=time_format)
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
    map: Annotated[str | None, typer.Option("--map", help="field=column,… for --as")] = None,
    value: Annotated[str | None, typer.Option("--value", help="field=raw:canonical,… for --as (e.g. status=2:paid)")] = None,
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


# ---- warehouse ------------------------------------------------------------------------------
@app.command("build")
def build_cmd(as_of: AsOfOpt = None, since: SinceOpt = None,
              force: Annotated[bool, typer.Option(help="rebuild even what is current")] = False,
              monitor: Annotated[bool, typer.Option("--monitor", help="then send the last complete day's anomalies by the [[monitor.alerts]] rules (the daily job)")] = False) -> None:
    """Bring the warehouse (DWD → DIM → DWS → ADS) up to date."""
    ws = STATE.workspace()
    report = ws.build(None, parse_date(as_of, "--as-of"), parse_date(since, "--since"), force)
    for name in report.built:
        console.info(f"built {name}: {report.rows[name]:,} rows in {report.seconds[name]:.2f}s")
    console.info(f"{len(report.built)} built, {len(report.skipped)} already current"
                 + (f"; analysis date {report.as_of}" if report.as_of else ""))
    if as_of is None and since is None:
        console.info(f"profile store: version {ws.publish_profiles()} published")
    if monitor:
        from custlens.cli_monitor import send

        send(ws, ws.monitor())


def _add_monitor() -> None:
    from custlens.cli_monitor import monitor

    app.command("monitor")(monitor)


_add_monitor()


app.command("segment")(segment)


# ---- analyses -------------------------------------------------------------------------------
ChartOpt = Annotated[Path | None, typer.Option("--chart", help="also draw the result as an SVG chart to this file")]



def _chart(path: Path | None, svg_maker) -> None:
    if path is not None:
        from custlens import plots

        plots.save(svg_maker(), path)
        console.info(f"chart written to {path}")


@app.command()
def periods(
    as_of: AsOfOpt = None,
    view: Annotated[str, typer.Option(help="instances (default), kinds, carts or campaign-only")] = "instances",
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Campaign vs daily periods: traffic, GMV, 客单价, conversion, refunds, lift, 同比/环比."""
    ws = STATE.workspace()
    a, lang = parse_date(as_of, "--as-of"), ws.settings.lang
    views = {"instances": ws.periods, "kinds": ws.period_kinds, "carts": ws.campaign_carts,
             "campaign-only": ws.campaign_only}
    if view not in views:
        raise CustlensError(f"--view: {view!r} is not one of {', '.join(views)}")
    table = views[view](a)
    _warn_unknown_holidays(ws)
    if view == "instances":
        _chart(chart, lambda: _periods_chart(table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    if view == "instances":
        table = _periods_view(table, lang)
    elif view == "kinds":
        table = _kinds_view(table, lang)
    pct = ("conversion", "refund_rate", "bounce_rate", "gmv_per_day_mom", "gmv_per_day_yoy",
           "carted_item_conversion", "carter_conversion", "share_of_peak_buyers")
    title = {"instances": pick(lang, "活动期与日常期 (* 数据未覆盖整个时期)",
                                "Campaign and daily periods (* the data covers part of it)"),
             "kinds": pick(lang, "各类时期的平均一天 (对比日常期)", "The average day of each period kind"),
             "carts": pick(lang, "大促前加购、大促当天购买", "Carted before a campaign, bought at its peak"),
             "campaign-only": pick(lang, "只在大促购买的客户", "Customers who buy only in campaigns")}[view]
    output.write(table, fmt, out, lang, title, percent=pct)
    if view == "instances" and out is None:
        only = ws.campaign_only(a).num_rows
        console.info(pick(lang, f"{only:,} 位客户只在大促期间购买: 下次大促前触达 (--view campaign-only)",
                           f"{only:,} customers buy only in campaigns: reach them before the next one "
                           "(--view campaign-only)"))


def _period_label(row: dict, lang: str) -> str:
    name = row["period_name"] if lang == "zh" else row["period_name_en"]
    phase = {"warmup": pick(lang, "预热", "warm-up"), "peak": pick(lang, "爆发", "peak")}.get(row["phase"] or "", "")
    daily = row["kind"] == "daily"
    label = f"{name} {pick(lang, '日常', 'daily')}" if daily else f"{name} {phase}".strip()
    year = "" if daily else f" {row['year']}"
    return label + year + ("" if row["is_complete"] else " *")


def _periods_view(table: pa.Table, lang: str) -> pa.Table:
    rows = table.to_pylist()
    labels = [_period_label(r, lang) for r in rows]
    kinds = [kind_name(r["kind"], lang) for r in rows]
    view = table.select(["start_date", "days", "visitors", "buyers", "new_buyers", "orders",
                         "gmv", "net_gmv", "gmv_per_buyer", "gmv_per_order", "conversion",
                         "refund_rate", "gmv_per_day", "gmv_lift", "gmv_per_day_mom",
                         "gmv_per_day_yoy"])
    view = view.add_column(0, "kind", pa.array(kinds, pa.string()))
    return view.add_column(0, "period", pa.array(labels, pa.string()))


DAY_TYPES = {"all": ("全部", "all"), "workday": ("工作日", "workday"), "weekend": ("周末", "weekend")}


def _kinds_view(table: pa.Table, lang: str) -> pa.Table:
    rows = table.to_pylist()
    for r in rows:
        r["kind"] = kind_name(r["kind"], lang)
        r["day_type"] = DAY_TYPES[r["day_type"]][0 if lang == "zh" else 1]
    return pa.Table.from_pylist(rows, schema=table.schema) if rows else table


def _periods_chart(table: pa.Table, lang: str) -> str:
    from custlens import plots

    rows = table.to_pylist()
    return plots.bars([_period_label(r, lang) for r in rows], [r["gmv_per_day"] for r in rows],
                      pick(lang, "各时期日均 GMV", "GMV per day, by period"))


def _warn_unknown_holidays(ws: Workspace) -> None:
    years = ws.sql("SELECT DISTINCT year FROM dws_shop_day WHERE in_span AND NOT holiday_known "
                   "ORDER BY year").column("year").to_pylist()
    if years:
        console.warn(f"public holidays are unknown for {', '.join(map(str, years))} (neither "
                     "chinese-calendar nor [calendar] holidays lists them): those days count as "
                     "daily or weekend days")


STAGES = ("pv", "fav", "cart", "fav_or_cart", "buy")


@app.command()
def funnel(
    by: Annotated[str, typer.Option(help="all (default), day, period, channel or category")] = "all",
    hourly: Annotated[bool, typer.Option("--hourly", help="activity by hour of day and day of week instead")] = False,
    as_of: AsOfOpt = None, since: SinceOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """The pv → fav/cart → buy funnel by users and events; 跳失率; time to purchase."""
    ws = STATE.workspace()
    a, s, lang = parse_date(as_of, "--as-of"), parse_date(since, "--since"), ws.settings.lang
    if hourly:
        table = ws.hourly(a, s)
        if fmt is Format.table:
            table = _hourly_view(table, lang)
        output.write(table, fmt, out, lang, pick(lang, "每日各小时平均事件数 (按星期)",
                                                   "Events per day by local hour and weekday"))
        return
    table = ws.funnel(by, a, s)
    if by == "all":
        _chart(chart, lambda: _funnel_chart(table, lang))
    else:
        _chart(chart, lambda: _breakdown_chart(table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    if by == "all":
        row = table.to_pylist()[0] if table.num_rows else None
        output.write(_stages_view(row), fmt, out, lang, pick(lang, "转化漏斗", "Funnel"),
                     percent=("of_visitors", "of_previous"))
        if row and out is None:
            hours = row["median_hours_to_buy"]
            console.info(pick(lang, "跳失率", "bounce rate") + f" {row['bounce_rate'] or 0:.1%} · "
                         + pick(lang, "转化率", "conversion") + f" {row['conversion'] or 0:.1%} · "
                         + pick(lang, "浏览到购买中位时长", "median time from view to purchase")
                         + (f" {hours:.1f} h" if hours is not None else " —"))
        return
    cols = ["value", "visitors", "users_pv", "users_fav_or_cart", "users_buy", "bounce_rate",
            "pv_to_fav_or_cart", "fav_or_cart_to_buy", "conversion", "median_hours_to_buy"]
    view = table.select(cols).rename_columns([by] + cols[1:])
    output.write(view, fmt, out, lang, pick(lang, f"转化漏斗 · 按{heading(by, lang)}", f"Funnel by {by}"),
                 percent=("bounce_rate", "pv_to_fav_or_cart", "fav_or_cart_to_buy", "conversion"))


def _stages_view(row: dict | None) -> pa.Table:
    """One row per stage; each stage against the one it follows (fav, cart after pv)."""
    previous = {"pv": "visitors", "fav": "users_pv", "cart": "users_pv",
                "fav_or_cart": "users_pv", "buy": "users_fav_or_cart"}
    row = row or {}
    rows = []
    for stage in STAGES:
        users = row.get(f"users_{stage}", 0)
        events = (row.get("events_fav", 0) + row.get("events_cart", 0) if stage == "fav_or_cart"
                  else row.get(f"events_{stage}", 0))
        visitors, prev = row.get("visitors", 0), row.get(previous[stage], 0)
        rows.append({"stage": stage, "users": users, "events": events,
                     "of_visitors": users / visitors if visitors else None,
                     "of_previous": users / prev if prev else None})
    return pa.Table.from_pylist(rows)


def _funnel_chart(table: pa.Table, lang: str) -> str:
    from custlens import plots

    row = table.to_pylist()[0] if table.num_rows else {f"users_{s}": 0 for s in STAGES}
    return plots.bars(list(STAGES), [row[f"users_{s}"] for s in STAGES],
                      pick(lang, "漏斗各环节用户数", "Users at each funnel stage"))


def _breakdown_chart(table: pa.Table, lang: str) -> str:
    from custlens import plots

    rows = table.to_pylist()[:40]
    return plots.bars([r["value"] for r in rows], [r["conversion"] for r in rows],
                      pick(lang, "转化率", "Conversion"), percent=True)


WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _hourly_view(table: pa.Table, lang: str) -> pa.Table:
    names = [(f"周{d}" if lang == "zh" else d) for d in WEEKDAYS[lang]]
    grid: dict[int, dict[str, object]] = {h: {"hour": h} for h in range(24)}
    for r in table.to_pylist():
        grid[r["hour"]][names[r["weekday"] - 1]] = round(r["events_per_day"], 1)
    return pa.Table.from_pylist([grid[h] for h in range(24)])


@app.command()
def repurchase(
    level: Annotated[str, typer.Option(help="category (default) or item")] = "category",
    invites: Annotated[bool, typer.Option("--invites", help="the customers to invite to membership")] = False,
    due: Annotated[bool, typer.Option("--due", help="each repeat buyer's next purchase due date")] = False,
    top: Annotated[int, typer.Option(help="rows in the table view")] = 30,
    as_of: AsOfOpt = None, since: SinceOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Repurchase rate and rhythm per category or item; membership candidates and invites."""
    ws = STATE.workspace()
    a, s, lang = parse_date(as_of, "--as-of"), parse_date(since, "--since"), ws.settings.lang
    if invites or due:
        table = ws.membership_invites(a, s) if invites else ws.purchase_due(a, s)
        title = pick(lang, "会员邀请名单", "Membership invitations") if invites else \
            pick(lang, "下次购买预计日期", "Next purchase due")
        output.write(table, fmt, out, lang, title)
        return
    table = ws.repurchase(level, a, s)
    _chart(chart, lambda: _repurchase_chart(table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    cols = ["key", "buyers", "repeat_buyers", "repurchase_rate", "median_gap_days",
            "returning_share", "is_daily_use", "is_membership_candidate"]
    n = sum(table.column("is_membership_candidate").to_pylist())
    title = pick(lang, f"复购分析 · {level} · 会员候选 {n}", f"Repurchase · {level} · {n} membership candidates")
    view = table.slice(0, top).select(cols).rename_columns([level] + cols[1:])
    output.write(view, fmt, out, lang, title, percent=("repurchase_rate", "returning_share"))


def _repurchase_chart(table: pa.Table, lang: str) -> str:
    from custlens import plots

    rows = table.to_pylist()[:20]
    return plots.bars([r["key"] for r in rows], [r["repurchase_rate"] for r in rows],
                      pick(lang, "复购率 (前 20)", "Repurchase rate (top 20)"), percent=True)


@app.command()
def channels(
    attribution: Annotated[str | None, typer.Option(help="last (default in config), first or linear")] = None,
    as_of: AsOfOpt = None, since: SinceOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Channels and ad campaigns: spend, visitors, buyers, attributed revenue, ROAS, CPA."""
    ws = STATE.workspace()
    a, s, lang = parse_date(as_of, "--as-of"), parse_date(since, "--since"), ws.settings.lang
    model = attribution or ws.settings.get("channels.attribution")
    table = ws.channels(model, a, s)
    _chart(chart, lambda: _roas_chart(table, lang))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    cols = ["channel", "ad_campaign", "impressions", "clicks", "cost", "visitors", "buyers",
            "conversion", "orders", "revenue", "roas", "cpa", "new_customer_share"]
    days = ws.settings.get("channels.lookback_days")
    title = pick(lang, f"渠道与广告 · 归因 {model} · 回溯 {days} 天",
                  f"Channels and ads · {model}-touch attribution · {days}-day lookback")
    output.write(table.select(cols), fmt, out, lang, title, percent=("conversion", "new_customer_share"))


def _roas_chart(table: pa.Table, lang: str) -> str:
    from custlens import plots

    rows = [r for r in table.to_pylist() if r["cost"]]
    return plots.bars([f"{r['channel']} {r['ad_campaign']}".strip() for r in rows],
                      [r["roas"] for r in rows], pick(lang, "广告投入产出比 ROAS", "ROAS"))


@app.command()
def retention(
    by: Annotated[str, typer.Option(help="month (default) or week")] = "month",
    periods_shown: Annotated[int, typer.Option("--periods", help="periods since, in the table and chart")] = 12,
    as_of: AsOfOpt = None,
    chart: ChartOpt = None, fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Cohorts of first purchase × months (weeks) since: the share who buy again."""
    ws = STATE.workspace()
    lang = ws.settings.lang
    table = ws.retention(by, parse_date(as_of, "--as-of"))
    title = pick(lang, f"留存 · 首购{'月' if by == 'month' else '周'}队列", f"Retention by {by} of first purchase")
    _chart(chart, lambda: _retention_chart(table, periods_shown, title))
    if fmt is not Format.table:
        output.write(table, fmt, out, lang)
        return
    output.write(_retention_matrix(table, periods_shown), fmt, out, lang, title,
                 percent=tuple(str(p) for p in range(periods_shown + 1)))


def _retention_matrix(table: pa.Table, shown: int) -> pa.Table:
    rows: dict = {}
    for r in table.to_pylist():
        row = rows.setdefault(r["cohort"], {"cohort": r["cohort"], "cohort_size": r["cohort_size"],
                                            **{str(p): None for p in range(shown + 1)}})
        if r["periods_since"] <= shown:
            row[str(r["periods_since"])] = r["rate"]
    if not rows:
        return pa.table({"cohort": pa.array([], pa.date32()), "cohort_size": pa.array([], pa.int64())})
    return pa.Table.from_pylist(list(rows.values()))


def _retention_chart(table: pa.Table, shown: int, title: str) -> str:
    from custlens import plots

    rows = table.to_pylist()
    cohorts = sorted({str(r["cohort"]) for r in rows})
    cells = {(str(r["cohort"]), str(r["periods_since"])): r["rate"] for r in rows
             if r["periods_since"] <= shown}
    return plots.heatmap(cohorts, [str(p) for p in range(shown + 1)], cells, title)


@app.command("clv")
def clv_cmd(
    as_of: AsOfOpt = None, since: SinceOpt = None,
    unit: Annotated[str | None, typer.Option(help="week (default) or day: BG/NBD's time unit")] = None,
    top: Annotated[int, typer.Option(help="rows in the table view")] = 20,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Customer lifetime value: BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) per buyer."""
    ws = STATE.workspace()
    if unit is not None and unit not in ("week", "day"):
        raise CustlensError(f"--unit {unit!r}: week or day")
    ws.settings = ws.settings.with_overrides(**{"clv.unit": unit})
    table = ws.clv(parse_date(as_of, "--as-of"), parse_date(since, "--since"))
    notes = ws.clv_notes()
    if notes.get("fitted"):
        params = ", ".join(f"{k} = {notes[k]:.4g}" for k in ("r", "alpha", "a", "b", "p", "q", "gamma")
                           if k in notes)
        console.info(f"BG/NBD + Gamma-Gamma on {notes['fit_sample']:,} of {notes['buyers']:,} buyers "
                     f"(unit {notes['unit']}, as of {notes['as_of']}): {params}")
    else:
        console.warn(f"no CLV fit: {notes.get('reason', 'nothing to fit')}")
    if fmt is Format.table:
        lang = ws.settings.lang
        title = pick(lang, f"客户终身价值 · 未来 {notes.get('horizon_days')} 天",
                      f"Customer lifetime value · next {notes.get('horizon_days')} days")
        output.write(table.slice(0, top), fmt, out, lang, title, percent=("p_alive",))
        return
    output.write(table, fmt, out, ws.settings.lang)


@app.command()
def migration(
    start: Annotated[str, typer.Option("--from", help="the earlier analysis date YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="the later analysis date YYYY-MM-DD")],
    fell: Annotated[bool, typer.Option("--fell", help="only the customers who fell from 重要价值客户 (call them first)")] = False,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Segment migration between two dates: who moved where, and who fell from 重要价值客户."""
    ws = STATE.workspace()
    a, b = parse_date(start, "--from"), parse_date(end, "--to")
    matrix, fallen = ws.migration(a, b)
    lang = ws.settings.lang
    if fell or fmt is not Format.table:
        output.write(fallen if fell else matrix, fmt, out, lang)
        return
    output.write(matrix, fmt, out, lang, pick(lang, f"客户分群迁移 {a} → {b}", f"Segment migration {a} → {b}"))
    output.write(fallen.slice(0, 20), fmt, None, lang,
                 pick(lang, f"从重要价值客户下滑: {fallen.num_rows:,} 位 (优先联系)",
                       f"Fell from high-value: {fallen.num_rows:,} customers (call first)"))


RFM_COLUMNS = ["user_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
               "cluster", "segment", "segment_en", "tier", "segment_label", "segment_label_en",
               "borderline", "rule_segment", "r_threshold", "f_threshold", "m_threshold",
               "cluster_recency_days", "cluster_frequency", "cluster_monetary", "class"]


@export_app.command("rfm")
def export_rfm(as_of: AsOfOpt = None, since: SinceOpt = None,
               fmt: FormatOpt = Format.csv, out: OutOpt = None) -> None:
    """One row per buyer: R, F, M, scores, cluster, segment, tier, label, why (the thresholds
    and the cluster's means that named it), class."""
    ws = STATE.workspace()
    table = ws.rfm(parse_date(as_of, "--as-of"), parse_date(since, "--since")).select(RFM_COLUMNS)
    output.write(table, fmt, out, ws.settings.lang)
    if out:
        console.info(f"wrote {table.num_rows:,} buyers to {out}")


users_app = typer.Typer(help="Accounts of the web app (custlens serve).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(name: str, role: Annotated[str, typer.Option("--role", help="admin, analyst or operator")],
              reset: Annotated[bool, typer.Option("--reset", help="give an existing user a new "
                                                  "role or password (ends their sessions)")] = False) -> None:
    """Add a user (--reset: change one); the password comes from a prompt, or
    CUSTLENS_PASSWORD for scripts."""
    from custlens.serve.auth import Accounts

    password = os.environ.get("CUSTLENS_PASSWORD") or typer.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True)
    ws = STATE.workspace()
    user = Accounts(ws.lake).add(name, role, password, replace=reset)
    audit_account(ws, "user_reset" if reset else "user_added", f"{user.name} ({user.role})")
    console.info(f"user {user.name} ({user.role}) saved")


@users_app.command("list")
def users_list(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """The web app's users and their roles."""
    from custlens.serve.auth import Accounts

    ws = STATE.workspace()
    rows = Accounts(ws.lake).list()
    table = pa.Table.from_pylist(rows) if rows else pa.table({"name": pa.array([], pa.string())})
    output.write(table, fmt, out, ws.settings.lang)


@users_app.command("remove")
def users_remove(name: str) -> None:
    """Remove a user (their open sessions end with their next request)."""
    from custlens.serve.auth import Accounts

    ws = STATE.workspace()
    Accounts(ws.lake).remove(name)
    audit_account(ws, "user_removed", name)
    console.info(f"user {name} removed")


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """The web dashboard and JSON API (OpenAPI docs at /docs); builds what is stale first."""
    import uvicorn

    from custlens.serve.api import create_app

    ws = STATE.workspace()
    app_ = create_app(ws)
    console.info(f"custlens on http://{host}:{port}/ (API docs /docs); add users with "
                 "custlens users add NAME --role admin|analyst|operator")
    proxies = [str(p) for p in ws.settings.get("serve.trusted_proxies")]
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only from the
    # configured proxies (none: the connection's own address, always)
    uvicorn.run(app_, host=host, port=port, log_level="warning", proxy_headers=bool(proxies),
                forwarded_allow_ips=",".join(proxies) if proxies else None)


@app.command()
def report(out: Annotated[Path, typer.Option("--out", "-o", help="the file to write (.html; .xlsx with --period)")],
           period: Annotated[str | None, typer.Option("--period", help="week or month: the operations report")] = None,
           date: Annotated[str | None, typer.Option("--date", help="a day inside the period (default: the last complete one)")] = None) -> None:
    """One self-contained HTML page: segments, classes, periods, funnel, repurchase, channels,
    CLV and this period's action lists (works offline; --lang en for English).

    With --period week|month, the operations report (运营周报/月报): what changed and why,
    how segments moved, what campaigns and actions achieved, what to do next."""
    ws = STATE.workspace()
    if period:
        from custlens.serve import ops_report

        with console.progress(f"operations report ({period})"):
            made = ops_report.build(ws, period, parse_date(date, "--date"))
        ops_report.write(made, out)
        console.info(f"wrote {out}: {ops_report.title(made)} ({out.stat().st_size // 1024:,} KB)")
        return
    from custlens.serve.report import render

    out.write_text(render(ws, ws.settings.lang), encoding="utf-8")
    console.info(f"wrote {out} ({out.stat().st_size // 1024:,} KB)")


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


@app.command()
def demo(
    users: Annotated[int, typer.Option(help="customers in the demo shop")] = 20_000,
    days: Annotated[int, typer.Option(help="days (a whole year shows every campaign)")] = 365,
) -> None:
    """Generate a shop, load it, build the warehouse, print segments, classes and periods,
    plan this period's actions and write the HTML report into the lake folder."""
    ws = STATE.workspace()
    if not ws.lake.batches("events"):
        with console.progress(f"generating a demo shop: {users:,} customers × {days} days"):
            ws.generate(ShopSpec(users=users, days=days))
    else:
        console.info(f"{ws.lake.root} already holds data; building and segmenting it")
    with console.progress("building the warehouse"):
        ws.build()
    segment(as_of=None, since=None, mode=None, k=None, view="segments", chart=None,
            fmt=Format.table, out=None)
    periods(as_of=None, view="kinds", chart=None, fmt=Format.table, out=None)
    from custlens.cli_actions import plan_cmd

    plan_cmd(as_of=None, replace=True, fmt=Format.table, out=None)
    report(out=ws.lake.root / "report.html")
    console.info("next: custlens actions list latest --format xlsx --out lists.xlsx; custlens periods, custlens funnel, custlens repurchase, custlens channels, "
                 "custlens retention (the analyses); custlens segment --mode rules, "
                 "custlens sql \"SELECT segment, count(*) FROM ads_rfm GROUP BY ALL\", "
                 "custlens export rfm --format xlsx --out rfm.xlsx; custlens monitor --all "
                 "(yesterday against that kind of day); custlens report --period month "
                 "--out month.html (the operations report); custlens serve (the dashboard)")


def main() -> None:
    try:
        app()
    except CustlensError as exc:
        console.error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    main()
