"""The app on a loopback port as `custlens serve` runs it, and waiting on a page in the
browser: shared by the dashboard's and the monitoring page's browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free loopback port; yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.1)
    assert srv.started, "the app did not start serving within 20 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def wait_js(page: Any, condition: str, timeout: float = 30.0) -> None:
    """Wait until a JavaScript condition holds. Playwright's wait_for_function compiles
    its predicate with `new Function` inside the page, which the dashboard's
    Content-Security-Policy (no unsafe-eval) forbids — as it should; a function sent
    from here is evaluated by the browser's debugger protocol, outside the page's CSP."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({condition})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.05)
