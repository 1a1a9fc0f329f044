"""Open a source file as a DuckDB view `src`: every column as text, plus `_line`.

`_line` is the line number a person would look up (header = line 1 for CSV and XLSX,
the first line for JSON lines). CSV lines DuckDB cannot split are reported with their
own line numbers; the good lines keep theirs.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from custlens.errors import CustlensError
from custlens.sqltext import ident, literal

CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}


@dataclass
class Source:
    """What was opened: its columns and the records that could not even be split."""

    columns: list[str]
    broken: list[dict] = field(default_factory=list)  # {_line, reason, raw}
    csv: bool = False  # CSV: split errors are only known after a scan
    types: dict[str, str] = field(default_factory=dict)  # typed sources (Parquet)
    offsets: bool = False  # `src` has `_offset`, each record's byte offset in its file
    raw: bool = False  # `src` has `_raw`, each record's line as received
    numbered: bool = True  # `src`'s `_line` is set on every record (see readers.unnumber)
    absent: frozenset[str] = frozenset()  # marks no cell can hold (see readers.census)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when it decodes, else GB18030 (a superset of GBK)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _transcode(path: Path, encoding: str, dest: Path) -> Path:
    """Re-encode to UTF-8 in chunks; undecodable bytes become U+FFFD and are rejected later."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise CustlensError(f"unknown encoding {encoding!r}") from exc
    with open(path, encoding=encoding, errors="replace", newline="") as src, \
            open(dest, "w", encoding="utf-8", newline="") as out:
        while chunk := src.read(1 << 22):
            out.write(chunk)
    return dest


def open_source(
    con: duckdb.DuckDBPyConnection, path: Path, staging: Path, *,
    encoding: str | None = None, sep: str | None = None, header: bool = True,
    names: list[str] | None = None, sheet: str | None = None,
) -> Source:
    if not path.exists():
        raise CustlensError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _open_xlsx(con, path, sheet)
    if suffix == ".parquet":
        return _open_parquet(con, path)
    if suffix in JSON_SUFFIXES:
        return _open_jsonl(con, path, encoding)
    if suffix in CSV_SUFFIXES or suffix == "":
        return _open_csv(con, path, staging, encoding, sep, header, names)
    raise CustlensError(
        f"{path}: unknown file type {suffix!r}",
        hint="custlens reads CSV (.csv/.tsv/.txt), XLSX, Parquet and JSON lines (.jsonl)",
    )


def _open_csv(con, path, staging, encoding, sep, header, names) -> Source:
    encoding = (encoding or detect_encoding(path)).lower().replace("_", "-")
    if encoding not in {"utf-8", "utf8", "utf-8-sig"}:
        path = _transcode(path, encoding, staging / "source-utf8.csv")
    opts = ["all_varchar = true", f"header = {str(header).lower()}", "store_rejects = true",
            "rejects_table = 'src_rejects'", "rejects_scan = 'src_reject_scans'"]
    if sep:
        opts.append(f"delim = '{sep}'")
    if names:
        opts.append("names = [" + ", ".join(f"'{n}'" for n in names) + "]")
    reader = f"read_csv('{path}', {', '.join(opts)})"
    first = 2 if header else 1
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW src_scan AS SELECT * FROM {reader} LIMIT 0")
        columns = [r[0] for r in con.execute("DESCRIBE src_scan").fetchall()]
    except duckdb.Error as exc:
        raise CustlensError(f"{path}: cannot read as CSV: {exc}") from exc
    numbered = f"SELECT row_number() OVER () + {first - 1} AS _rn, * FROM {reader}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW src_numbered AS {numbered}")
    con.execute("CREATE OR REPLACE TEMP VIEW src_lines AS SELECT *, _rn AS _line FROM src_numbered")
    con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM src_lines")
    con.execute(f"CREATE OR REPLACE TEMP VIEW src_unnumbered AS "
                f"SELECT *, CAST(NULL AS BIGINT) AS _line FROM {reader}")
    return Source([c for c in columns if c not in {"_rn", "_line"}], [], csv=True,
                  absent=census(path, skip=1 if header else 0, sep=sep or ","))


# What the importer's per-cell cleaning looks for (mapping.Mapping), by the bytes that
# any such cell must contain. A CSV cell with padding, an Excel guard or a line break is
# quoted or holds a space, TAB, CR, U+3000 or a quote; a text id written as a float holds
# a dot; undecodable text holds U+FFFD (the transcoder's replacement).
MARKS: dict[str, tuple[bytes, ...]] = {
    "edges": (b'"', b"'", b" ", b"\t", b"\r", "\u3000".encode()),
    "dot": (b".",),
    "bad_text": ("\ufffd".encode(),),
}


def census(path: Path, skip: int = 0, sep: str = ",") -> frozenset[str]:
    """The marks (MARKS) no byte of the file's records holds: cleaning they would trigger
    is the identity on every cell, so the importer leaves it out (it cost half the import
    of a plain numeric file such as Taobao's). One read at memchr speed (a lead byte is
    looked for before the sequence it starts); the header is skipped, the delimiter is
    not content. Any mark found keeps that cleaning for the whole file."""
    wanted = {name: [m for m in marks if m.decode() != sep] for name, marks in MARKS.items()}
    found: set[str] = set()
    tail = b""
    with open(path, "rb") as fh:
        for _ in range(skip):
            fh.readline()
        while (chunk := fh.read(1 << 24)) and len(found) < len(wanted):
            window = tail + chunk if tail else chunk
            for name, marks in wanted.items():
                if name not in found and any(m[:1] in window and m in window for m in marks):
                    found.add(name)
            tail = chunk[-3:]
    return frozenset(wanted) - found


def unnumber(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Read a CSV without numbering its lines: numbering serialises the whole write (it
    doubled the import), and a caller whose good rows need no line (events whose id is a
    hash of their content: copies are equal) asks `recover_lines` for the rejected ones."""
    con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM src_unnumbered")
    con.execute("SET preserve_insertion_order = false")  # the writer may reorder freely
    source.numbered = False


def recover_lines(con: duckdb.DuckDBPyConnection, source: Source, rejected: pa.Table) -> pa.Table:
    """The line numbers of rejected records read unnumbered, found by their content.

    Identical records share their lines in file order. One scan of the file, only when
    something was rejected."""
    if source.numbered or not rejected.num_rows:
        return rejected
    con.execute("SET preserve_insertion_order = true")  # row_number() counts in file order
    con.register("src_rejected", rejected.append_column(
        "_k", pa.array(range(rejected.num_rows), pa.int64())))
    cols = source.columns
    extracted = ", ".join(f"json_extract_string(raw, {literal('$.' + json.dumps(c))}) AS {ident(c)}"
                          for c in cols)
    match = " AND ".join(f"s.{ident(c)} IS NOT DISTINCT FROM b.{ident(c)}" for c in cols)
    lines = con.execute(f"""
        WITH bad AS (SELECT _k, raw, {extracted},
                            row_number() OVER (PARTITION BY raw ORDER BY _k) AS nth FROM src_rejected
                     WHERE _line IS NULL),
             wanted AS (SELECT DISTINCT * EXCLUDE (_k, nth) FROM bad),
             hits AS (SELECT b.raw, s._line FROM src_lines s JOIN wanted b ON {match}),
             ranked AS (SELECT raw, _line, row_number() OVER (PARTITION BY raw ORDER BY _line) AS nth
                        FROM hits)
        SELECT bad._k, ranked._line FROM bad JOIN ranked USING (raw, nth)""").fetchall()
    con.unregister("src_rejected")
    found = dict(lines)
    current = rejected.column("_line").to_pylist()
    numbered = [found.get(k, line) for k, line in enumerate(current)]
    index = rejected.schema.get_field_index("_line")
    return rejected.set_column(index, "_line", pa.array(numbered, pa.int64()))


def csv_rejects(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Lines the last CSV scan could not split (known only after a scan)."""
    try:
        rows = con.execute(
            "SELECT line, min(error_message), min(csv_line) FROM src_rejects "
            "GROUP BY line ORDER BY line").fetchall()
    except duckdb.Error:
        return []
    return [{"_line": int(line), "reason": f"cannot split the line: {err}", "raw": raw}
            for line, err, raw in rows]


def renumber_after_rejects(con: duckdb.DuckDBPyConnection, broken: list[dict]) -> None:
    """Good row k lies after every rejected line before it: shift its number by those."""
    con.register("src_bad_lines", pa.table({"bad_line": [b["_line"] for b in broken]}))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE src_gaps AS SELECT good_before, max(skipped) AS skipped "
        "FROM (SELECT bad_line - row_number() OVER (ORDER BY bad_line) AS good_before, "
        "row_number() OVER (ORDER BY bad_line) AS skipped FROM src_bad_lines) GROUP BY 1")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW src_lines AS SELECT s.*, s._rn + COALESCE(g.skipped, 0) AS _line "
        "FROM src_numbered s ASOF LEFT JOIN src_gaps g ON s._rn > g.good_before")


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_xlsx(con, path: Path, sheet: str | None) -> Source:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise CustlensError(f"{path}: cannot open as XLSX: {exc}") from exc
    ws = book[sheet] if sheet else book.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else f"column{i + 1}" for i, h in enumerate(next(rows, []))]
    cols: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    for n, row in enumerate(rows, start=2):
        if all(v is None for v in row):
            continue
        lines.append(n)
        for i in range(len(header)):
            cols[i].append(_cell(row[i]) if i < len(row) else None)
    book.close()
    table = pa.table({"_line": pa.array(lines, pa.int64()),
                      **{h: pa.array(c, pa.string()) for h, c in zip(header, cols, strict=True)}})
    con.register("src_arrow", table)
    con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM src_arrow")
    return Source(header)


def _open_parquet(con, path: Path) -> Source:
    con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT file_row_number + 1 AS _line, "
                f"* EXCLUDE (file_row_number) FROM read_parquet('{path}', file_row_number = true)")
    described = [(r[0], r[1]) for r in con.execute("DESCRIBE src").fetchall() if r[0] != "_line"]
    return Source([c for c, _ in described], types=dict(described))


def flatten(obj: dict, prefix: str = "") -> dict[str, object]:
    """Nested objects as dotted keys: {"log": {"offset": 7}} → {"log.offset": 7}."""
    out: dict[str, object] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _open_jsonl(con, path: Path, encoding: str | None) -> Source:
    records: list[dict[str, object]] = []
    broken: list[dict] = []
    with open(path, encoding=encoding or "utf-8-sig", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                broken.append({"_line": n, "reason": f"not valid JSON: {exc.msg}", "raw": line.rstrip("\n")})
                continue
            if not isinstance(obj, dict):
                broken.append({"_line": n, "reason": "not a JSON object", "raw": line.rstrip("\n")})
                continue
            flat = flatten(obj)
            flat["_line"] = n
            records.append(flat)
    return records_source(con, records, broken)


META_COLUMNS = ("_line", "_offset", "_raw")


def records_source(con: duckdb.DuckDBPyConnection, records: list[dict[str, object]],
                   broken: list[dict], ensure: tuple[str, ...] = ()) -> Source:
    """Register parsed records (flat dicts with `_line`, maybe `_offset`) as the view `src`.

    `ensure` names columns that exist even when no record has them (all NULL then), so a
    chunk of records without a required field is quarantined field by field, not refused.
    """
    columns = list(dict.fromkeys(k for r in records for k in r if k not in META_COLUMNS))
    columns += [c for c in ensure if c not in columns]
    offsets = any("_offset" in r for r in records[:1]) or any("_offset" in b for b in broken[:1])
    data = {"_line": pa.array([r["_line"] for r in records], pa.int64())}
    if offsets:
        data["_offset"] = pa.array([r.get("_offset") for r in records], pa.int64())
    raw = bool(records) and "_raw" in records[0]
    if raw:
        data["_raw"] = pa.array([r.get("_raw") for r in records], pa.string())
    for c in columns:
        data[c] = pa.array([_cell(r.get(c)) if not isinstance(r.get(c), list | dict)
                            else json.dumps(r.get(c), ensure_ascii=False) for r in records], pa.string())
    con.register("src_arrow", pa.table(data))
    con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM src_arrow")
    return Source(columns, broken, offsets=offsets, raw=raw)
