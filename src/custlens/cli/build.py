"""`custlens build`: the warehouse brought up to date (and, for the daily job, alerts)."""

from __future__ import annotations

from typing import Annotated

import typer

from custlens import console
from custlens.cli.app import app
from custlens.cli.common import (
    STATE,
    AsOfOpt,
    SinceOpt,
    parse_date,
)
from custlens.cli.monitor import send


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
        send(ws, ws.monitor())
