"""One writer at a time per lake (imports, builds); readers never wait."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from custlens.errors import CustlensError


@contextmanager
def writer_lock(lake_root: Path, wait: bool = True) -> Iterator[None]:
    path = lake_root / "_ops" / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise CustlensError(f"another custlens process is writing to {lake_root}") from exc
        yield
    finally:
        os.close(fd)
