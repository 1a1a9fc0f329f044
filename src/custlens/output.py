"""--format table|csv|json|parquet|xlsx and --out: data on stdout (or a file), nothing else.

csv/json/parquet/xlsx keep the canonical English column names; `table` translates
headings. CSV is UTF-8 with a BOM when written to a file, so Excel opens Chinese.
"""

from __future__ import annotations

import io
import json
import math
import sys
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from rich.text import Text

from custlens.errors import CustlensError
from custlens.i18n import heading

WIDE = 240  # columns when the table goes to a file or a pipe


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


# whole numbers that are labels, not quantities: no thousands separator
PLAIN_INTEGERS = {"year", "hour", "weekday", "line", "_line", "cluster", "tier", "k", "periods_since"}


def _cell(value: object, lang: str = "zh", column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, int) and column not in PLAIN_INTEGERS:
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.2f}" if abs(value) < 1e15 else str(value)
    return str(value)


def _json_default(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def write(table: pa.Table, fmt: Format | str, out: Path | None, lang: str = "zh",
          title: str | None = None, percent: tuple[str, ...] = (),
          caption: str | None = None) -> None:
    fmt = Format(fmt)
    if fmt in (Format.parquet, Format.xlsx) and out is None:
        raise CustlensError(f"--format {fmt} needs --out FILE")
    if fmt is Format.table:
        _write_table(table, out, lang, title, percent, caption)
    elif fmt is Format.csv:
        data = csv_bytes(table, raw=RAW.get())
        if out:
            out.write_bytes(b"\xef\xbb\xbf" + data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    elif fmt is Format.json:
        text = json.dumps(table.to_pylist(), ensure_ascii=False, default=_json_default, indent=1)
        if out:
            out.write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    elif fmt is Format.parquet:
        assert out is not None
        pq.write_table(table, out)
    elif fmt is Format.xlsx:
        assert out is not None
        write_xlsx(table, out)


def _write_table(table: pa.Table, out: Path | None, lang: str, title: str | None,
                 percent: tuple[str, ...], caption: str | None = None) -> None:
    view = Table(title=title and Text(title), caption=caption and Text(caption),
                 show_lines=False, header_style="bold")
    for name in table.column_names:
        numeric = pa.types.is_integer(table.schema.field(name).type) or \
            pa.types.is_floating(table.schema.field(name).type)
        view.add_column(Text(heading(name, lang)), justify="right" if numeric else "left")
    for row in table.to_pylist():  # cells are Text: a value like "[link=…]" is not markup
        view.add_row(*[Text(f"{v:.1%}" if k in percent and isinstance(v, float) else _cell(v, lang, k))
                       for k, v in row.items()])
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            Console(file=fh, width=WIDE).print(view)
    else:  # a terminal folds to its width; a pipe or a file gets whole rows
        Console(width=Console().width if sys.stdout.isatty() else WIDE).print(view)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# `custlens --raw …`: CSV text cells as they are, for pipelines (set by the CLI's global option)
RAW: ContextVar[bool] = ContextVar("raw_csv", default=False)


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(…)`, `+1`, `@SUM`, a
    leading TAB or CR) gets a leading `'`, so it opens as text (OWASP's CSV injection advice);
    the importer reads that form back to the original."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(table: pa.Table, raw: bool = False) -> bytes:
    """The one CSV writer of every download and export: text cells neutralised unless raw."""
    if not raw:
        columns = []
        for column in table.columns:
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                column = pa.array([None if v is None else neutralise(v) for v in column.to_pylist()],
                                  column.type)
            columns.append(column)
        table = pa.table(columns, names=table.column_names)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue()


def write_xlsx(table: pa.Table, out: Path) -> None:
    """One table as the workbook's `data` sheet, canonical column names as its header."""
    write_xlsx_sheets([("data", table.column_names, table.to_pylist())], out)


def write_xlsx_sheets(sheets: list[tuple[str, list[str], list[dict[str, Any]]]], out: Path) -> None:
    """The one XLSX writer: sheets of (name, header, rows); every text cell is stored as
    text, never as a live formula (a customer's "=HYPERLINK(…)" stays inert)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for name, header, rows in sheets:
        sheet = book.create_sheet(name[:31])  # Excel's limit on a sheet name
        sheet.append([WriteOnlyCell(sheet, value=h) for h in header])
        for row in rows:
            cells = []
            for v in row.values():
                if hasattr(v, "tzinfo") and getattr(v, "tzinfo", None):
                    v = v.replace(tzinfo=None)
                cell = WriteOnlyCell(sheet, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # openpyxl would store "=…" as a formula
                cells.append(cell)
            sheet.append(cells)
    book.save(out)
