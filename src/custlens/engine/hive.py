"""The warehouse in a Hive metastore, and Spark's Thrift server (HiveServer2) in front of it.

Every built table is registered as an external Parquet table over its published version,
and every ODS table over its folder (partitioned tables with their partitions), so Hive,
Spark SQL, Trino and BI tools find them by name. A new build publishes a new version
folder; registering again re-points the tables whose version changed, leaves the others.

Spark's embedded metastore is a Derby database that admits one process at a time. A
build registers when it can; while `custlens warehouse thrift` runs, that server owns the
metastore and re-registers new versions itself every `thrift_poll_seconds`. With an
external metastore (spark.hadoop.hive.metastore.uris) every process registers directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custlens.errors import CustlensError
from custlens.lake import Lake, atomic_write_text

if TYPE_CHECKING:
    from custlens.engine.spark import SparkEngine

VERSION_PROPERTY = "custlens.version"
# (table comment, {column: comment}) per table, from the models' declarations
Comments = dict[str, tuple[str, dict[str, str]]]


class MetastoreBusy(CustlensError):
    """The embedded metastore is held by another process (a running Thrift server)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="a running `custlens warehouse thrift` re-registers new "
                         "builds itself; or configure an external metastore (spark.metastore = \"external\")")


@dataclass
class Registered:
    database: str
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sql(spark: Any, statement: str) -> list[Any]:
    try:
        return spark.sql(statement).collect()
    except Exception as exc:
        message = str(exc)
        if "XSDB6" in message or "SessionHiveMetaStoreClient" in message:
            raise MetastoreBusy("the embedded Hive metastore is in use by another process") from exc
        raise CustlensError(f"metastore statement failed: {message[:1000]}") from exc


def _registered_version(spark: Any, db: str, table: str) -> str | None:
    rows = _sql(spark, f"SHOW TBLPROPERTIES {db}.{table} ('{VERSION_PROPERTY}')")
    value = rows[0][-1] if rows else None
    return value if value and "does not have property" not in value else None


@dataclass(frozen=True)
class Entry:
    """A table as the metastore should know it."""

    name: str
    version: str  # what the location holds; a new one means re-pointing the table
    columns: list[tuple[str, str]]  # (name, SQL type)
    location: Path
    partition_by: str | None
    has_rows: bool
    grain: str


def _entries(engine: SparkEngine) -> list[Entry]:
    """The lake's ODS tables (the folder committed batches move their files into; a crash's
    leftovers are removed by the lake's recovery) and every built table's published version."""
    from custlens import schema

    lake, out = engine.lake, []
    for table in schema.TABLES:
        files = lake.ods_files(table)
        if not files:
            continue
        arrow = schema.ods_schema(table)
        digest = hashlib.sha256("\n".join(map(str, files)).encode()).hexdigest()[:16]
        out.append(Entry(f"ods_{table}", digest, [(f.name, schema.arrow_to_sql(f.type)) for f in arrow],
                         lake.root / "ods" / table, "dt" if "dt" in arrow.names else None, True,
                         "one row per record as imported (a batch's good records)"))
    for table in lake.built_tables():
        meta = lake.current(table)
        if meta is not None:
            out.append(Entry(table, meta["version"], [tuple(c) for c in meta["columns"]],
                             lake.table_dir(table) / meta["version"], meta.get("partition_by"),
                             bool(meta["rows"]), str(meta.get("grain") or "")))
    return out


def _create_sql(engine: SparkEngine, db: str, entry: Entry, comments: Comments) -> str:
    from custlens.engine.spark import spark_sql_type

    about, notes = comments.get(entry.name, ("", {}))
    cols = ", ".join(f"`{c}` {spark_sql_type(t)}" + (f" COMMENT {_text(notes[c])}" if notes.get(c) else "")
                     for c, t in entry.columns)
    return (f"CREATE TABLE {db}.{entry.name} ({cols}) USING parquet"
            + (f" PARTITIONED BY ({entry.partition_by})" if entry.partition_by else "")
            + (f" COMMENT {_text(about)}" if about else "")
            + f" LOCATION {_text(engine.uri(entry.location))}"
            + f" TBLPROPERTIES ('{VERSION_PROPERTY}' = {_text(entry.version)},"
            + f" 'custlens.grain' = {_text(entry.grain)})")


def _server_file(lake: Lake) -> Path:
    return lake.ops("metastore") / "thrift-server.json"


def running_server(lake: Lake) -> dict[str, Any] | None:
    """The Thrift server holding the lake's embedded metastore, if one runs (pid still
    alive). Read from a file, so a caller can ask before it pays for a Spark session."""
    path = _server_file(lake)
    try:
        server = json.loads(path.read_text())
        os.kill(int(server["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return server if server["pid"] != os.getpid() else None


def refuse_if_served(lake: Lake) -> None:
    """The embedded (Derby) metastore admits one process: say who holds it."""
    if server := running_server(lake):
        raise MetastoreBusy(f"the embedded Hive metastore is held by the Thrift server on "
                            f"{server['host']}:{server['port']} (pid {server['pid']})")


def register(engine: SparkEngine, comments: Comments | None = None) -> Registered:
    """Point the metastore's tables at the lake's published versions."""
    spark, db = engine.spark, engine.options["database"]
    comments = comments or {}
    if engine.options.get("metastore") == "embedded":
        refuse_if_served(engine.lake)
    _sql(spark, f"CREATE DATABASE IF NOT EXISTS {db} COMMENT 'custlens warehouse (ODS → DWD → DWS → ADS)'")
    existing = {r["tableName"] for r in _sql(spark, f"SHOW TABLES IN {db}") if not r["isTemporary"]}
    done = Registered(db)
    entries = _entries(engine)
    for entry in entries:
        if entry.name in existing and _registered_version(spark, db, entry.name) == entry.version:
            done.unchanged.append(entry.name)
            continue
        _sql(spark, f"DROP TABLE IF EXISTS {db}.{entry.name}")  # external: the files stay
        _sql(spark, _create_sql(engine, db, entry, comments))
        if entry.partition_by and entry.has_rows:
            _sql(spark, f"ALTER TABLE {db}.{entry.name} RECOVER PARTITIONS")
        done.created.append(entry.name)
    for table in sorted(existing - {e.name for e in entries}):  # gone from the lake (`forget`)
        _sql(spark, f"DROP TABLE IF EXISTS {db}.{table}")
        done.dropped.append(table)
    return done


def thrift_conf(host: str, port: int) -> dict[str, str]:
    """Session settings for a Thrift server on host:port (set before the session starts)."""
    return {"spark.hadoop.hive.server2.thrift.bind.host": host,
            "spark.hadoop.hive.server2.thrift.port": str(port),
            "spark.hadoop.hive.server2.transport.mode": "binary"}


def serve_thrift(engine: SparkEngine, comments: Comments, poll_seconds: float,
                 stop: threading.Event, on_change: Any = None) -> None:
    """Run HiveServer2 in this process until `stop` is set, re-registering new builds."""
    if engine.options.get("metastore") == "off":
        raise CustlensError("the Thrift server needs a metastore", hint='set spark.metastore = "embedded"')
    first = register(engine, comments)
    jvm = engine.spark.sparkContext._jvm
    server = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithSparkSession(
        engine.spark._jsparkSession, False)
    conf = engine.spark.sparkContext.getConf()
    mine = {"pid": os.getpid(), "host": conf.get("spark.hadoop.hive.server2.thrift.bind.host"),
            "port": int(conf.get("spark.hadoop.hive.server2.thrift.port") or 10000)}
    atomic_write_text(_server_file(engine.lake), json.dumps(mine))
    try:
        if on_change:
            on_change(first)
        while not stop.wait(poll_seconds):
            change = register(engine, comments)
            if on_change and (change.created or change.dropped):
                on_change(change)
    finally:
        _server_file(engine.lake).unlink(missing_ok=True)
        server.stop()
