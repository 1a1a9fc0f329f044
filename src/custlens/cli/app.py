"""The root `custlens` command and its global options (DESIGN.md Conventions: global options
go before the command). Every command module registers itself on `app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custlens import output
from custlens.cli.common import STATE

app = typer.Typer(help="custlens — e-commerce customer data analysis (电商客户数据分析系统)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


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
