"""The profile store: one row per customer (ads_profile) for point look-ups and search.

Embedded default: a DuckDB file per published build under `lake/serve/profiles/`, named
by `lake/serve/profiles/current.json` (write the new file, then swap the pointer, so a
reader sees the previous complete build until the new one is published). At scale:
PostgreSQL (`serve.store = "postgresql://…"`): rows are copied in bulk into a fresh table
which replaces the published one in a single transaction.
"""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from custlens.engine.base import Engine
from custlens.errors import CustlensError
from custlens.lake import Lake, atomic_write_text

TABLE = "custlens_profile"
COLUMNS_DUCKDB = "* EXCLUDE (" + ", ".join(("_rank_all", "_rank_class", "_rank_segment")) + ")"
CONTACTS = "custlens_contact"  # personal fields, looked up by id; masked by whoever serves them
# what a search can filter on, and how (exact match)
FILTERS = ("class", "segment", "segment_en", "member_level", "is_lapsed", "is_buyer")
VALUE_ORDER = "expected_value DESC NULLS LAST, monetary DESC NULLS LAST, user_id"
# positions in the default (value) order, overall and within a class or a segment, stored
# with each build so the dashboard's main listing pages by a range instead of sorting
RANKS = {"_rank_all": "", "_rank_class": "PARTITION BY class", "_rank_segment": "PARTITION BY segment"}
SORTS = {"value": VALUE_ORDER,
         "monetary": "monetary DESC NULLS LAST, user_id", "recency": "recency_days NULLS LAST, user_id",
         "user": "user_id"}


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    size: int


def ranked_sql(source: str) -> str:
    """The profiles with their rank columns (see RANKS)."""
    ranks = ", ".join(f"row_number() OVER ({part} ORDER BY {VALUE_ORDER}) AS {name}"
                      for name, part in RANKS.items())
    return f"SELECT *, {ranks} FROM {source}"


def page_sql(filters: dict[str, Any], prefix: str | None, sort: str, page: int, size: int,
             placeholder: str, columns: str) -> tuple[str, list[Any]]:
    """One page of a search. In the default (value) order with at most a class or a segment
    filter, the page is a range of the stored rank (no sort); otherwise sort and skip."""
    given = {k: v for k, v in filters.items() if v is not None}
    first, last = (page - 1) * size + 1, page * size
    if sort == "value" and not prefix and len(given) <= 1 and set(given) <= {"class", "segment"}:
        if not given:
            return (f"SELECT {columns} FROM {TABLE} WHERE _rank_all BETWEEN {first} AND {last} "
                    "ORDER BY _rank_all", [])
        (key, value), = given.items()
        return (f'SELECT {columns} FROM {TABLE} WHERE "{key}" = {placeholder} '
                f"AND _rank_{key} BETWEEN {first} AND {last} ORDER BY _rank_{key}", [value])
    where, params = _where(filters, prefix, placeholder)
    return (f"SELECT {columns} FROM {TABLE}{where} ORDER BY {SORTS[sort]} "
            f"LIMIT {int(size)} OFFSET {int((page - 1) * size)}", params)


def _where(filters: dict[str, Any], prefix: str | None, placeholder: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for key, value in filters.items():
        if key not in FILTERS:
            raise CustlensError(f"cannot filter profiles by {key!r}", hint=f"filters: {', '.join(FILTERS)}")
        if value is not None:
            clauses.append(f'"{key}" = {placeholder}')
            params.append(value)
    if prefix:
        clauses.append(f"user_id LIKE {placeholder}")
        params.append(prefix.replace("%", "").replace("_", r"\_") + "%")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


class ProfileStore(Protocol):
    def publish(self, profiles: pa.Table, version: str, contacts: pa.Table | None = None) -> None: ...
    def contact(self, user_id: str) -> dict[str, Any] | None: ...
    def version(self) -> str | None: ...
    def get(self, user_id: str) -> dict[str, Any] | None: ...
    def search(self, filters: dict[str, Any], prefix: str | None, sort: str, page: int,
               size: int) -> Page: ...
    def forget(self, ids: list[str]) -> int: ...


class DuckDBStore:
    """A read-only DuckDB file per build; each thread keeps its own cursor."""

    def __init__(self, lake: Lake) -> None:
        self.folder = lake.root / "serve" / "profiles"
        self._lock = threading.Lock()
        self._open: tuple[str, duckdb.DuckDBPyConnection] | None = None
        self._local = threading.local()
        self._totals: dict[tuple, int] = {}

    def _pointer(self) -> dict[str, Any] | None:
        path = self.folder / "current.json"
        return json.loads(path.read_text()) if path.exists() else None

    def version(self) -> str | None:
        pointer = self._pointer()
        return pointer["version"] if pointer else None

    def publish(self, profiles: pa.Table, version: str, contacts: pa.Table | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"profiles-{version}-{uuid.uuid4().hex[:6]}.duckdb"
        tmp = self.folder / f".{name}.tmp"
        con = duckdb.connect(str(tmp))
        try:
            con.register("incoming", profiles)
            con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM incoming ORDER BY class, _rank_class")
            con.execute(f"CREATE UNIQUE INDEX {TABLE}_user ON {TABLE} (user_id)")
            if contacts is not None:
                con.register("contacts", contacts)
                con.execute(f"CREATE TABLE {CONTACTS} AS SELECT * FROM contacts")
                con.execute(f"CREATE UNIQUE INDEX {CONTACTS}_user ON {CONTACTS} (user_id)")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, self.folder / name)
        old = self._pointer()
        atomic_write_text(self.folder / "current.json", json.dumps({"version": version, "file": name}))
        for path in self.folder.glob("profiles-*.duckdb"):  # keep the new and the previous
            if path.name not in {name, old and old["file"]}:
                path.unlink(missing_ok=True)

    def forget(self, ids: list[str]) -> int:
        """Remove every published file (the current build and the one kept before it): both
        hold the person. The store is derived; the next build publishes it again."""
        removed = 0
        if self.folder.exists():
            (self.folder / "current.json").unlink(missing_ok=True)
            for path in self.folder.iterdir():
                if path.name.startswith(("profiles-", ".profiles-")):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        pointer = self._pointer()
        if pointer is None:
            with self._lock:  # a forget removed the files: let go of the one still open
                if self._open is not None:
                    self._open[1].close()
                    self._open = None
                    self._local = threading.local()
            raise CustlensError("no profiles published yet", hint="custlens build")
        with self._lock:
            if self._open is None or self._open[0] != pointer["file"]:
                if self._open is not None:
                    self._open[1].close()
                con = duckdb.connect(str(self.folder / pointer["file"]), read_only=True)
                self._open = (pointer["file"], con)
                self._local = threading.local()
            current = self._open
        cached = getattr(self._local, "cursor", None)
        if cached is None or cached[0] != current[0]:
            cached = (current[0], current[1].cursor())
            self._local.cursor = cached
        return cached[1]

    def _dicts(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cur = self._cursor().execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def get(self, user_id: str) -> dict[str, Any] | None:
        rows = self._dicts(f"SELECT {COLUMNS_DUCKDB} FROM {TABLE} WHERE user_id = ?", [user_id])
        return rows[0] if rows else None

    def contact(self, user_id: str) -> dict[str, Any] | None:
        try:
            rows = self._dicts(f"SELECT * FROM {CONTACTS} WHERE user_id = ?", [user_id])
        except duckdb.CatalogException:
            return None  # published without contacts
        return rows[0] if rows else None

    def search(self, filters: dict[str, Any], prefix: str | None, sort: str, page: int,
               size: int) -> Page:
        where, params = _where(filters, prefix, "?")
        key = (self.version(), where, tuple(params))
        total = self._totals.get(key)
        if total is None:  # a build's counts do not change: count each filter once
            row = self._cursor().execute(f"SELECT count(*) FROM {TABLE}{where}", params).fetchone()
            total = row[0] if row else 0
            self._totals[key] = total
        rows = self._dicts(*page_sql(filters, prefix, sort, page, size, "?", COLUMNS_DUCKDB))
        return Page(rows, int(total), page, size)


class PostgresStore:
    """PostgreSQL: bulk COPY into a new table, then swap names in one transaction."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=8, pool_pre_ping=True)

    @contextmanager
    def _raw(self) -> Iterator[Any]:
        conn = self.engine.raw_connection()
        try:
            yield conn
        finally:
            conn.close()

    @staticmethod
    def _load(cur: Any, table: str, data: pa.Table) -> None:
        from custlens.schema import arrow_to_sql

        cols = ", ".join(f'"{f.name}" {_pg_type(arrow_to_sql(f.type))}' for f in data.schema)
        cur.execute(f"DROP TABLE IF EXISTS {table}_new")
        cur.execute(f"CREATE TABLE {table}_new ({cols}, PRIMARY KEY (user_id))")
        names = ", ".join(f'"{n}"' for n in data.column_names)
        with cur.copy(f"COPY {table}_new ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            for start in range(0, max(data.num_rows, 1), 200_000):
                buf = io.BytesIO()  # nulls unquoted and empty: NULL to COPY; text quoted
                pacsv.write_csv(data.slice(start, 200_000), buf,
                                pacsv.WriteOptions(include_header=start == 0))
                copy.write(buf.getvalue())

    def publish(self, profiles: pa.Table, version: str, contacts: pa.Table | None = None) -> None:
        with self._raw() as conn:
            cur = conn.cursor()
            self._load(cur, TABLE, profiles)
            if contacts is not None:
                self._load(cur, CONTACTS, contacts)
                cur.execute(f"DROP TABLE IF EXISTS {CONTACTS}")
                cur.execute(f"ALTER TABLE {CONTACTS}_new RENAME TO {CONTACTS}")
                cur.execute(f"ALTER INDEX IF EXISTS {CONTACTS}_new_pkey RENAME TO {CONTACTS}_pkey_{version[:8]}")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE}_meta (version TEXT)")
            cur.execute(f"DROP TABLE IF EXISTS {TABLE}_old")
            cur.execute(f"ALTER TABLE IF EXISTS {TABLE} RENAME TO {TABLE}_old")
            cur.execute(f"ALTER TABLE {TABLE}_new RENAME TO {TABLE}")
            cur.execute(f"ALTER INDEX IF EXISTS {TABLE}_new_pkey RENAME TO {TABLE}_pkey_{version[:8]}")
            cur.execute(f"DELETE FROM {TABLE}_meta")
            cur.execute(f"INSERT INTO {TABLE}_meta VALUES (%s)", [version])
            cur.execute(f"DROP TABLE IF EXISTS {TABLE}_old")
            cur.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_all_{version[:8]} ON {TABLE} (_rank_all)")
            for column in ("class", "segment"):
                cur.execute(f'CREATE INDEX IF NOT EXISTS {TABLE}_{column}_{version[:8]} '
                            f'ON {TABLE} ("{column}", _rank_{column})')
            conn.commit()

    def version(self) -> str | None:
        with self._raw() as conn:
            cur = conn.cursor()
            cur.execute("SELECT to_regclass(%s)", [f"{TABLE}_meta"])
            if cur.fetchone()[0] is None:
                return None
            cur.execute(f"SELECT version FROM {TABLE}_meta")
            row = cur.fetchone()
            return row[0] if row else None

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self._raw() as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    @staticmethod
    def _public(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in RANKS}

    def get(self, user_id: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT * FROM {TABLE} WHERE user_id = %s", [user_id])
        return self._public(rows[0]) if rows else None

    def contact(self, user_id: str) -> dict[str, Any] | None:
        from psycopg.errors import UndefinedTable

        try:
            rows = self._rows(f"SELECT * FROM {CONTACTS} WHERE user_id = %s", [user_id])
        except UndefinedTable:
            return None  # published without contacts
        return rows[0] if rows else None

    def forget(self, ids: list[str]) -> int:
        """Delete the person's rows from the published tables and any half-swapped copy,
        in one transaction; the next build republishes under a new version."""
        removed = 0
        with self._raw() as conn:
            cur = conn.cursor()
            for table in (TABLE, CONTACTS):
                cur.execute(f"DROP TABLE IF EXISTS {table}_new")
                cur.execute(f"DROP TABLE IF EXISTS {table}_old")
                cur.execute("SELECT to_regclass(%s)", [table])
                if cur.fetchone()[0] is not None:
                    cur.execute(f"DELETE FROM {table} WHERE user_id = ANY(%s)", [ids])
                    removed += cur.rowcount
            cur.execute("SELECT to_regclass(%s)", [f"{TABLE}_meta"])
            if cur.fetchone()[0] is not None:
                cur.execute(f"DELETE FROM {TABLE}_meta")  # not the version any build made
            conn.commit()
        return removed

    def search(self, filters: dict[str, Any], prefix: str | None, sort: str, page: int,
               size: int) -> Page:
        where, params = _where(filters, prefix, "%s")
        total = self._rows(f"SELECT count(*) AS n FROM {TABLE}{where}", params)[0]["n"]
        rows = self._rows(*page_sql(filters, prefix, sort, page, size, "%s", "*"))
        return Page([self._public(r) for r in rows], int(total), page, size)


def _pg_type(sql_type: str) -> str:
    return {"DOUBLE": "DOUBLE PRECISION", "TIMESTAMPTZ": "TIMESTAMPTZ", "BIGINT": "BIGINT",
            "INTEGER": "INTEGER", "VARCHAR": "TEXT", "BOOLEAN": "BOOLEAN", "DATE": "DATE"}[sql_type]


def open_store(lake: Lake, url: str) -> ProfileStore:
    """The configured store: '' for the embedded DuckDB file, or a postgresql:// URL."""
    if not url:
        return DuckDBStore(lake)
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        return PostgresStore(url.replace("postgresql://", "postgresql+psycopg://", 1))
    raise CustlensError(f"serve.store: {url!r} is not a postgresql:// URL (or empty for the embedded store)")


def publish_profiles(lake: Lake, engine: Engine, store: ProfileStore) -> str:
    """Publish the current ads_profile build, unless the store already holds it."""
    meta = lake.current("ads_profile")
    if meta is None:
        raise CustlensError("ads_profile is not built", hint="custlens build")
    version = meta["version"]
    if store.version() != version:
        contacts = engine.query("SELECT user_id, phone, email, address, birthday FROM dwd_customers")
        store.publish(engine.query(ranked_sql("ads_profile")), version, contacts)
    return version
