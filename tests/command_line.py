"""custlens as a user types it, run in this process: `main()` with its argv, in a folder,
stdout and stderr kept apart. A cold process per command cost about two seconds and proves
nothing more; the tests that need a real process (a clean stdout, a server, a kill) spawn one."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from custlens.cli import main


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def custlens(cwd: Path | str, *args: str, check: bool = True, env: dict[str, str] | None = None) -> Ran:
    """Run one command; with `check`, fail with its stderr unless it exits 0. The caller's
    CUSTLENS_* settings are hidden, as a fresh shell would have none."""
    hidden: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CUSTLENS_")}
    argv, code = sys.argv, 0
    with contextlib.chdir(cwd), CliRunner().isolation(env={**hidden, "CUSTLENS_QUIET": "1", **(env or {})}) as (
            out, err, _):
        sys.argv = ["custlens", *map(str, args)]
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = argv
            sys.stdout.flush()  # the text wrappers hold what was written until flushed
            sys.stderr.flush()
        ran = Ran(code, out.getvalue().decode(), err.getvalue().decode())
    if check:
        assert ran.returncode == 0, ran.stderr
    return ran
