"""Shared fixtures: the public samples in ../shared/data and a small generated shop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custlens import Workspace
from custlens.collect.generate import ShopSpec

os.environ.setdefault("CUSTLENS_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.exists():
        pytest.fail(f"the shared samples are missing: expected {DATA} (../shared/data)")
    return DATA


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--engines", choices=("duckdb", "spark", "both"), default="duckdb",
                     help="the engines a test that takes `ws` (or `engine_name`) runs on: "
                          "`--engines both` runs each such test on DuckDB and on Spark")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine_gap(engine, reason): a known gap of that engine "
                                       "(a strict xfail there: fixing the gap fails the test)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The one fixture through which any behaviour test can be asked to run on both engines."""
    if "engine_name" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("--engines")
    engines = ["duckdb", "spark"] if chosen == "both" else [chosen]
    gaps = {m.args[0]: m.kwargs.get("reason", "") for m in metafunc.definition.iter_markers("engine_gap")}
    metafunc.parametrize("engine_name", [
        pytest.param(e, marks=[pytest.mark.xfail(strict=True, reason=gaps[e])] if e in gaps else [])
        for e in engines], ids=engines if len(engines) > 1 else None)


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine_name: str) -> Workspace:
    """An empty workspace in a temporary folder, with no config from the environment, on
    the engine the run asks for (DuckDB unless `--engines spark|both`)."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("CUSTLENS_") and key != "CUSTLENS_QUIET":
            monkeypatch.delenv(key)
    # DuckDB is the default: a test's own config may still name another engine
    w = Workspace(lake=tmp_path / "lake", engine=None if engine_name == "duckdb" else engine_name)
    yield w
    w.close()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A generated shop (3,000 customers, a whole year), built once per session."""
    root = tmp_path_factory.mktemp("shop")
    w = Workspace(lake=root / "lake")
    w.generate(ShopSpec(users=3_000, days=365, seed=11))
    w.build()
    yield w
    w.close()


# The longest files, started first: make test runs on two workers (pytest-xdist, --dist
# loadfile: a file's tests stay on one worker, so its module fixtures — a built shop, a
# broker, a Spark session — are made once), and a long file started last would leave one
# worker idle at the end. Measured: the Spark parity suite ~12 min, the bus ~5 min.
LONG_FIRST = ("tests/engine/test_engines.py", "tests/bus/test_bus.py",
              "tests/warehouse/test_incremental_builds.py", "tests/analysis/test_monitor_planted.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable
