"""The `custlens` command. Global options go before the command (DESIGN.md Conventions)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.collect.generate import ShopSpec
from custlens.collect.mapping import parse_pairs, parse_values
from custlens.errors import CustlensError
from custlens.i18n import class_name
from custlens.masking import mask_table, mask_value
from custlens.output import Format
from custlens.workspace import Workspace

app = typer.Typer(help="custlens — e-commerce customer data analysis (电商客户数据分析系统)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
import_app = typer.Typer(help="Import a file into the lake as one idempotent batch.", no_args_is_help=True)
batches_app = typer.Typer(help="List or undo import batches.", no_args_is_help=True)
quarantine_app = typer.Typer(help="What was rejected, and why.", no_args_is_help=True)
export_app = typer.Typer(help="Export results.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(batches_app, name="batches")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(export_app, name="export")


class State:
    lake: Path | None = None
    config: Path | None = None
    engine: str | None = None
    lang: str | None = None

    def workspace(self) -> Workspace:
        return Workspace(self.lake, self.config, self.engine, self.lang)


STATE = State()

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, csv, json, parquet or xlsx")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="write to this file instead of stdout")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="analysis date YYYY-MM-DD (default: the day after the last event)")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="only orders on or after this date count (default: all history)")]


def _date(text: str | None, flag: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CustlensError(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from exc


@app.callback()
def main_options(
    lake: Annotated[Path | None, typer.Option("--lake", help="lake folder (default ./lake, or config, or CUSTLENS_LAKE)")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="config file (default ./custlens.toml)")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="duckdb or spark")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en (headings, segment names)")] = None,
) -> None:
    STATE.lake, STATE.config, STATE.engine, STATE.lang = lake, config, engine, lang


# ---- loading --------------------------------------------------------------------------------
@app.command()
def generate(
    users: Annotated[int, typer.Option(help="number of customers")] = 20_000,
    start: Annotated[str, typer.Option(help="first day YYYY-MM-DD")] = "2025-01-01",
    days: Annotated[int, typer.Option(help="number of days")] = 365,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same shop")] = 7,
    out: Annotated[Path | None, typer.Option(help="write raw Parquet files here instead of loading the lake")] = None,
) -> None:
    """Generate a realistic synthetic shop (campaigns, loyal and one-time buyers, intent users)."""
    ws = STATE.workspace()
    spec = ShopSpec(users=users, start=_date(start, "--start") or dt.date(2025, 1, 1), days=days, seed=seed)
    with console.progress(f"generating {users:,} customers × {days} days"):
        results = ws.generate(spec, out)
    if out:
        console.info(f"wrote raw files to {out}")
        return
    _report_imports(results)


def _report_imports(results: list) -> None:
    for r in results:
        if r.batch is None:
            console.info(f"{r.path.name}: already imported as batch {r.previous.batch_id}; nothing added")
            continue
        console.info(f"{r.path.name} → ods_{r.table}: {r.rows:,} rows loaded, {r.rejected:,} rejected "
                     f"(batch {r.batch.batch_id})")
        for s in r.samples:
            value = mask_value(s["field"], s["value"]) if s["field"] in {"phone", "email", "address", "birthday"} else s["value"]
            where = f"{r.path}:{s['_line']}" + (f" field {s['field']}={value!r}" if s["field"] else "")
            console.warn(f"{where}: {s['reason']}")
        if r.rejected > len(r.samples):
            console.warn(f"… {r.rejected - len(r.samples):,} more; see: custlens quarantine show --batch {r.batch.batch_id}")


@import_app.command("taobao")
def import_taobao(file: Path) -> None:
    """Tianchi UserBehavior CSV (user,item,category,behavior,timestamp); an order is a buy."""
    _report_imports(STATE.workspace().import_file("taobao", file))


@import_app.command("online-retail")
def import_online_retail(file: Path) -> None:
    """UCI Online Retail (CSV or XLSX); C invoices are returns; Europe/London, GBP."""
    _report_imports(STATE.workspace().import_file("online-retail", file))


def _generic(kind: str):
    def command(
        file: Path,
        map: Annotated[str | None, typer.Option("--map", help="field=column,… (canonical field = your column)")] = None,
        value: Annotated[str | None, typer.Option("--value", help="field=raw:canonical,… e.g. status=交易成功:paid")] = None,
        tz: Annotated[str | None, typer.Option("--tz", help="time zone of local times in the file")] = None,
        encoding: Annotated[str | None, typer.Option("--encoding", help="utf-8 or gb18030 … (default: detected)")] = None,
        sep: Annotated[str | None, typer.Option("--sep", help="CSV separator (default: detected)")] = None,
        time_format: Annotated[str | None, typer.Option("--time-format", help="epoch, epoch_ms or a strptime format")] = None,
        sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name")] = None,
    ) -> None:
        ws = STATE.workspace()
        opts = {"map": dict(parse_pairs(map, "--map")), "values": parse_values(value),
                "encoding": encoding, "sep": sep, "time_format": time_format, "sheet": sheet}
        if tz:
            opts["tz"] = tz
        _report_imports(ws.import_file(kind, file, **opts))

    command.__doc__ = f"Import {kind} from CSV (any separator), XLSX, Parquet or JSON lines."
    return command


for _kind in ("events", "orders", "order-items", "customers", "items", "ad-spend", "identity"):
    import_app.command(_kind)(_generic(_kind))


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
    from custlens.hub.lock import writer_lock

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
              force: Annotated[bool, typer.Option(help="rebuild even what is current")] = False) -> None:
    """Bring the warehouse (DWD → DIM → DWS → ADS) up to date."""
    ws = STATE.workspace()
    report = ws.build(None, _date(as_of, "--as-of"), _date(since, "--since"), force)
    for name in report.built:
        console.info(f"built {name}: {report.rows[name]:,} rows in {report.seconds[name]:.2f}s")
    console.info(f"{len(report.built)} built, {len(report.skipped)} already current"
                 + (f"; analysis date {report.as_of}" if report.as_of else ""))


@app.command()
def segment(
    as_of: AsOfOpt = None, since: SinceOpt = None,
    mode: Annotated[str | None, typer.Option(help="kmeans (default) or rules")] = None,
    k: Annotated[int | None, typer.Option(help="number of clusters (default: chosen by silhouette)")] = None,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """The segment table (重要价值客户 …) and the class table."""
    ws = STATE.workspace()
    ws.settings = ws.settings.with_overrides(**{"segment.mode": mode, "segment.k": k})
    a, s = _date(as_of, "--as-of"), _date(since, "--since")
    segments = ws.segments(a, s)
    classes = ws.class_summary(a, s)
    notes = ws.rfm_notes()
    lang = ws.settings.lang
    if fmt is Format.table:
        seg_cols = ["segment" if lang == "zh" else "segment_en", "customers", "share",
                    "mean_recency_days", "mean_frequency", "mean_monetary", "monetary_share", "clusters"]
        if lang == "zh":
            seg_cols.insert(1, "segment_en")
        title = _segment_title(notes, lang)
        output.write(segments.select(seg_cols), fmt, out, lang, title, percent=("share", "monetary_share"))
        names = [class_name(c, lang) for c in classes.column("class").to_pylist()]
        classes = classes.add_column(1, "class_name", pa.array(names, pa.string()))
        if out is None:
            output.write(classes, fmt, None, lang, "运营分类" if lang == "zh" else "Operational classes",
                         percent=("share",))
        if notes.get("monetary_is_count"):
            console.warn("this data has no prices: M is the number of items bought, so M mirrors F "
                         "and only segments where F and M agree can appear")
        return
    output.write(segments, fmt, out, lang)


def _segment_title(notes: dict, lang: str) -> str:
    k = notes.get("k")
    how = (f"K-means k={k}" if k else "rules") if lang == "en" else (f"K-means 聚类 k={k}" if k else "规则分群")
    if lang == "zh":
        return f"客户分群 · 分析日 {notes.get('as_of')} · 购买客户 {notes.get('buyers', 0):,} · {how}"
    return f"Segments · as of {notes.get('as_of')} · {notes.get('buyers', 0):,} buyers · {how}"


RFM_COLUMNS = ["user_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
               "cluster", "segment", "segment_en", "class"]


@export_app.command("rfm")
def export_rfm(as_of: AsOfOpt = None, since: SinceOpt = None,
               fmt: FormatOpt = Format.csv, out: OutOpt = None) -> None:
    """One row per buyer: R, F, M, scores, cluster, segment, class."""
    ws = STATE.workspace()
    table = ws.rfm(_date(as_of, "--as-of"), _date(since, "--since")).select(RFM_COLUMNS)
    output.write(table, fmt, out, ws.settings.lang)
    if out:
        console.info(f"wrote {table.num_rows:,} buyers to {out}")


@app.command()
def sql(query: str,
        show_personal: Annotated[bool, typer.Option("--show-personal", help="do not mask personal data")] = False,
        fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Run SQL over the warehouse tables by name (dwd_events, ads_rfm, …)."""
    ws = STATE.workspace()
    output.write(mask_table(ws.sql(query), show_personal), fmt, out, ws.settings.lang)


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
    from custlens.hub.runs import runs as load_runs

    ws = STATE.workspace()
    rows = [{k: v for k, v in r.items() if k != "detail"} for r in load_runs(ws.lake)]
    table = pa.Table.from_pylist(rows) if rows else pa.table({"run_id": pa.array([], pa.string())})
    output.write(table, fmt, out, ws.settings.lang)


@app.command()
def demo(
    users: Annotated[int, typer.Option(help="customers in the demo shop")] = 20_000,
    days: Annotated[int, typer.Option(help="days (a whole year shows every campaign)")] = 365,
) -> None:
    """Generate a shop, load it, build the warehouse and print its segments and classes."""
    ws = STATE.workspace()
    if not ws.lake.batches("events"):
        with console.progress(f"generating a demo shop: {users:,} customers × {days} days"):
            ws.generate(ShopSpec(users=users, days=days))
    else:
        console.info(f"{ws.lake.root} already holds data; building and segmenting it")
    with console.progress("building the warehouse"):
        ws.build()
    segment(as_of=None, since=None, mode=None, k=None, fmt=Format.table, out=None)
    console.info("next: custlens segment --mode rules (each buyer named by its own R/F/M), "
                 "custlens sql \"SELECT segment, count(*) FROM ads_rfm GROUP BY ALL\", "
                 "custlens export rfm --format xlsx --out rfm.xlsx")


def main() -> None:
    try:
        app()
    except CustlensError as exc:
        console.err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    main()
