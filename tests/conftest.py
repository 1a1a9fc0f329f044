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


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """An empty workspace in a temporary folder, with no config from the environment."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("CUSTLENS_") and key != "CUSTLENS_QUIET":
            monkeypatch.delenv(key)
    w = Workspace(lake=tmp_path / "lake")
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


# Files that use the same server-side table (the PostgreSQL profile store's) run on one worker.
SHARED_SERVER_TABLES = {"tests/serve/test_serve_api.py": "postgres-store",
                        "tests/test_forget_everywhere.py": "postgres-store"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite on two workers (pytest-xdist, --dist loadgroup): a file's
    tests stay together on one worker, so its module fixtures — a built shop, a broker, a
    Spark session — are made once, and files that share a server-side table keep to one
    worker. Without xdist this does nothing."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        path = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(SHARED_SERVER_TABLES.get(path, path)))
