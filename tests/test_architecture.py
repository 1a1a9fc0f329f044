"""The packages follow the data flow: every import, at module level or inside a function,
points from a later layer to an earlier one (or within its own), and no module reaches
itself through others. Lazy imports count: they hide a cycle, they do not remove it.
The layers are listed below, earliest first; README "What is where" draws the same.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "custlens"

# Each entry is a layer: the top-level modules and packages of custlens in it. A unit may
# import from its own layer and the ones above it, never from one below.
LAYERS: list[set[str]] = [
    {"errors"},
    {"config", "schema", "i18n", "console", "sqltext"},  # foundation
    {"lake", "lock", "masking"},
    {"runs"},
    {"output", "plots"},  # what people read: cells, files, charts
    {"analysis"},  # maths, no I/O
    {"engine"},
    {"collect"},
    {"bus"},
    {"warehouse"},
    {"act"},
    {"store"},  # the profile store
    {"forget", "views"},  # views: each analysis defined once
    {"workspace"},
    {"serve"},
    {"cli"},  # a package: one module per command group
]
RANK = {unit: n for n, layer in enumerate(LAYERS) for unit in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(("custlens", *parts)).removesuffix(".__init__")


def _imports() -> dict[str, set[str]]:
    """Every custlens module and the custlens modules it imports anywhere in its code."""
    modules = {_module_name(p) for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        me = _module_name(path)
        package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        graph[me] = {m for m in found if m in modules and m != me and m != "custlens"}
    return graph


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_every_unit_has_a_layer():
    units = {_unit(m) for m in _imports()} - {"custlens"}
    assert units <= set(RANK), f"place these in LAYERS: {sorted(units - set(RANK))}"


def test_no_arrow_points_back_up_the_flow():
    backwards = sorted(
        f"{a} imports {b}" for a, targets in _imports().items() if a != "custlens"
        for b in targets if RANK[_unit(b)] > RANK[_unit(a)])
    assert not backwards, "\n".join(backwards)


def test_no_import_cycle():
    graph = _imports()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


def test_the_checks_see_a_planted_cycle_and_a_backward_arrow(tmp_path, monkeypatch):
    """The walk finds imports inside functions too: a lazy import of the CLI from the
    lake is both a backward arrow and (the CLI imports the lake) a cycle."""
    import shutil

    copy = tmp_path / "custlens"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("web", "__pycache__"))
    lake = copy / "lake.py"
    lake.write_text(lake.read_text(encoding="utf-8")
                    + "\n\ndef _planted():\n    from custlens import cli  # noqa\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SRC", copy)
    graph = _imports()
    assert "custlens.cli" in graph["custlens.lake"]
    try:
        test_no_arrow_points_back_up_the_flow()
    except AssertionError as exc:
        assert "custlens.lake imports custlens.cli" in str(exc)
    else:
        raise AssertionError("the backward arrow went unseen")
    try:
        test_no_import_cycle()
    except AssertionError as exc:
        assert "custlens.lake" in str(exc)
    else:
        raise AssertionError("the cycle went unseen")
