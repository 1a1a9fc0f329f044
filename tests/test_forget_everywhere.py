"""`forget` reaches everything (issue #17, finding 1), written as the auditor's check: after
`forget U` and a build, no Parquet file, DuckDB file, PostgreSQL table or text file under
the lake holds the person's id, phone or the id's plain SHA-256; the profile store has a
new version without them; the forget and audit records name them only by a keyed hash,
through which `custlens audit --user` still answers who saw them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens import Workspace
from custlens.cli import app
from custlens.collect.generate import ShopSpec
from custlens.errors import CustlensError
from custlens.serve.auth import Audit, User
from custlens.store import DuckDBStore, PostgresStore, publish_profiles

pytestmark = pytest.mark.slow  # builds the warehouse, publishes to PostgreSQL, and searches every file (make test-quick leaves it out)


def _victim(ws: Workspace) -> tuple[str, str]:
    row = ws.sql("""SELECT c.user_id, c.phone FROM dwd_customers c JOIN ads_rfm r USING (user_id)
                    WHERE c.phone IS NOT NULL ORDER BY r.monetary DESC, c.user_id LIMIT 1""").to_pylist()[0]
    return row["user_id"], row["phone"]


def _leaks(lake: Path, needles: set[str]) -> list[str]:
    """Every place under the lake where a needle is a whole value or a token of text."""
    found = []

    def look(where: str, value: object) -> None:
        text = str(value)
        if any(n == text or n in text.replace(",", " ").replace('"', " ").split() or
               (len(n) > 10 and n in text) for n in needles):
            found.append(f"{where}: {text[:80]}")

    for path in sorted(lake.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(lake)
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for name in table.column_names:
                for value in set(table.column(name).to_pylist()):
                    if value is not None:
                        look(f"{rel} {name}", value)
        elif path.suffix == ".duckdb":
            con = duckdb.connect(str(path), read_only=True)
            for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
                for row in con.execute(f"SELECT * FROM {t}").fetchall():
                    for value in row:
                        if value is not None:
                            look(f"{rel} {t}", value)
            con.close()
        elif path.suffix in (".json", ".jsonl", ".html", ".csv", ".txt", ".md"):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                look(str(rel), line)
    return found


@pytest.fixture()
def shop(ws: Workspace) -> Workspace:
    ws.generate(ShopSpec(users=300, days=60, seed=8))
    ws.build()
    return ws


def test_after_forget_and_a_build_no_file_under_the_lake_holds_the_person(shop):
    ws = shop
    uid, phone = _victim(ws)
    store = DuckDBStore(ws.lake)
    first = publish_profiles(ws.lake, ws.reader, store)
    assert store.get(uid) and store.contact(uid)["phone"] == phone
    # a later build published too: the store keeps the previous file beside the current
    store.publish(ws.engine.query("SELECT *, 1 AS _rank_all, 1 AS _rank_class, 1 AS _rank_segment "
                                  "FROM ads_profile"), "older-build", None)
    assert len(list(store.folder.glob("profiles-*.duckdb"))) == 2
    # what a careful shop has under its lake folder: the audit log of who saw them (and a
    # log line of an older release with the raw id), a report, an exported list
    analyst = User("ana", "admin")
    Audit(ws.lake).record(analyst, "profile", 1, subjects=[uid])
    with open(ws.lake.ops("audit.jsonl"), "a") as fh:
        fh.write(json.dumps({"ts": "2026-11-30T10:00:00+00:00", "user": "old", "what": f"profile {uid}"}) + "\n")
    with open(ws.lake.ops("forgotten.jsonl"), "a") as fh:  # the old record: a plain SHA-256
        fh.write(json.dumps({"user_sha256": hashlib.sha256(b"U-someone").hexdigest()}) + "\n")
    (ws.lake.root / "exports").mkdir()
    (ws.lake.root / "exports" / "top.csv").write_text(f"user_id,phone\n{uid},{phone}\nU-other,1\n")
    (ws.lake.root / "report.html").write_text(f"<html><td>{uid}</td></html>")
    needles = {uid, phone, hashlib.sha256(uid.encode()).hexdigest()}
    assert _leaks(ws.lake.root, needles)  # the check finds them before the forget

    result = ws.forget(uid)
    assert result.store_removed == 2  # both store files went at once
    with pytest.raises(CustlensError, match='no profiles published'):
        store.get(uid)  # nothing published until the next build
    ws.build()
    second = publish_profiles(ws.lake, ws.reader, store)

    assert second != first  # every derived version changed
    assert store.get(uid) is None and store.contact(uid) is None
    # the web app: 404 for the profile, and no cached answer names them
    from fastapi.testclient import TestClient

    from custlens.serve.api import create_app
    from custlens.serve.auth import Accounts

    Accounts(ws.lake).add("root", "admin", "a long enough password")
    ws.settings = ws.settings.with_overrides(serve__secure_cookies=False)
    web = TestClient(create_app(ws, refresh=False))
    csrf = web.get("/api/csrf").json()["csrf"]
    web.post("/api/login", json={"name": "root", "password": "a long enough password"},
             headers={"X-CSRF-Token": csrf})
    assert web.get(f"/api/customers/{uid}").status_code == 404
    assert uid not in web.get("/api/clv?size=500").text
    assert _leaks(ws.lake.root, needles) == []
    assert sorted(result.files_removed) == ["exports/top.csv", "report.html"]
    assert "_ops/audit.jsonl" in result.logs_rewritten
    record = json.loads(ws.lake.ops("forgotten.jsonl").read_text().splitlines()[-1])
    assert record["user_key"] == ws.lake.keyed_hash(uid) and "user_sha256" not in record
    # who saw them, through the key: the entry recorded by the web app
    seen = CliRunner().invoke(app, ["--lake", str(ws.lake.root), "audit", "--user", uid, "--format", "json"])
    assert seen.exit_code == 0, seen.output
    assert [e["user"] for e in json.loads(seen.stdout)] == ["ana"]


def test_the_secret_of_keyed_hashes_is_the_lakes_own_and_private(ws):
    key = ws.lake.keyed_hash("U1")
    assert key == ws.lake.keyed_hash("U1") and key != hashlib.sha256(b"U1").hexdigest()[:32]
    assert ws.lake.ops("secret.key").stat().st_mode & 0o777 == 0o600


def test_forget_deletes_the_person_from_the_postgresql_store(shop):
    from tests.services import postgres_database

    ws = shop
    uid, phone = _victim(ws)
    pg = PostgresStore(postgres_database("custlens_test_forget"))
    old = publish_profiles(ws.lake, ws.reader, pg)
    assert pg.get(uid) and pg.contact(uid)["phone"] == phone
    from custlens.forget import forget

    result = forget(ws.lake, ws.engine, uid, pg)
    ws._engine = None
    assert result.store_removed == 2 and pg.version() is None
    ws.build()
    new = publish_profiles(ws.lake, ws.reader, pg)
    assert new != old and pg.get(uid) is None and pg.contact(uid) is None
    with pg._raw() as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                    "AND table_name LIKE 'custlens%'")
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT * FROM {table}")
            values = {str(v) for row in cur.fetchall() for v in row}
            assert uid not in values and phone not in values, table

