"""A shop's own exports with one command: `custlens import auto FILE` or a named preset.

detect() reads the header (after type and encoding sniffing and cell cleaning) and
names the platform and file kind; import_export() reads the file with that layout and
lands it as idempotent batches: orders (with negative rows for stated partial refunds),
order lines, and the customer records of buyers keyed by a phone or an e-mail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from custlens.collect.exports.convert import Converted, convert
from custlens.collect.exports.layouts import LAYOUTS, Layout
from custlens.collect.exports.sniff import Sheet, read_sheet
from custlens.collect.importers import ImportOptions, ImportResult, ingest_source
from custlens.collect.readers import Source, records_source
from custlens.errors import CustlensError
from custlens.lake import Lake, file_fingerprint

__all__ = ["PRESETS", "Detected", "detect", "import_export"]

PRESETS = tuple(dict.fromkeys(layout.name for layout in LAYOUTS))
OTHER_LAYOUTS = {  # recognised, refused with a clear message (PLATFORM_EXPORTS.md, last part)
    "微信小店/视频号": ("订单实际收款金额", "商品实际价格(单件)"),
    "快手小店": ("成交数量", "实付款", "订单支付时间"),
    "抖店 售后单": ("售后单号", "退商品金额(元)"),
    "抖店 结算单": ("结算时间", "结算金额", "平台服务费"),
    "生意参谋 商品报表 (aggregate, not per customer)": ("统计日期", "商品访客数", "支付金额"),
}


@dataclass
class Detected:
    layout: Layout
    sheet: Sheet
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        enc = f", {self.sheet.encoding}" if self.sheet.encoding else ""
        return (f"{self.sheet.path.name}: {self.layout.label} → preset {self.layout.name} "
                f"({self.sheet.kind}{enc}, header on line {self.sheet.header_line}, "
                f"{len(self.sheet.rows):,} rows)")


def _score(keys: list[str]) -> int:
    present = set(keys)
    return max(layout.score(present) for layout in LAYOUTS)


def _closeness(layout: Layout, keys: set[str]) -> float:
    names = set(layout.must) | {k for g in layout.any_of for k in g} | \
        {k for aliases in layout.fields.values() for k in aliases}
    return len(names & keys) / max(1, len(names))


def detect(path: Path, preset: str | None = None, encoding: str | None = None,
           sheet: str | None = None) -> Detected:
    """Which layout a file has (or check the named preset's), with a clear error otherwise."""
    table = read_sheet(Path(path), _score, encoding, sheet)
    keys = set(table.keys)
    candidates = [layout for layout in LAYOUTS if preset is None or layout.name == preset]
    if not candidates:
        raise CustlensError(f"no preset {preset!r}", hint=f"presets: {', '.join(PRESETS)}")
    scored = sorted(((layout.score(keys), i, layout) for i, layout in enumerate(candidates)),
                    key=lambda t: (-t[0], t[1]))
    best_score, _, best = scored[0]
    if best_score > 0:
        return Detected(best, table)
    for name, marks in OTHER_LAYOUTS.items():
        if all(m in keys for m in marks):
            raise CustlensError(f"{path}: this is a {name} export, which custlens has no preset for yet",
                                hint="import its orders with custlens import orders FILE --map …")
    close = sorted(candidates, key=lambda layout: -_closeness(layout, keys))[:3]
    shown = ", ".join(f"{layout.name} ({_closeness(layout, keys):.0%} of its columns)" for layout in close)
    what = f"not the {preset} layout" if preset else "not a layout custlens knows"
    raise CustlensError(
        f"{path}: {what}; its header: {', '.join(h for h in table.header[:12])}"
        + ("…" if len(table.header) > 12 else ""),
        hint=f"closest: {shown}. Import it with the generic command instead: custlens import "
        "orders FILE --map order_id=COLUMN,amount=COLUMN,… (custlens import orders --help "
        "lists the fields)")


def _currency_warning(table: Sheet, shop_currency: str) -> str | None:
    """Shopify writes each order's currency: a file in another one, or in several, is said."""
    i = table.column("Currency")
    if i is None:
        return None
    seen = sorted({str(cells[i]) for _, cells in table.rows if i < len(cells) and cells[i]})
    if len(seen) > 1:
        return f"the file mixes currencies ({', '.join(seen)}): amounts are added as they are"
    if seen and seen[0].upper() != shop_currency.upper():
        return (f"the orders are in {seen[0]} but shop.currency is {shop_currency}: set "
                f"[shop] currency = \"{seen[0]}\" in custlens.toml")
    return None


def import_export(lake: Lake, path: Path, tz: str, preset: str | None = None,
                  values: dict[str, dict[str, str]] | None = None, amount_grain: str | None = None,
                  mapped: dict[str, str] | None = None, encoding: str | None = None,
                  sheet: str | None = None, currency: str = "CNY",
                  ) -> tuple[Detected, Converted, list[ImportResult]]:
    """Read one export with its layout and load it as batches of orders, order_items and
    customers. Each batch is idempotent: the same file with the same options adds nothing."""
    found = detect(path, preset, encoding, sheet)
    if amount_grain not in (None, "order", "line"):
        raise CustlensError(f"--amount-grain must be order or line, not {amount_grain!r}")
    status_values = (values or {}).get("status", {})
    unknown = set(values or {}) - {"status"}
    if unknown:
        raise CustlensError(f"--value {sorted(unknown)[0]}=…: a preset maps only status words",
                            hint="--value status=RAW:paid|refunded|cancelled|pending")
    result = convert(found.sheet, found.layout, status_values, lake.secret(), amount_grain, mapped)
    if (said := _currency_warning(found.sheet, currency)) is not None:
        result.warnings.append(said)
    content = file_fingerprint(Path(path))
    options: dict[str, Any] = {"kind": f"export:{found.layout.name}", "values": status_values,
                               "amount_grain": amount_grain, "map": mapped or {},
                               "encoding": found.sheet.encoding}
    loads = []
    broken = result.broken
    for table, records in (("orders", result.orders), ("order_items", result.lines),
                           ("customers", result.customers)):
        if not records and not (table == "orders" and broken):
            continue
        loads.append(_load(lake, table, path, content, options, records,
                           broken if table == "orders" or not result.orders else [], tz))
        broken = [] if table == "orders" else broken
    return found, result, loads


FIELDS = {"orders": ("order_id", "user_id", "order_ts", "status", "amount"),
          "order_items": ("order_id", "item_id", "qty", "price", "user_id", "order_ts", "line_id"),
          "customers": ("user_id", "phone", "email")}


def _load(lake: Lake, table: str, path: Path, content: Any, options: dict[str, Any],
          records: list[dict], broken: list[dict], tz: str) -> ImportResult:
    fields = FIELDS[table]
    if table == "order_items" and not all(r.get("line_id") for r in records):
        fields = tuple(f for f in fields if f != "line_id")  # a content hash identifies the line
    opts = ImportOptions(map={f: f for f in fields}, tz=tz)

    def opener(con: duckdb.DuckDBPyConnection, scratch: Path) -> Source:
        return records_source(con, [{k: v for k, v in r.items() if k in fields or k == "_line"}
                                    for r in records], broken, ensure=fields)

    return ingest_source(lake, table, str(path), content, opener, opts, tz,
                         {**options, "table": table, "fields": json.dumps(fields)})
