"""Run history (ops_runs): one JSON line per run, appended after the run ends."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from custlens.lake import Lake


@dataclass
class Run:
    run_id: str
    command: str
    started: str
    ended: str | None = None
    seconds: float | None = None
    status: str = "running"
    rows_in: int = 0
    rows_out: int = 0
    quarantined: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@contextmanager
def recorded_run(lake: Lake, command: str) -> Iterator[Run]:
    run = Run(uuid.uuid4().hex[:12], command, _now())
    t0 = time.perf_counter()
    try:
        yield run
        run.status = "ok"
    except BaseException as exc:
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        run.ended = _now()
        run.seconds = round(time.perf_counter() - t0, 3)
        path = lake.ops("runs.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(run), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def runs(lake: Lake) -> list[dict[str, Any]]:
    path = lake.ops("runs.jsonl")
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-append
    return out
