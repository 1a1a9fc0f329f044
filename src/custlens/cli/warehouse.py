"""`custlens warehouse …`: the warehouse in a Hive metastore, and a Thrift server for SQL clients."""

from __future__ import annotations

import signal
import socket
import threading
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli.common import STATE, FormatOpt, OutOpt
from custlens.errors import CustlensError
from custlens.output import Format
from custlens.workspace import Workspace

warehouse_app = typer.Typer(help="The warehouse for other tools: register it in a Hive metastore, "
                            "serve it over JDBC/ODBC (Spark's Thrift server).", no_args_is_help=True)


def _spark_workspace() -> Workspace:
    """The workspace with the Spark engine, whatever the config says: the metastore is Spark's."""
    ws = STATE.workspace()
    if ws.settings.data["engine"] != "spark":
        ws.settings = ws.settings.with_overrides(engine="spark")
    return ws


@warehouse_app.command("register")
def register_cmd(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Register every built table in the Hive metastore as an external Parquet table."""
    ws = _spark_workspace()
    done = ws.register_tables()
    rows = ([{"table": t, "change": "registered"} for t in done.created]
            + [{"table": t, "change": "unchanged"} for t in done.unchanged]
            + [{"table": t, "change": "dropped"} for t in done.dropped])
    output.write(pa.Table.from_pylist(rows, schema=pa.schema([("table", pa.string()), ("change", pa.string())])),
                 fmt, out, ws.settings.lang)
    console.info(f"database {done.database}: {len(done.created)} registered, {len(done.unchanged)} "
                 f"unchanged, {len(done.dropped)} dropped")


@warehouse_app.command("thrift")
def thrift_cmd(
    port: Annotated[int, typer.Option(help="TCP port for JDBC/ODBC clients")] = 10000,
    host: Annotated[str, typer.Option(help="address to listen on (loopback by default)")] = "127.0.0.1",
) -> None:
    """Run Spark's Thrift server (HiveServer2 protocol) over the warehouse until stopped.

    It owns the embedded metastore while it runs and re-registers new builds itself."""
    from custlens.engine.hive import Registered, serve_thrift, thrift_conf
    from custlens.engine.spark import SparkEngine
    from custlens.warehouse import registry

    ws = _spark_workspace()
    if not 0 < port < 65536:
        raise CustlensError(f"--port must be 1–65535, not {port}")
    with socket.socket() as probe:  # the server would fail in a JVM thread, silently
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CustlensError(f"cannot listen on {host}:{port}: {exc.strerror}",
                                hint="choose another --port, or stop what holds it") from exc
    engine = SparkEngine(ws.lake, ws.settings.get("spark"), thrift_conf(host, port))
    database = engine.options["database"]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    ready = False

    def said(change: Registered) -> None:
        nonlocal ready
        console.info(f"{database}: {len(change.created)} tables registered, {len(change.unchanged)} "
                     f"unchanged, {len(change.dropped)} dropped")
        if not ready:  # the address on stdout (data), so scripts can wait for it
            ready = True
            typer.echo(f"jdbc:hive2://{host}:{port}/{database}")
            console.info(f"listening; try: beeline -u jdbc:hive2://{host}:{port}/{database} "
                         f"-e 'SELECT * FROM ads_segments'; stop with Ctrl-C")

    serve_thrift(engine, registry.comments(), float(ws.settings.get("spark.thrift_poll_seconds")), stop, said)
    console.info("Thrift server stopped")
