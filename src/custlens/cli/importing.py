"""`custlens import …`: the public datasets' presets, the shops' platform exports, the generic tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custlens import console
from custlens.cli.common import (
    STATE,
    MapOpt,
    TimeFormatOpt,
    TzOpt,
    ValueOpt,
    mapping,
    report_imports,
)
from custlens.collect.exports import PRESETS as EXPORT_PRESETS
from custlens.collect.exports.layouts import LAYOUTS
from custlens.collect.mapping import fields_help, parse_pairs, parse_values
from custlens.workspace import GENERIC

__all__ = ["import_app"]

import_app = typer.Typer(help="Import a file into the lake as one idempotent batch.", no_args_is_help=True)

# the flags only importers take (--map, --value, --tz, --time-format: cli.common)
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="utf-8, gb18030 … (default: detected)")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name")]


@import_app.command("taobao")
def import_taobao(file: Path) -> None:
    """Tianchi UserBehavior CSV (user,item,category,behavior,timestamp); an order is a buy."""
    report_imports(STATE.workspace().import_file("taobao", file))


@import_app.command("online-retail")
def import_online_retail(file: Path) -> None:
    """UCI Online Retail (CSV or XLSX); C invoices are returns; Europe/London, GBP."""
    report_imports(STATE.workspace().import_file("online-retail", file))


@import_app.command("cdnow")
def import_cdnow(file: Path) -> None:
    """CDNOW purchases (Fader & Hardie's sample or master text file); one order per row, USD."""
    report_imports(STATE.workspace().import_file("cdnow", file))


def _export_command(preset: str | None):
    def command(
        files: Annotated[list[Path], typer.Argument(help="the export file(s)")],
        value: Annotated[str | None, typer.Option("--value", help="status=RAW:paid|refunded|cancelled|pending,… (overrides the preset)")] = None,
        amount_grain: Annotated[str | None, typer.Option("--amount-grain", help="order or line: whether a per-line file's amount is per order (taken once) or per line (summed)")] = None,
        map: MapOpt = None,
        encoding: EncodingOpt = None,
        sheet: SheetOpt = None,
    ) -> None:
        ws = STATE.workspace()
        for file in files:
            found, converted, results = ws.import_export(
                file, preset, values=parse_values(value), amount_grain=amount_grain,
                mapped=dict(parse_pairs(map, "--map")), encoding=encoding, sheet=sheet)
            console.info(f"recognised {found.summary}")
            for note in found.layout.notes:
                console.info(f"{found.layout.name} assumes: {note}")
            for warning in converted.warnings:
                console.warn(warning)
            if converted.buyerless:
                console.warn(f"{converted.buyerless:,} orders have no buyer: "
                             + (found.layout.buyer_note or "customer-level analyses cannot see them"))
            report_imports(results)

    what = "one of the presets below, detected from its header" if preset is None else \
        " / ".join(dict.fromkeys(layout.label for layout in LAYOUTS if layout.name == preset))
    command.__doc__ = (f"A seller back-end export ({what}): orders, lines and refunds with the "
                       "platform's own status words; idempotent.")
    return command


import_app.command("auto")(_export_command(None))


def _generic(kind: str):
    def command(
        file: Path,
        map: MapOpt = None,
        value: ValueOpt = None,
        tz: TzOpt = None,
        encoding: EncodingOpt = None,
        sep: Annotated[str | None, typer.Option("--sep", help="CSV separator (default: detected)")] = None,
        time_format: TimeFormatOpt = None,
        sheet: SheetOpt = None,
        set_: Annotated[str | None, typer.Option("--set", help="field=VALUE,… a constant for a column the file lacks (e.g. qty=1)")] = None,
    ) -> None:
        ws = STATE.workspace()
        opts = {**mapping(map, value), "constants": dict(parse_pairs(set_, "--set")),
                "encoding": encoding, "sep": sep, "time_format": time_format, "sheet": sheet}
        if tz:
            opts["tz"] = tz
        report_imports(ws.import_file(kind, file, **opts))

    command.__doc__ = (f"Import {kind} from CSV (any separator), XLSX, Parquet or JSON lines.\n\n"
                       + fields_help(kind.replace("-", "_")))
    return command


for _kind in GENERIC:
    import_app.command(_kind)(_generic(_kind))
for _preset in EXPORT_PRESETS:
    import_app.command(_preset)(_export_command(_preset))
