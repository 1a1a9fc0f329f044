"""Database sync (`custlens sync`): copy a shop table into the lake incrementally, as Sqoop.

Modes (Sqoop's): `append` takes rows whose check column passed the saved last value;
`lastmodified` takes rows changed since the last run, bounded above by the database's
clock at the run's start (a row written during the run is taken next time), and the
current view merges them by key, latest wins; `full` reloads the table, and the current
view is the last complete load. Saved jobs keep their settings and last value.

The source table lands as it is in `ods_sync_<job>` (types kept: DECIMAL stays decimal,
times keep their zone, NULLs stay NULL), in chunks of constant memory. Each chunk is
one batch whose manifest records the check value it reaches, so the lake, not a side
file, says where the job stands: an interrupted run resumes after the last committed
chunk, and a chunk never ends inside a run of equal check values. With `--as`, each
chunk also flows into the canonical table through the generic importer's mapping.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from custlens.collect.importers import ImportOptions, ingest
from custlens.errors import CustlensError
from custlens.lake import Lake, atomic_write_text
from custlens.lock import writer_lock

MODES = ("append", "lastmodified", "full")
AS_TABLES = ("orders", "customers", "items", "order-items")
PASSWORD_ENV = "CUSTLENS_DB_PASSWORD"
CHUNK_ROWS = 50_000


@dataclass
class SyncJob:
    """A saved job: what to copy, how, and how far it has come."""

    name: str
    source: str  # SQLAlchemy URL, password hidden
    table: str
    mode: str
    check_column: str | None = None
    merge_key: str | None = None
    as_table: str | None = None
    map: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # --value, for --as
    constants: dict[str, str] = field(default_factory=dict)  # --set, for --as
    last_value: Any = None  # JSON form (see _to_json)
    runs: int = 0

    @property
    def ods_table(self) -> str:
        return f"sync_{self.name}"


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"t": type(value).__name__, "v": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"t": "decimal", "v": str(value)}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        kind, text = value["t"], value["v"]
        if kind == "datetime":
            return dt.datetime.fromisoformat(text)
        if kind == "date":
            return dt.date.fromisoformat(text)
        if kind == "decimal":
            return decimal.Decimal(text)
    return value


# ---- connecting -------------------------------------------------------------------------------
def connect_url(source: str, password: str | None) -> Any:
    """A SQLAlchemy URL with the password from config/environment, never from the flag."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(source)
    except Exception as exc:
        raise CustlensError(f"--source {source!r} is not a database URL: {exc}") from exc
    if url.password:
        raise CustlensError("--source must not carry a password (it would show in the shell "
                            "history and process list)",
                            hint=f"set {PASSWORD_ENV} or [sync] password in custlens.toml")
    driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql",
              "mariadb": "mysql+pymysql"}.get(url.drivername, url.drivername)
    url = url.set(drivername=driver)
    if password:
        url = url.set(password=password)
    return url


def _engine(url: Any) -> Any:
    from sqlalchemy import create_engine

    return create_engine(url, connect_args=_connect_args(url), pool_pre_ping=False)


def _connect_args(url: Any) -> dict[str, Any]:
    if url.drivername.startswith("mysql"):
        return {"connect_timeout": 10, "charset": "utf8mb4"}
    if url.drivername.startswith("postgresql"):
        return {"connect_timeout": 10}
    return {}


def _explain_connection_error(exc: Exception, url: Any) -> CustlensError:
    text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    where = url.render_as_string(hide_password=True)
    lowered = text.lower()
    if "password" in lowered or "access denied" in lowered or "authentication" in lowered:
        return CustlensError(f"{where}: the database refused the login: {text}",
                             hint=f"check the user and {PASSWORD_ENV}")
    if "refused" in lowered or "can't connect" in lowered or "could not connect" in lowered \
            or "timeout" in lowered or "unreachable" in lowered:
        return CustlensError(f"{where}: cannot reach the database: {text}")
    return CustlensError(f"{where}: {text}")


# ---- types -------------------------------------------------------------------------------------
def arrow_type(sql_type: Any) -> pa.DataType:
    """The Arrow type that keeps a column's values as they are."""
    from sqlalchemy import types as t

    if isinstance(sql_type, t.Boolean):
        return pa.bool_()
    if isinstance(sql_type, t.Integer):
        return pa.int64()
    if isinstance(sql_type, t.Numeric) and not isinstance(sql_type, t.Float):
        precision, scale = sql_type.precision, sql_type.scale
        if precision and precision <= 38:
            return pa.decimal128(precision, scale or 0)
        return pa.decimal128(38, 10)
    if isinstance(sql_type, t.Float):
        return pa.float64()
    if isinstance(sql_type, t.DateTime):
        return pa.timestamp("us", tz="UTC") if sql_type.timezone else pa.timestamp("us")
    if isinstance(sql_type, t.Date):
        return pa.date32()
    if isinstance(sql_type, t.LargeBinary | t._Binary):
        return pa.binary()
    return pa.string()


def _check_is_orderable(column: Any, table: str) -> None:
    from sqlalchemy import types as t

    if isinstance(column.type, t.String | t.Enum):
        raise CustlensError(
            f"{table}.{column.name} is a text column ({column.type}): a check column must be a "
            "number, date or time (Sqoop's rule: text compares by collation, not by order of "
            "arrival)")


# ---- the job ------------------------------------------------------------------------------------
class DatabaseSync:
    def __init__(self, lake: Lake, job: SyncJob, password: str | None, tz: str) -> None:
        self.lake, self.job, self.tz = lake, job, tz
        self.url = connect_url(job.source, password)

    # -- saved jobs -------------------------------------------------------------------
    @staticmethod
    def job_path(lake: Lake, name: str) -> Path:
        return lake.ops("sync", f"{name}.json")

    @classmethod
    def load_job(cls, lake: Lake, name: str) -> SyncJob | None:
        path = cls.job_path(lake, name)
        return SyncJob(**json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None

    @staticmethod
    def jobs(lake: Lake) -> list[SyncJob]:
        folder = lake.ops("sync")
        return [SyncJob(**json.loads(p.read_text(encoding="utf-8")))
                for p in sorted(folder.glob("*.json"))] if folder.exists() else []

    def save_job(self) -> None:
        atomic_write_text(self.job_path(self.lake, self.job.name),
                          json.dumps(asdict(self.job), ensure_ascii=False, indent=1))

    def _committed(self) -> tuple[Any, str | None]:
        """The last value a committed chunk reached, and the last complete full load."""
        last, last_full = None, None
        for batch in self.lake.batches(self.job.ods_table):
            opts = batch.options
            if opts.get("upto") is not None:
                last = opts["upto"]
            if opts.get("run_complete"):
                last_full = opts.get("run")
        return _from_json(last) if last is not None else None, last_full

    # -- running ----------------------------------------------------------------------
    def run(self, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
        from sqlalchemy import MetaData, Table, exc, func, select

        job = self.job
        engine = _engine(self.url)
        started = time.perf_counter()
        try:
            with engine.connect() as conn:
                try:
                    table = Table(job.table, MetaData(), autoload_with=conn)
                except exc.NoSuchTableError as e:
                    raise CustlensError(f"{self.url.render_as_string(hide_password=True)}: no table "
                                        f"{job.table!r}") from e
                check = self._column(table, job.check_column, "--check-column") if job.mode != "full" else None
                if job.merge_key:
                    self._column(table, job.merge_key, "--merge-key")
                if check is not None:
                    _check_is_orderable(check, job.table)
                self.save_job()  # an interrupted first run is still a saved job
                committed, _ = self._committed()
                last = committed if committed is not None else _from_json(job.last_value)
                query = select(table)
                upper: Any = None
                if job.mode == "append" and check is not None:
                    if last is not None:
                        query = query.where(check > last)
                    query = query.order_by(check)
                elif job.mode == "lastmodified" and check is not None:
                    upper = conn.execute(select(func.now())).scalar_one()
                    if isinstance(upper, dt.datetime) and not check.type.timezone and upper.tzinfo:
                        upper = upper.replace(tzinfo=None)
                    if last is not None:
                        query = query.where(check >= last)
                    query = query.where(check < upper).order_by(check)
                schema = pa.schema([(c.name, arrow_type(c.type)) for c in table.columns])
                run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
                rows = chunks = 0
                parts = _stream(conn, query, chunk_rows)
                for chunk, upto in self._chunks(parts, schema, check, chunk_rows):
                    rows += chunk.num_rows
                    chunks += 1
                    self._commit(chunk, upto, run_id, final=False)
                if job.mode == "full":
                    self._commit(pa.Table.from_pylist([], schema=schema), None, run_id, final=True)
                elif job.mode == "lastmodified" and upper is not None:
                    self._commit(pa.Table.from_pylist([], schema=schema), upper, run_id, final=True)
        except exc.OperationalError as e:
            raise _explain_connection_error(e, self.url) from e
        except exc.DBAPIError as e:
            raise _explain_connection_error(e, self.url) from e
        finally:
            engine.dispose()
        committed, _ = self._committed()
        job.last_value = _to_json(committed)
        job.runs += 1
        self.save_job()
        return {"rows": rows, "chunks": chunks, "seconds": time.perf_counter() - started,
                "last_value": committed}

    def _column(self, table: Any, name: str | None, flag: str) -> Any:
        if not name:
            raise CustlensError(f"{flag} is needed for --mode {self.job.mode}")
        if name not in table.columns:
            raise CustlensError(f"{self.job.table} has no column {name!r} ({flag})",
                                hint=f"its columns: {', '.join(table.columns.keys())}")
        return table.columns[name]

    def _chunks(self, parts: Iterator[list], schema: pa.Schema, check: Any,
                chunk_rows: int) -> Iterator[tuple[pa.Table, Any]]:
        """Arrow chunks that never end inside a run of equal check values."""
        names = schema.names
        key = names.index(check.name) if check is not None else None
        held: list = []
        for part in parts:
            rows = held + part if held else part
            held = []
            if key is not None and rows and len(part) == chunk_rows:  # more may follow
                tail = rows[-1][key]
                cut = len(rows)
                while cut > 0 and rows[cut - 1][key] == tail:
                    cut -= 1
                if cut == 0:  # the whole chunk shares one value: keep reading
                    held = rows
                    continue
                rows, held = rows[:cut], rows[cut:]
            yield self._arrow(rows, names, schema), (rows[-1][key] if key is not None else None)
        if held:
            yield self._arrow(held, names, schema), (held[-1][key] if key is not None else None)

    @staticmethod
    def _arrow(rows: list[tuple], names: list[str], schema: pa.Schema) -> pa.Table:
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        # pyarrow turns zoned datetimes into UTC instants itself
        arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
        return pa.Table.from_arrays(arrays, schema=schema)

    def _commit(self, chunk: pa.Table, upto: Any, run_id: str, final: bool) -> None:
        """One chunk: the canonical table first (idempotent by key downstream), then the
        raw batch, whose manifest is the chunk's commit point."""
        job = self.job
        digest = hashlib.sha256(json.dumps([job.name, run_id, _to_json(upto), final, chunk.num_rows],
                                           default=str).encode()).hexdigest()
        chunk = chunk.append_column("_run", pa.array([run_id] * chunk.num_rows, pa.string()))
        if job.as_table and chunk.num_rows:
            self._ingest_canonical(chunk.drop_columns(["_run"]))
        with writer_lock(self.lake.root):
            batch_id = self.lake.new_batch_id(job.ods_table)
            staged = self.lake.staging(batch_id)
            meta = pa.table({"_batch_id": [batch_id] * chunk.num_rows,
                             "_source": [f"{self.url.render_as_string(hide_password=True)}/{job.table}"]
                             * chunk.num_rows,
                             "_line": pa.array(range(1, chunk.num_rows + 1), pa.int64())})
            for name in meta.column_names:
                chunk = chunk.append_column(name, meta.column(name))
            if chunk.num_rows:
                pq.write_table(chunk, staged / "data.parquet")
            options = {"kind": "sync", "job": job.name, "mode": job.mode, "run": run_id,
                       "upto": _to_json(upto) if upto is not None else None,
                       "run_complete": final}
            self.lake.commit_batch(batch_id, job.ods_table, f"{job.source}/{job.table}", digest,
                                   staged, chunk.num_rows, 0, options)

    def _ingest_canonical(self, chunk: pa.Table) -> None:
        assert self.job.as_table is not None  # the caller asked for canonical rows
        kind = self.job.as_table.replace("-", "_")
        tmp_root = self.lake.ops("tmp")
        tmp_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
            path = Path(tmp) / f"{self.job.name}.parquet"
            pq.write_table(_plain(chunk), path)
            ingest(self.lake, kind, path, ImportOptions(map=self.job.map, values=self.job.values,
                                                          constants=self.job.constants, tz=self.tz), self.tz,
                   kind="sync")


def _stream(conn: Any, query: Any, chunk_rows: int) -> Iterator[list]:
    """Rows in lists of chunk_rows, from a server-side cursor.

    PostgreSQL and MySQL/MariaDB drivers already return Decimal, date and zoned datetime
    objects, so their own cursors are read directly (SQLAlchemy's per-row processing
    would only copy them); other databases (SQLite stores times as text) go through
    SQLAlchemy's result, which converts by the reflected types.
    """
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "mysql", "mariadb"):
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
        yield from (list(part) for part in result.partitions(chunk_rows))
        return
    compiled = query.compile(dialect=conn.dialect)
    raw = conn.connection.driver_connection
    if dialect == "postgresql":
        cursor = raw.cursor(name=f"custlens_sync_{uuid.uuid4().hex[:8]}")
        cursor.itersize = chunk_rows
    else:
        import pymysql.cursors

        cursor = raw.cursor(pymysql.cursors.SSCursor)
    try:
        cursor.execute(str(compiled), compiled.params)
        while rows := cursor.fetchmany(chunk_rows):
            yield rows
    finally:
        cursor.close()


def _plain(table: pa.Table) -> pa.Table:
    """Decimals as text for the generic mapping (which parses amounts from text exactly)."""
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        cols.append(col.cast(pa.string()) if pa.types.is_decimal(f.type) else col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def current_view_sql(lake: Lake, job: SyncJob) -> str:
    """The source table as the lake knows it now: merged by key, or the last full load."""
    src = f"ods_{job.ods_table}"
    meta = "_batch_id, _source, _line, _run"
    if job.mode == "full":
        complete = [b.options["run"] for b in lake.batches(job.ods_table) if b.options.get("run_complete")]
        if not complete:
            raise CustlensError(f"sync job {job.name!r} has no complete load yet")
        return f"SELECT * EXCLUDE ({meta}) FROM {src} WHERE _run = '{complete[-1]}'"
    if job.merge_key:
        return (f"SELECT * EXCLUDE ({meta}, _rn) FROM (SELECT *, row_number() OVER (PARTITION BY "
                f"{job.merge_key} ORDER BY {job.check_column} DESC, _batch_id DESC, _line DESC) AS _rn "
                f"FROM {src}) WHERE _rn = 1")
    return f"SELECT * EXCLUDE ({meta}) FROM {src}"
