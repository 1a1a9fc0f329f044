"""The `custlens` command, one module per command group; the modules parse and present.

Import order is registration order: `app` first, then each group adds its commands."""

from __future__ import annotations

import os
import sys

from custlens import console
from custlens.cli import (  # noqa: F401  (each registers its commands on app)
    actions,
    analyses,
    build,
    collecting,
    demo,
    lake,
    monitor,
    segments,
    serving,
    warehouse,
)
from custlens.cli.app import app
from custlens.cli.importing import import_app
from custlens.errors import CustlensError

app.add_typer(import_app, name="import")
app.add_typer(actions.actions_app, name="actions")
app.add_typer(warehouse.warehouse_app, name="warehouse")
app.command("monitor")(monitor.monitor)
app.command("segment")(segments.segment)

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except CustlensError as exc:
        console.error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        os._exit(0)
