"""Imports: a file becomes one idempotent ODS batch (good records + rejected ones).

Parsing happens on the way in, against the canonical schema (mapping.py); what cannot
be parsed is kept, raw, with its line, field, value and reason, and surfaces in
`dwd_quarantine`. Presets for the public datasets set their own shop settings.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from custlens import schema
from custlens.collect.mapping import FieldPlan, Mapping
from custlens.collect.readers import (
    Source,
    csv_rejects,
    open_source,
    records_source,
    recover_lines,
    renumber_after_rejects,
    unnumber,
)
from custlens.config import record_shop_preset
from custlens.lake import Batch, Lake, file_fingerprint
from custlens.lock import writer_lock
from custlens.sqltext import ident, literal

EVENT_CONTENT = ("user_id", "item_id", "category_id", "behavior", "ts", "channel",
                 "ad_campaign", "session_id", "shop_id")
LINE_CONTENT = ("order_id", "item_id", "qty", "price", "user_id", "order_ts")


@dataclass
class ImportOptions:
    """How to read one file: the generic importer's flags."""

    map: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    tz: str = "Asia/Shanghai"
    encoding: str | None = None
    sep: str | None = None
    header: bool = True
    names: list[str] | None = None
    sheet: str | None = None
    time_format: str | None = None
    constants: dict[str, str] = field(default_factory=dict)
    window: tuple[str, str] | None = None  # local dates outside it are quarantined

    def fingerprint_part(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, {}, [])}


@dataclass
class ImportResult:
    table: str
    path: Path
    batch: Batch | None  # None when the file was imported before
    previous: Batch | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)  # first rejections

    @property
    def rows(self) -> int:
        return self.batch.rows if self.batch else 0

    @property
    def rejected(self) -> int:
        return self.batch.rejected if self.batch else 0


def ingest(lake: Lake, table: str, path: Path, opts: ImportOptions, shop_tz: str,
           kind: str = "import") -> ImportResult:
    """Import one file as a batch of ODS table `table`; a second import adds nothing."""
    spec = schema.spec(table)
    path = Path(path)
    options = {"kind": kind, **opts.fingerprint_part()}
    content = file_fingerprint(path)

    def opener(con: duckdb.DuckDBPyConnection, scratch: Path) -> Source:
        return open_source(con, path, scratch, encoding=opts.encoding, sep=opts.sep,
                           header=opts.header, names=opts.names, sheet=opts.sheet)

    return ingest_source(lake, spec.name, str(path), content, opener, opts, shop_tz, options)


def ingest_source(lake: Lake, table: str, label: str, content: Any,
                  opener: Callable[[duckdb.DuckDBPyConnection, Path], Source],
                  opts: ImportOptions, shop_tz: str, options: dict[str, Any],
                  recover: bool = True, check_previous: bool = True,
                  batch_id: str | None = None) -> ImportResult:
    """One batch from any source `opener` registers as the view `src`.

    `content` identifies what is read (a file's fingerprint, a log's identity and byte
    range): the same content with the same options is imported once. A caller that
    knows its content is new (the log agent, from its own state) skips the look-up.
    """
    spec = schema.spec(table)
    digest = hashlib.sha256(json.dumps([content, spec.name, options], sort_keys=True,
                                       ensure_ascii=False, default=str).encode()).hexdigest()
    with writer_lock(lake.root):
        if recover:
            lake.recover()
        previous = lake.batch_with_fingerprint(spec.name, digest) if check_previous else None
        if previous:
            return ImportResult(spec.name, Path(label), None, previous)
        batch_id = batch_id or lake.new_batch_id(spec.name)
        staged = lake.staging(batch_id)
        scratch = lake.staging(f"{batch_id}-source")
        con = lake.duckdb()
        try:
            source = opener(con, scratch)
            mapping = Mapping(spec, source.columns, opts.map, opts.values, opts.tz,
                              opts.time_format, opts.constants, source.types, opts.window,
                              source.absent)
            plans = mapping.plan()
            if source.csv and _content_keyed(spec, plans):
                unnumber(con, source)  # copies are equal: which line came first cannot matter
            _define_checked(con, mapping, plans)
            rows, rejected = _write(con, spec, staged, batch_id, label, shop_tz, plans,
                                    _checked(mapping, plans), source)
            samples = _samples(con, staged)
        finally:
            con.close()
            shutil.rmtree(scratch, ignore_errors=True)
        batch = lake.commit_batch(batch_id, spec.name, label, digest, staged, rows,
                                  rejected, options)
        return ImportResult(spec.name, Path(label), batch, None, samples)


def _define_checked(con: duckdb.DuckDBPyConnection, m: Mapping, plans: list[FieldPlan]) -> None:
    """Views raw_fields → parsed → checked (`_reason`: NULL on a good row).

    Each field's reason is computed once (its own column `f_<field>`) and only for fields
    the source has; what is needed only for a rejected row (which field, the record as
    JSON) is left to `_reject_expr`, inside a branch that runs on rejected rows alone (a
    column of the view would be computed for every row: 0.8 s of 11 at 10M)."""
    raws = ", ".join(f"{m.raw_expr(p)} AS r_{p.name}" for p in plans)
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw_fields AS SELECT *, {raws} FROM src")
    parsed = ", ".join(f"{m.parse_expr(p, 'r_' + p.name)} AS p_{p.name}" for p in plans)
    con.execute(f"CREATE OR REPLACE TEMP VIEW parsed AS SELECT *, {parsed} FROM raw_fields")
    checked = _checked(m, plans)
    reasons = ", ".join(f"{m.reason_expr(p, f'r_{p.name}', f'p_{p.name}')} AS f_{p.name}"
                        for p in checked)
    con.execute(f"CREATE OR REPLACE TEMP VIEW reasons AS SELECT *, {reasons} FROM parsed")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW checked AS SELECT *, "
        f"COALESCE({', '.join(f'f_{p.name}' for p in checked)}) AS _reason FROM reasons")


def _checked(m: Mapping, plans: list[FieldPlan]) -> list[FieldPlan]:
    """The fields that can have a reason: those the source has, constants, required ones."""
    return [p for p in plans if p.column is not None or p.name in m.constants or p.required]


def _record_json(source: Source) -> str:
    """A rejected record as received: its line, or its source columns as a JSON object."""
    if source.raw:
        return "_raw"
    pairs = ", ".join(f"{literal(c)}: {ident(c)}" for c in source.columns)
    return f"CAST(to_json({{{pairs}}}) AS VARCHAR)"


def _content_keyed(spec: schema.TableSpec, plans: list[FieldPlan]) -> bool:
    """Events without an id column: `_key_expr` hashes their content into their id."""
    return spec.name == "events" and not any(p.name == "event_id" and p.column for p in plans)


def _key_expr(spec: schema.TableSpec, plans: list[FieldPlan]) -> dict[str, str]:
    """Computed key columns: an event's id, an order line's id."""
    has = {p.name for p in plans if p.column}
    if spec.name == "events":
        content = ", ".join(f"p_{f}" for f in EVENT_CONTENT)
        by_content = f"(hash({content}) >> 1)::BIGINT"
        own = ("COALESCE(TRY_CAST(r_event_id AS BIGINT), "
               f"CASE WHEN r_event_id IS NOT NULL THEN (hash(r_event_id) >> 1)::BIGINT END, {by_content})")
        return {"event_id": own if "event_id" in has else by_content}
    if spec.name == "order_items":
        content = ", ".join(f"p_{f}" for f in LINE_CONTENT)
        # a source's line id need only be unique within its order (Olist's order_item_id 1, 2 …)
        own = "(hash(p_order_id, r_line_id) >> 1)::BIGINT"
        return {"line_id": own if "line_id" in has else f"(hash({content}) >> 1)::BIGINT"}
    return {}


def _write(con, spec, staged: Path, batch_id: str, label: str, shop_tz: str,
           plans: list[FieldPlan], checked: list[FieldPlan], source: Source) -> tuple[int, int]:
    """Good rows to the batch's files, rejected ones to `_rejected/`.

    A table with a local date is written in one pass: a rejected row gets no date, so it
    lands in the writer's default partition with its reason, field, value and record in
    the column `_reject` (empty on every good row), and only that small partition is read
    back. A second scan for the rejected rows cost as much as the import itself."""
    keys = _key_expr(spec, plans)
    cols = [f"{keys[f]} AS {f}" if f in keys else f"p_{f} AS {f}" for f in spec.fields]
    offset = "_offset" if source.offsets else "CAST(NULL AS BIGINT) AS _offset"
    meta = [f"{literal(batch_id)} AS _batch_id", f"{literal(label)} AS _source", "_line", offset]
    reject = _reject_expr(checked, source)
    one_pass = bool(spec.time_field)
    if one_pass:
        meta.append(f"CASE WHEN _reason IS NULL THEN CAST(timezone({literal(shop_tz)}, "
                    f"p_{spec.time_field}) AS DATE) END AS dt")
        meta.append(f"{reject} AS {REJECT_COLUMN}")
        good = f"SELECT {', '.join(cols + meta)} FROM checked"
        part, dest = "(FORMAT parquet, PARTITION_BY (dt))", staged
    else:
        good = f"SELECT {', '.join(cols + meta)} FROM checked WHERE _reason IS NULL"
        part, dest = "(FORMAT parquet)", staged / "data.parquet"

    def copy_good() -> int:
        for old in staged.rglob("*.parquet"):
            old.unlink()
        return int(con.execute(f"COPY ({good}) TO '{dest}' {part}").fetchone()[0])

    rows = copy_good()
    broken = list(source.broken)
    if source.csv and (split_errors := csv_rejects(con)):
        # line numbers after an unsplittable line shift: renumber and write again
        renumber_after_rejects(con, split_errors)
        if source.numbered:
            rows = copy_good()
        broken += split_errors
    folder = staged / DEFAULT_PARTITION
    if not one_pass:
        rejected_tbl = _rejected_rows(con, f"(SELECT _line, {offset}, {reject} AS {REJECT_COLUMN} "
                                      f"FROM checked WHERE _reason IS NOT NULL)", batch_id, spec.name, label)
    elif folder.exists():  # the one pass put the rejected rows here: take them out
        rejected_tbl = _rejected_rows(con, f"read_parquet('{folder}/*.parquet')", batch_id,
                                      spec.name, label)
        shutil.rmtree(folder)
        rows -= rejected_tbl.num_rows
    else:
        rejected_tbl = schema.REJECTED.empty_table()
    rejected_tbl = recover_lines(con, source, rejected_tbl)
    if broken:
        extra = pa.table({
            "_batch_id": [batch_id] * len(broken), "table_name": [spec.name] * len(broken),
            "_source": [label] * len(broken), "_line": [b["_line"] for b in broken],
            "_offset": [b.get("_offset") for b in broken],
            "field": [None] * len(broken), "value": [None] * len(broken),
            "reason": [b["reason"] for b in broken], "raw": [b["raw"] for b in broken],
        }, schema=schema.REJECTED)
        rejected_tbl = pa.concat_tables([rejected_tbl.cast(schema.REJECTED), extra])
    if rejected_tbl.num_rows:
        out = staged / "_rejected"
        out.mkdir(parents=True, exist_ok=True)
        rejected_tbl = rejected_tbl.cast(schema.REJECTED).sort_by("_line")
        pq.write_table(rejected_tbl, out / "rejected.parquet")
    return rows, rejected_tbl.num_rows


REJECT_COLUMN = "_reject"  # empty on every good row; see _write
DEFAULT_PARTITION = "dt=__HIVE_DEFAULT_PARTITION__"  # where DuckDB writes a NULL dt


def _reject_expr(checked: list[FieldPlan], source: Source) -> str:
    """A rejected row's field, value, reason and record as one JSON text (NULL when good);
    the first field with a reason is the one named."""
    field_of = " ".join(f"WHEN f_{p.name} IS NOT NULL THEN '{p.name}'" for p in checked)
    value_of = " ".join(f"WHEN f_{p.name} IS NOT NULL THEN r_{p.name}" for p in checked)
    return (f"CASE WHEN _reason IS NOT NULL THEN json_object('field', (CASE {field_of} END), "
            f"'value', (CASE {value_of} END), 'reason', _reason, "
            f"'raw', {_record_json(source)}) END")


def _rejected_rows(con: duckdb.DuckDBPyConnection, relation: str, batch_id: str, table: str,
                   label: str) -> pa.Table:
    """Rows of the rejected table from `relation`'s `_line`, `_offset` and `_reject`."""
    fields = ", ".join(f"json_extract_string({REJECT_COLUMN}, '$.{f}') AS {f}"
                       for f in ("field", "value", "reason", "raw"))
    return con.sql(
        f"SELECT {literal(batch_id)} AS _batch_id, {literal(table)} AS table_name, "
        f"{literal(label)} AS _source, _line, _offset, {fields} FROM {relation}").to_arrow_table()


def _samples(con, staged: Path, n: int = 5) -> list[dict[str, Any]]:
    files = list((staged / "_rejected").glob("*.parquet"))
    return pq.read_table(files[0]).slice(0, n).to_pylist() if files else []


# ---- presets for public datasets --------------------------------------------------------

TAOBAO_COLUMNS = ["user_id", "item_id", "category_id", "behavior", "ts"]


TAOBAO_DATES = ("2017-11-25", "2017-12-03")


def import_taobao(lake: Lake, path: Path) -> ImportResult:
    """Tianchi UserBehavior: no header, epoch seconds, no prices (an order is a buy).

    The dataset covers 2017-11-25..2017-12-03 (its documentation); the few records
    stamped outside it are known clock errors and go to the quarantine, or they would
    stretch the span over empty months and every per-day figure with it.
    """
    record_shop_preset(lake.root, {"timezone": "Asia/Shanghai", "currency": "CNY",
                                   "orders_from": "events"})
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().split(",")[0].strip().lstrip("\ufeff")
    header = not first.isdigit()
    opts = ImportOptions(tz="Asia/Shanghai", header=header, time_format="epoch",
                         names=None if header else TAOBAO_COLUMNS, encoding="utf-8",
                         window=TAOBAO_DATES)
    return ingest(lake, "events", path, opts, "Asia/Shanghai", kind="taobao")


ONLINE_RETAIL_MAP = {"order_id": "InvoiceNo", "item_id": "StockCode", "qty": "Quantity",
                     "price": "UnitPrice", "user_id": "CustomerID", "order_ts": "InvoiceDate"}


def import_online_retail(lake: Lake, path: Path) -> list[ImportResult]:
    """UCI Online Retail lines (CSV or XLSX), UK local times, GBP.

    Each line lands in ods_order_items; dwd_orders derives each invoice from its lines,
    so C invoices (returns) come out as negative amounts netted into M.
    """
    record_shop_preset(lake.root, {"timezone": "Europe/London", "currency": "GBP", "country": "GB",
                                   "orders_from": "orders"})
    lines = ingest(lake, "order_items", path,
                   ImportOptions(map=ONLINE_RETAIL_MAP, tz="Europe/London"),
                   "Europe/London", kind="online-retail")
    items = ingest(lake, "items", path,
                   ImportOptions(map={"item_id": "StockCode", "title": "Description",
                                      "price": "UnitPrice"}, tz="Europe/London"),
                   "Europe/London", kind="online-retail")
    return [lines, items]


CDNOW_TZ = "America/New_York"


def _cdnow_records(path: Path) -> tuple[list[dict[str, object]], list[dict]]:
    """CDNOW text: whitespace separated, no header. The 1/10 sample has five columns
    (master id, sample id, YYYYMMDD, CDs, dollars), the master file four (customer id,
    YYYYMMDD, CDs, dollars). The customer is the master id in both, so the same person has
    the same id in either file; each row is one order, id `<customer>-<date>-<n>` (n counts
    that customer's rows of that day, in file order)."""
    records: list[dict[str, object]] = []
    broken: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts or (not records and not broken and not parts[0].isdigit()):
                continue  # blank, or a header line (the copy in `lifetimes` has one)
            if len(parts) not in (4, 5):
                broken.append({"_line": n, "raw": line.rstrip("\n"),
                               "reason": f"expected 4 (master file) or 5 (sample) fields, found {len(parts)}"})
                continue
            user, date, cds, dollars = parts[0], parts[-3], parts[-2], parts[-1]
            seen[(user, date)] = seen.get((user, date), 0) + 1
            records.append({"_line": n, "user_id": user, "order_id": f"{user}-{date}-{seen[(user, date)]}",
                            "order_ts": date, "cds": cds, "amount": dollars})
    return records, broken


def import_cdnow(lake: Lake, path: Path) -> ImportResult:
    """The public CDNOW purchase file (Fader & Hardie): one paid order per row, USD, in
    the US Eastern time zone (the data has dates only: each is that local day)."""
    record_shop_preset(lake.root, {"timezone": CDNOW_TZ, "currency": "USD", "country": "US",
                                   "orders_from": "orders"})
    opts = ImportOptions(map={"order_id": "order_id", "user_id": "user_id", "order_ts": "order_ts",
                              "amount": "amount"}, tz=CDNOW_TZ, time_format="%Y%m%d",
                         constants={"status": "paid"})

    def opener(con: duckdb.DuckDBPyConnection, scratch: Path) -> Source:
        records, broken = _cdnow_records(path)
        return records_source(con, records, broken, ensure=("user_id", "order_id", "order_ts", "amount"))

    options = {"kind": "cdnow", **opts.fingerprint_part()}
    return ingest_source(lake, "orders", str(path), file_fingerprint(path), opener, opts,
                         CDNOW_TZ, options)
