"""One stderr console for progress, logs and warnings, so stdout carries only data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

err = Console(stderr=True, highlight=False)


def info(message: str) -> None:
    """A line on stderr; the message is text (a customer name like `[red]x` stays as is)."""
    err.print(f"[dim]·[/dim] {escape(message)}")


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(message)}")


def error(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}")


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Progress]:
    """A progress bar on stderr; silent when CUSTLENS_QUIET is set (tests, scripts)."""
    quiet = bool(os.environ.get("CUSTLENS_QUIET"))
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True, disable=quiet) as bar:
        bar.add_task(description, total=total)  # TaskID(0): the one task callers update
        yield bar
