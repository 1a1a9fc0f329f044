"""custlens sync against the real PostgreSQL and MariaDB on this machine, and SQLite:
insert, update, delete, re-sync, and the lake compared with the source row for row."""

import datetime as dt
import decimal
import os
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from custlens import Workspace
from custlens.collect.dbsync import DatabaseSync, SyncJob, current_view_sql
from custlens.errors import CustlensError
from services import ensure_mariadb, ensure_postgres

BACKENDS = ["sqlite", "postgresql", "mariadb"]


def _admin_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    if backend == "postgresql":
        if why := ensure_postgres():
            pytest.fail(why)
        return "postgresql://postgres@127.0.0.1:5432/test"
    if why := ensure_mariadb():
        pytest.fail(why)
    return "mysql://root@127.0.0.1:3306/test"


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://").replace("mysql://", "mysql+pymysql://")


class Shop:
    """A source orders table with the types that go wrong: DECIMAL, zoned times, Chinese, NULLs."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend, self.url = backend, url
        self.engine = sa.create_engine(_driver(url) + ("?charset=utf8mb4" if backend == "mariadb" else ""))
        self.name = f"orders_{uuid.uuid4().hex[:8]}"
        self.table = sa.Table(
            self.name, sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("buyer", sa.Unicode(40)),
            sa.Column("amount", sa.Numeric(12, 2)),
            sa.Column("paid_at", sa.DateTime(timezone=True)),
            sa.Column("updated_at", sa.DateTime),
            sa.Column("note", sa.UnicodeText, nullable=True),
        )
        self.table.create(self.engine)
        # naive times in UTC, as the database's clock (this machine runs in UTC)
        self.clock = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(hours=3)

    def insert(self, n: int, now: bool = False) -> None:
        """n rows, a second apart in the past, or all stamped now (as an application does)."""
        rows = []
        for _ in range(n):
            self.clock = dt.datetime.now(dt.UTC).replace(tzinfo=None) if now else \
                self.clock + dt.timedelta(seconds=1)
            i = len(rows)
            rows.append({"buyer": f"客户{i % 13}", "amount": decimal.Decimal(f"{i % 997}.{i % 100:02d}"),
                         "paid_at": self.clock.replace(tzinfo=dt.UTC), "updated_at": self.clock,
                         "note": None if i % 3 else "包邮 🚚 utf8mb4"})
        with self.engine.begin() as c:
            c.execute(self.table.insert(), rows)

    def update(self, ids: list[int], amount: str) -> None:
        """As the shop's application does: stamped with the time of the change."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.engine.begin() as c:
            c.execute(self.table.update().where(self.table.c.id.in_(ids))
                      .values(amount=decimal.Decimal(amount), updated_at=now))

    def delete(self, ids: list[int]) -> None:
        with self.engine.begin() as c:
            c.execute(self.table.delete().where(self.table.c.id.in_(ids)))

    def rows(self) -> dict[int, tuple]:
        with self.engine.connect() as c:
            return {r.id: _norm(r._mapping) for r in c.execute(sa.select(self.table))}

    def drop(self) -> None:
        self.table.drop(self.engine)
        self.engine.dispose()


def _norm(row) -> tuple:
    paid = row["paid_at"]
    if isinstance(paid, dt.datetime) and paid.tzinfo:
        paid = paid.astimezone(dt.UTC).replace(tzinfo=None)
    return (row["buyer"], decimal.Decimal(row["amount"]).quantize(decimal.Decimal("0.01")), paid,
            row["updated_at"], row["note"])


@pytest.fixture(params=BACKENDS)
def shop(request, tmp_path):
    s = Shop(request.param, _admin_url(request.param, tmp_path))
    yield s
    s.drop()


def _sync(ws, shop, mode, chunk_rows=97, **kw) -> dict:
    job = DatabaseSync.load_job(ws.lake, shop.name) or SyncJob(shop.name, shop.url, shop.name, mode, **kw)
    return DatabaseSync(ws.lake, job, None, "Asia/Shanghai").run(chunk_rows=chunk_rows)


def _lake_rows(ws, shop) -> dict[int, tuple]:
    job = DatabaseSync.load_job(ws.lake, shop.name)
    ws.engine.refresh()
    return {r["id"]: _norm(r) for r in ws.sql(current_view_sql(ws.lake, job)).to_pylist()}


def _ods_count(ws, shop) -> int:
    ws.engine.refresh()
    return ws.sql(f"SELECT count(*) FROM ods_sync_{shop.name}").column(0)[0].as_py()


def test_append_row_for_row(ws, shop):
    shop.insert(500)
    assert _sync(ws, shop, "append", check_column="id")["rows"] == 500
    assert _lake_rows(ws, shop) == shop.rows()
    shop.insert(120)
    assert _sync(ws, shop, "append")["rows"] == 120  # the saved job goes on from its last value
    assert _lake_rows(ws, shop) == shop.rows() and _ods_count(ws, shop) == 620
    assert _sync(ws, shop, "append")["rows"] == 0


def test_lastmodified_merges_updates_latest_wins(ws, shop):
    shop.insert(300)
    _sync(ws, shop, "lastmodified", check_column="updated_at", merge_key="id")
    time.sleep(1.1)  # SQLite's clock has whole seconds
    shop.update([3, 150, 299], "1234.56")
    shop.insert(10, now=True)
    time.sleep(1.1)
    second = _sync(ws, shop, "lastmodified")
    assert second["rows"] >= 13  # the changed rows and the new ones (boundary rows may repeat)
    lake = _lake_rows(ws, shop)
    assert lake == shop.rows()
    assert lake[150][1] == decimal.Decimal("1234.56")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_full_reload_shows_deletes(ws, tmp_path, backend):
    s = Shop(backend, _admin_url(backend, tmp_path))
    try:
        s.insert(50)
        _sync(ws, s, "full")
        s.delete([1, 2, 3])
        _sync(ws, s, "full")
        assert _lake_rows(ws, s) == s.rows() and len(s.rows()) == 47
    finally:
        s.drop()


def test_interrupted_run_resumes_without_loss_or_double(ws, tmp_path, monkeypatch):
    s = Shop("postgresql", _admin_url("postgresql", tmp_path))
    try:
        s.insert(1000)
        real = DatabaseSync._commit
        calls = {"n": 0}

        def dying(self, *args, **kw):
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt  # killed mid-run, after three committed chunks
            return real(self, *args, **kw)

        monkeypatch.setattr(DatabaseSync, "_commit", dying)
        with pytest.raises(KeyboardInterrupt):
            _sync(ws, s, "append", check_column="id")
        monkeypatch.setattr(DatabaseSync, "_commit", real)
        # a chunk never ends inside a run of equal check values: each holds its last row back
        # for the next, not knowing if the next row shares its value
        assert _ods_count(ws, s) == 96 + 97 + 97
        _sync(ws, s, "append")
        assert _lake_rows(ws, s) == s.rows() and _ods_count(ws, s) == 1000
    finally:
        s.drop()


def test_as_orders_flows_into_dwd(ws, tmp_path):
    s = Shop("sqlite", _admin_url("sqlite", tmp_path))
    s.insert(40)
    job = SyncJob(s.name, s.url, s.name, "append", check_column="id", as_table="orders",
                  map={"order_id": "id", "user_id": "buyer", "order_ts": "paid_at"})
    DatabaseSync(ws.lake, job, None, "Asia/Shanghai").run(chunk_rows=16)
    ws.engine.refresh()
    got = ws.sql("SELECT count(*) AS n, sum(amount) AS m, count(DISTINCT user_id) AS u FROM dwd_orders").to_pylist()[0]
    source = s.rows()
    assert got["n"] == 40 and got["u"] == 13
    assert decimal.Decimal(str(round(got["m"], 2))) == sum(r[1] for r in source.values())
    s.drop()


def test_clear_errors(ws, tmp_path):
    s = Shop("sqlite", _admin_url("sqlite", tmp_path))
    s.insert(5)

    def run(**kw):
        job = SyncJob(kw.pop("name", "j"), kw.pop("source", s.url), kw.pop("table", s.name),
                      kw.pop("mode", "append"), **kw)
        return DatabaseSync(ws.lake, job, None, "UTC").run()

    with pytest.raises(CustlensError, match="no table 'nope'"):
        run(table="nope", check_column="id")
    with pytest.raises(CustlensError, match="no column 'nope'"):
        run(check_column="nope")
    with pytest.raises(CustlensError, match="text column"):
        run(check_column="buyer")
    with pytest.raises(CustlensError, match="must not carry a password"):
        run(source="postgresql://shop:secret@127.0.0.1/test", check_column="id")
    with pytest.raises(CustlensError, match="cannot reach the database") as closed:
        run(source="postgresql://postgres@127.0.0.1:1/test", check_column="id")
    assert "127.0.0.1:1" in str(closed.value)
    s.drop()


def test_wrong_password_is_a_clear_refusal(ws):
    if why := ensure_mariadb():
        pytest.fail(why)
    admin = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/test")
    user = f"cl_{uuid.uuid4().hex[:6]}"
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pw'"))
        c.execute(sa.text(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY 'right-pw'"))
        c.execute(sa.text(f"GRANT SELECT ON test.* TO '{user}'@'%'"))
        c.execute(sa.text(f"GRANT SELECT ON test.* TO '{user}'@'localhost'"))
    try:
        job = SyncJob("w", f"mysql://{user}@127.0.0.1:3306/test", "whatever", "full")
        with pytest.raises(CustlensError, match="refused the login") as refused:
            DatabaseSync(ws.lake, job, "wrong-pw", "UTC").run()
        assert "wrong-pw" not in str(refused.value)
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f"DROP USER '{user}'@'%'"))
            c.execute(sa.text(f"DROP USER '{user}'@'localhost'"))
        admin.dispose()


def test_cli_sync_with_password_from_the_environment(tmp_path):
    if why := ensure_mariadb():
        pytest.fail(why)
    s = Shop("mariadb", _admin_url("mariadb", tmp_path))
    try:
        s.insert(30)
        env = {**os.environ, "CUSTLENS_QUIET": "1", "CUSTLENS_DB_PASSWORD": ""}
        base = [sys.executable, "-m", "custlens.cli", "--lake", str(tmp_path / "lake")]
        proc = subprocess.run([*base, "sync", "--source", s.url, "--table", s.name, "--mode",
                               "append", "--check-column", "id", "--job", "shop_orders"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "30 rows" in proc.stderr and "ods_sync_shop_orders" in proc.stderr
        listed = subprocess.run([*base, "sync", "--list", "--format", "json"], capture_output=True,
                                text=True, env=env, cwd=tmp_path)
        assert '"job": "shop_orders"' in listed.stdout and '"last_value": "30"' in listed.stdout
        again = subprocess.run([*base, "sync", "--job", "shop_orders"], capture_output=True, text=True,
                               env=env, cwd=tmp_path)
        assert again.returncode == 0 and "0 rows" in again.stderr
        ws = Workspace(lake=tmp_path / "lake")
        assert ws.sql("SELECT count(*) FROM ods_sync_shop_orders").column(0)[0].as_py() == 30
        ws.close()
    finally:
        s.drop()


@pytest.mark.slow
def test_sync_killed_with_sigkill_resumes_exactly(tmp_path):
    """A real process, killed mid-run; the next run completes it, nothing lost or doubled."""
    import signal

    if why := ensure_postgres():
        pytest.fail(why)
    name = f"kill_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE TABLE {name} AS SELECT g AS id, (g % 1000)::numeric(12,2) AS amount "
                          f"FROM generate_series(1, 600000) g"))
    base = [sys.executable, "-m", "custlens.cli", "--lake", str(tmp_path / "lake"), "sync",
            "--source", "postgresql://postgres@127.0.0.1:5432/test", "--table", name,
            "--mode", "append", "--check-column", "id"]
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    try:
        proc = subprocess.Popen(base, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        batches = tmp_path / "lake" / "_ops" / "batches"
        while time.time() < deadline and len(list(batches.glob(f"sync_{name}-*.json"))) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = len(list(batches.glob(f"sync_{name}-*.json")))
        assert 2 <= partial < 12  # killed part-way: 600k rows are 12 chunks
        done = subprocess.run(base, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        ws = Workspace(lake=tmp_path / "lake")
        got = ws.sql(f"SELECT count(*) AS n, count(DISTINCT id) AS d, sum(amount) AS s "
                     f"FROM ods_sync_{name}").to_pylist()[0]
        ws.close()
        with admin.connect() as c:
            want = c.execute(sa.text(f"SELECT sum(amount) FROM {name}")).scalar_one()
        assert got["n"] == got["d"] == 600000 and got["s"] == want
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f"DROP TABLE {name}"))
        admin.dispose()
