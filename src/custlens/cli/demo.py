"""`custlens demo`: a generated shop from nothing to segments, periods, actions and a report."""

from __future__ import annotations

from typing import Annotated

import typer

from custlens import console
from custlens.cli.actions import plan_cmd
from custlens.cli.analyses import periods
from custlens.cli.app import app
from custlens.cli.common import STATE
from custlens.cli.segments import segment
from custlens.cli.serving import report
from custlens.collect.generate import ShopSpec
from custlens.output import Format


@app.command()
def demo(
    users: Annotated[int, typer.Option(help="customers in the demo shop")] = 20_000,
    days: Annotated[int, typer.Option(help="days (a whole year shows every campaign)")] = 365,
) -> None:
    """Generate a shop, load it, build the warehouse, print segments, classes and periods,
    plan this period's actions and write the HTML report into the lake folder."""
    ws = STATE.workspace()
    if not ws.lake.batches("events"):
        with console.progress(f"generating a demo shop: {users:,} customers × {days} days"):
            ws.generate(ShopSpec(users=users, days=days))
    else:
        console.info(f"{ws.lake.root} already holds data; building and segmenting it")
    with console.progress("building the warehouse"):
        ws.build()
    segment(as_of=None, since=None, mode=None, k=None, view="segments", chart=None,
            fmt=Format.table, out=None)
    periods(as_of=None, view="kinds", chart=None, fmt=Format.table, out=None)
    plan_cmd(as_of=None, replace=True, fmt=Format.table, out=None)
    report(out=ws.lake.root / "report.html")
    console.info("next: custlens actions list latest --format xlsx --out lists.xlsx; custlens periods, custlens funnel, custlens repurchase, custlens channels, "
                 "custlens retention (the analyses); custlens segment --mode rules, "
                 "custlens sql \"SELECT segment, count(*) FROM ads_rfm GROUP BY ALL\", "
                 "custlens export rfm --format xlsx --out rfm.xlsx; custlens monitor --all "
                 "(yesterday against that kind of day); custlens report --period month "
                 "--out month.html (the operations report); custlens serve (the dashboard)")
