"""Every built table as sorted rows, and the comparison with a forced full rebuild
(exact, doubles within 1e-12 relative), shared by the incremental and lake-format tests."""

from __future__ import annotations

import math

from custlens import Workspace


def snapshot(ws: Workspace) -> dict[str, list[tuple]]:
    out = {}
    for table in ws.lake.built_tables():
        rows = ws.engine.query(f"SELECT * FROM {table}").to_pylist()  # as published
        out[table] = sorted((tuple(r.values()) for r in rows), key=repr)
    return out


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=0)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def assert_equal_to_forced(ws: Workspace) -> None:
    incremental = snapshot(ws)
    ws.build(force=True)
    forced = snapshot(ws)
    assert incremental.keys() == forced.keys()
    for table in forced:
        a, b = incremental[table], forced[table]
        assert len(a) == len(b), f"{table}: {len(a)} rows incremental, {len(b)} forced"
        bad = [(x, y) for x, y in zip(a, b, strict=True) if not same(x, y)]
        assert not bad, f"{table}: {len(bad)} rows differ, first {bad[0]}"
