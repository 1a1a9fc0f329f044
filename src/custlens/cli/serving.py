"""The web app and its accounts, and the HTML/XLSX reports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli.app import app
from custlens.cli.common import (
    STATE,
    FormatOpt,
    OutOpt,
    audit_account,
    parse_date,
)
from custlens.output import Format

users_app = typer.Typer(help="Accounts of the web app (custlens serve).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(name: str, role: Annotated[str, typer.Option("--role", help="admin, analyst or operator")],
              reset: Annotated[bool, typer.Option("--reset", help="give an existing user a new "
                                                  "role or password (ends their sessions)")] = False) -> None:
    """Add a user (--reset: change one); the password comes from a prompt, or
    CUSTLENS_PASSWORD for scripts."""
    from custlens.serve.auth import Accounts

    password = os.environ.get("CUSTLENS_PASSWORD") or typer.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True)
    ws = STATE.workspace()
    user = Accounts(ws.lake).add(name, role, password, replace=reset)
    audit_account(ws, "user_reset" if reset else "user_added", f"{user.name} ({user.role})")
    console.info(f"user {user.name} ({user.role}) saved")


@users_app.command("list")
def users_list(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """The web app's users and their roles."""
    from custlens.serve.auth import Accounts

    ws = STATE.workspace()
    rows = Accounts(ws.lake).list()
    table = pa.Table.from_pylist(rows) if rows else pa.table({"name": pa.array([], pa.string())})
    output.write(table, fmt, out, ws.settings.lang)


@users_app.command("remove")
def users_remove(name: str) -> None:
    """Remove a user (their open sessions end with their next request)."""
    from custlens.serve.auth import Accounts

    ws = STATE.workspace()
    Accounts(ws.lake).remove(name)
    audit_account(ws, "user_removed", name)
    console.info(f"user {name} removed")


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """The web dashboard and JSON API (OpenAPI docs at /docs); builds what is stale first."""
    import uvicorn

    from custlens.serve.api import create_app

    ws = STATE.workspace()
    app_ = create_app(ws)
    console.info(f"custlens on http://{host}:{port}/ (API docs /docs); add users with "
                 "custlens users add NAME --role admin|analyst|operator")
    proxies = [str(p) for p in ws.settings.get("serve.trusted_proxies")]
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only from the
    # configured proxies (none: the connection's own address, always)
    uvicorn.run(app_, host=host, port=port, log_level="warning", proxy_headers=bool(proxies),
                forwarded_allow_ips=",".join(proxies) if proxies else None)


@app.command()
def report(out: Annotated[Path, typer.Option("--out", "-o", help="the file to write (.html; .xlsx with --period)")],
           period: Annotated[str | None, typer.Option("--period", help="week or month: the operations report")] = None,
           date: Annotated[str | None, typer.Option("--date", help="a day inside the period (default: the last complete one)")] = None) -> None:
    """One self-contained HTML page: segments, classes, periods, funnel, repurchase, channels,
    CLV and this period's action lists (works offline; --lang en for English).

    With --period week|month, the operations report (运营周报/月报): what changed and why,
    how segments moved, what campaigns and actions achieved, what to do next."""
    ws = STATE.workspace()
    if period:
        from custlens.serve import ops_report

        with console.progress(f"operations report ({period})"):
            made = ops_report.build(ws, period, parse_date(date, "--date"))
        ops_report.write(made, out)
        console.info(f"wrote {out}: {ops_report.title(made)} ({out.stat().st_size // 1024:,} KB)")
        return
    from custlens.serve.report import render

    out.write_text(render(ws, ws.settings.lang), encoding="utf-8")
    console.info(f"wrote {out} ({out.stat().st_size // 1024:,} KB)")
