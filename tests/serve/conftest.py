"""What the served tests share: the module's `app` on a loopback port, as `custlens serve`
runs it (each test module defines its own `app` over its own lake)."""

import pytest

from serving import served


@pytest.fixture(scope="module")
def server(app):
    with served(app) as url:
        yield url
