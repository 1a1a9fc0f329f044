"""Read a seller back-end export as the platforms write it (PLATFORM_EXPORTS.md §1–§5).

Type from the first bytes, never the extension; text decoded strictly (a BOM, else
UTF-8, GB18030, UTF-16 — never with `replace`); the delimiter chosen from the header row
only (拼多多 and 抖店 cells start with a TAB even in comma files); header names normalised
into matching keys (ODS keeps the originals); every cell cleaned of Excel guards
(`="…"`, a leading `'` before digits), TAB prefixes, surrounding quotes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from custlens.errors import CustlensError

__all__ = ["Sheet", "read_sheet", "header_key", "clean_cell", "decode", "sniff_type"]

ENCODINGS = ("utf-8-sig", "gb18030", "utf-16")
FULL_WIDTH = str.maketrans({"（": "(", "）": ")"})
DIGITS = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")
GUARDED_DIGITS = re.compile(r"[0-9 +\-]+")
MAX_HEADER_SCAN = 10


@dataclass
class Sheet:
    """An export read as text: original header, matching keys, and the data rows."""

    path: Path
    kind: str  # "csv" or "xlsx"
    encoding: str | None
    delimiter: str | None
    header: list[str]
    keys: list[str]
    rows: list[tuple[int, list[str | None]]]  # (line number a person would look up, cells)
    header_line: int = 1
    notes: list[str] = field(default_factory=list)

    def column(self, key: str) -> int | None:
        return self.keys.index(key) if key in self.keys else None


def header_key(name: object) -> str:
    """A header's matching key: no BOM, quotes or surrounding white space (TAB and U+3000
    included), full-width brackets as half-width; nothing else changes (帐 stays 帐)."""
    text = "" if name is None else str(name)
    text = text.replace("\ufeff", "").strip(" \t\r\n\u3000")
    text = text.strip('"').strip(" \t\u3000")
    return text.translate(FULL_WIDTH)


def clean_cell(value: object) -> str | None:
    """PLATFORM_EXPORTS.md §4 steps 1–4: guards, TAB prefixes, one pair of quotes; empty
    becomes None. Null markers (`-`, `null`) are left to the typed columns."""
    if value is None:
        return None
    text = str(value)
    stripped = text.strip(" \t\r\n\u3000")
    if stripped.startswith('="') and stripped.endswith('"'):
        stripped = stripped[2:-1]
    elif stripped.startswith("'") and GUARDED_DIGITS.fullmatch(stripped[1:] or "x"):
        stripped = stripped[1:]
    stripped = stripped.strip(" \t\r\n\u3000")
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        stripped = stripped[1:-1].strip(" \t")
    return stripped or None


def sniff_type(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "text"


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text and its encoding: a BOM decides; otherwise the first encoding that decodes
    the whole file strictly and yields no NUL (BOM-less UTF-16 "passes" as UTF-8)."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16"), "utf-16"
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text, encoding
    raise CustlensError(f"{path}: not UTF-8, GB18030 or UTF-16 text",
                        hint="save the export as CSV (UTF-8) or XLSX, or give --encoding")


def _delimiter(header_line: str) -> str:
    """From the header row only: TAB when Excel re-saved it, else the commoner of , and ;."""
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _text_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Rows with the line number each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    start = 1
    for row in reader:
        out.append((start, row))
        start = reader.line_num + 1
    return out


def _xlsx_rows(path: Path, sheet: str | None) -> list[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise CustlensError(f"{path}: cannot open as XLSX: {exc}") from exc
    ws = book[sheet] if sheet else book.worksheets[0]
    rows = [(n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), start=1)]
    book.close()
    return rows


def _xlsx_cell(value: object) -> str | None:
    """Numbers as the digits they show: integers without `.0` (ids, §5)."""
    import datetime as dt

    if isinstance(value, float) and abs(value) >= 1e15:
        return f"{value:.15E}"  # past 15 significant digits a float is not exact: shown as such
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return clean_cell(value)


def read_sheet(path: Path, score_header, encoding: str | None = None,
               sheet: str | None = None) -> Sheet:
    """Read the export; the header is the row among the first ten that `score_header`
    (keys → how well they match a known layout) rates highest, row 1 on a tie."""
    with open(path, "rb") as fh:
        data = fh.read()
    kind = sniff_type(data[:8])
    if kind == "xls":
        raise CustlensError(f"{path}: a legacy Excel .xls file",
                            hint="open it and save as .xlsx or CSV (UTF-8), then import that")
    if kind == "xlsx":
        raw = [(n, [_xlsx_cell(v) for v in cells]) for n, cells in _xlsx_rows(path, sheet)]
        enc, delim = None, None
    else:
        if encoding:
            try:
                text, enc = data.decode(encoding), encoding
            except (UnicodeDecodeError, LookupError) as exc:
                raise CustlensError(f"{path}: cannot decode as {encoding}: {exc}") from exc
        else:
            text, enc = decode(data, path)
        first = text.lstrip("\ufeff").split("\n", 1)[0]
        delim = _delimiter(first)
        raw = [(n, [clean_cell(c) for c in cells]) for n, cells in _text_rows(text.lstrip("\ufeff"), delim)]
    raw = [(n, cells) for n, cells in raw if any(c not in (None, "") for c in cells)]
    if not raw:
        raise CustlensError(f"{path}: the file is empty")
    candidates = raw[:MAX_HEADER_SCAN]
    scores = [score_header([header_key(c) for c in cells]) for _, cells in candidates]
    pick = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    header_line, header_cells = candidates[pick]
    header = ["" if c is None else str(c) for c in header_cells]
    keys = [header_key(h) for h in header]
    rows = raw[pick + 1:]
    # trailing columns with an empty header that are empty throughout (old 宝贝报表's comma)
    while keys and keys[-1] == "" and all(len(c) < len(keys) or c[len(keys) - 1] in (None, "")
                                         for _, c in rows):
        keys.pop()
        header.pop()
    seen: dict[str, str] = {}
    for original, key in zip(header, keys, strict=True):
        if key and key in seen:
            raise CustlensError(f"{path}: two columns read as {key!r}: {seen[key]!r} and {original!r}",
                                hint="rename one of them, then import again")
        seen[key] = original
    width = len(keys)
    rows = [(n, (cells + [None] * width)[:width] if len(cells) <= width else cells)
            for n, cells in rows]
    return Sheet(path, "xlsx" if kind == "xlsx" else "csv", enc, delim, header, keys, rows,
                 header_line)
