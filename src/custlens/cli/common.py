"""What every CLI module shares: the global options' state and the common flags."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, overload

import typer

from custlens import console
from custlens.collect.mapping import parse_pairs, parse_values
from custlens.errors import CustlensError
from custlens.masking import mask_value
from custlens.output import Format
from custlens.workspace import Workspace


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
# the flags every loader shares (import, collect, consume, sync --as, actions record), declared once
MapOpt = Annotated[str | None, typer.Option("--map", help="field=column,… (canonical field = your column or key)")]
ValueOpt = Annotated[str | None, typer.Option("--value", help="field=raw:canonical,… e.g. status=交易成功:paid")]
TzOpt = Annotated[str | None, typer.Option("--tz", help="time zone of local times in the input (default: the shop's)")]
TimeFormatOpt = Annotated[str | None, typer.Option("--time-format", help="epoch, epoch_ms or a strptime format")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="only orders on or after this date count (default: all history)")]


@overload
def parse_date(text: str, flag: str) -> dt.date: ...
@overload
def parse_date(text: None, flag: str) -> None: ...
@overload
def parse_date(text: str | None, flag: str) -> dt.date | None: ...
def parse_date(text: str | None, flag: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CustlensError(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from exc


def mapping(map: str | None, value: str | None) -> dict[str, Any]:
    """--map and --value parsed: the options every loader takes."""
    return {"map": dict(parse_pairs(map, "--map")), "values": parse_values(value)}


def report_imports(results: list) -> None:
    """One line per imported file on stderr; the first rejections with file:line and field."""
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


def audit_export(ws: Workspace, what: str, table: object, fmt: object) -> None:
    """A CLI output with personal data unmasked goes to the audit log too, as the web app's
    do: by the operating-system user, customers as keyed hashes."""
    import pyarrow as pa

    from custlens.serve.auth import Audit, User

    assert isinstance(table, pa.Table)
    ids = table.column("user_id").to_pylist() if "user_id" in table.column_names else None
    Audit(ws.lake).record(User(_cli_user(), "cli"), what, table.num_rows,
                          getattr(fmt, "value", str(fmt)), subjects=ids, address="local")


def audit_account(ws: Workspace, event: str, what: str) -> None:
    """`users add/remove` from the CLI, in the audit log beside the web app's changes."""
    from custlens.serve.auth import Audit

    Audit(ws.lake).event(event, _cli_user(), "local", what)


def _cli_user() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"
