"""Issue #8: the JSON API — sign-in, roles, masking, paging, downloads, errors, the store."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil

import pyarrow.csv as pacsv
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from custlens import Workspace
from custlens.collect.generate import ShopSpec
from custlens.serve.api import create_app
from custlens.serve.auth import Accounts, hash_password, verify_password
from custlens.serve.store import DuckDBStore, PostgresStore

PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    ws = Workspace(lake=root / "lake")
    ws.settings = ws.settings.with_overrides(actions__operators=["op1", "op2"])
    ws.generate(ShopSpec(users=3_000, days=365, seed=21))
    ws.plan_actions(dt.date(2025, 11, 4))
    accounts = Accounts(ws.lake)
    for name, role in (("admin", "admin"), ("ana", "analyst"), ("op1", "operator"), ("op2", "operator")):
        accounts.add(name, role, PASSWORD)
    ws.close()
    return root / "lake"


@pytest.fixture(scope="module")
def app(lake):
    ws = Workspace(lake=lake)
    ws.settings = ws.settings.with_overrides(serve__secure_cookies=False)
    application = create_app(ws)
    yield application
    ws.close()


def client(app, name: str | None = None) -> TestClient:
    c = TestClient(app)
    if name:
        csrf = c.get("/api/csrf").json()["csrf"]
        r = c.post("/api/login", json={"name": name, "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


def test_passwords_are_hashed_with_scrypt_and_salted():
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret-pass", a) and not verify_password("s3cret-Pass", a)
    assert not verify_password("x", "garbage")


def test_login_needs_csrf_and_right_password_and_is_throttled(app, lake):
    c = TestClient(app)
    assert c.get("/api/segments").status_code == 401
    assert c.post("/api/login", json={"name": "ana", "password": PASSWORD}).status_code == 403
    csrf = c.get("/api/csrf").json()["csrf"]
    bad = c.post("/api/login", json={"name": "ana", "password": "nope"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 401 and bad.json()["error"] == "wrong name or password"
    good = c.post("/api/login", json={"name": "ana", "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    cookie = good.headers["set-cookie"]
    assert good.status_code == 200 and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert c.get("/api/me").json()["role"] == "analyst"
    attacker = TestClient(app)
    token = attacker.get("/api/csrf").json()["csrf"]
    codes = [attacker.post("/api/login", json={"name": "op2", "password": f"guess{i}"},
                           headers={"X-CSRF-Token": token}).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    right = attacker.post("/api/login", json={"name": "op2", "password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    assert PASSWORD not in (lake / "_ops" / "users.json").read_text()


def test_every_analysis_endpoint_answers_with_labelled_columns(app):
    c = client(app, "ana")
    for path in ("/api/segments", "/api/classes", "/api/periods", "/api/periods?view=instances",
                 "/api/funnel?by=channel", "/api/retention?by=week", "/api/repurchase?level=item",
                 "/api/channels?attribution=linear", "/api/clv?size=5"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert body["rows"] and {"name", "label"} <= set(body["columns"][0]), path
    zh = c.get("/api/segments?lang=zh").json()["columns"]
    en = c.get("/api/segments?lang=en").json()["columns"]
    assert {x["label"] for x in zh} & {"客户数"} and {x["label"] for x in en} & {"customers"}
    overview = c.get("/api/overview").json()
    assert overview["kpis"]["customers"] > 2000 and len(overview["trend"]) > 300
    clv = c.get("/api/clv?size=5").json()
    assert clv["total"] > 5 and len(clv["rows"]) == 5 and "r" in clv["notes"]


def test_bad_input_gets_json_errors_never_a_server_error(app):
    c = client(app, "ana")
    for path, status in (("/api/funnel?by=nonsense", 422), ("/api/clv?size=0", 422),
                         ("/api/clv?page=-1", 422), ("/api/customers?class=vip", 422),
                         ("/api/customers/nobody-like-this", 404), ("/api/actions/nope", 400),
                         ("/api/segments?format=pdf", 422), ("/api/nothing", 404)):
        r = c.get(path)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"], path


def test_roles_see_only_what_they_may(app, lake):
    analyst, op1, admin = client(app, "ana"), client(app, "op1"), client(app, "admin")
    plan = analyst.get("/api/actions/plans").json()[-1]["plan_id"]
    seen = analyst.get(f"/api/actions/{plan}?size=500").json()
    assert seen["total"] > 50 and all("****" in (r["phone"] or "****") for r in seen["rows"])
    mine = op1.get(f"/api/actions/{plan}?size=500").json()
    assert 0 < mine["total"] < seen["total"]
    assert {r["operator"] for r in mine["rows"]} == {"op1"}
    assert all("****" not in (r["phone"] or "") for r in mine["rows"])  # their own: unmasked
    assert op1.get(f"/api/actions/{plan}?operator=op2").status_code == 403
    assert op1.get("/api/customers").status_code == 403
    assert analyst.get("/api/quarantine").status_code == 403
    assert op1.get("/api/admin/users").status_code == 403
    assert admin.get("/api/quarantine").status_code == 200
    assert {u["name"] for u in admin.get("/api/admin/users").json()} >= {"admin", "ana", "op1"}
    other = next(r["user_id"] for r in seen["rows"] if r["operator"] == "op2")
    own = mine["rows"][0]["user_id"]
    assert op1.get(f"/api/customers/{other}").status_code == 403
    assert "****" not in (op1.get(f"/api/customers/{own}").json()["contact"]["phone"] or "")
    assert "****" in analyst.get(f"/api/customers/{own}").json()["contact"]["phone"]
    audit = [json.loads(x) for x in (lake / "_ops" / "audit.jsonl").read_text().splitlines()]
    assert {e["user"] for e in audit} >= {"op1"} and "ana" not in {e["user"] for e in audit}
    # a new user needs CSRF and an admin
    no_csrf = TestClient(app)
    no_csrf.cookies = admin.cookies
    assert no_csrf.post("/api/admin/users", json={"name": "x", "password": PASSWORD,
                                                  "role": "analyst"}).status_code == 403
    assert admin.post("/api/admin/users", json={"name": "新同事", "password": PASSWORD,
                                                "role": "analyst"}).status_code == 200
    assert analyst.post("/api/admin/users", json={"name": "y", "password": PASSWORD,
                                                  "role": "admin"}).status_code == 403


def test_search_paging_and_downloads(app):
    c = client(app, "ana")
    page1 = c.get("/api/customers?class=core&size=20").json()
    page2 = c.get("/api/customers?class=core&size=20&page=2").json()
    assert page1["total"] == page2["total"] > 20
    ids1, ids2 = {r["user_id"] for r in page1["rows"]}, {r["user_id"] for r in page2["rows"]}
    assert len(ids1) == 20 and not ids1 & ids2
    assert all(r["class"] == "core" for r in page1["rows"])
    prefix = page1["rows"][0]["user_id"][:6]
    assert all(r["user_id"].startswith(prefix) for r in c.get(f"/api/customers?q={prefix}").json()["rows"])
    csv = c.get("/api/segments?format=csv&lang=zh")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "attachment" in csv.headers["content-disposition"]
    table = pacsv.read_csv(io.BytesIO(csv.content[3:]))
    assert table.num_rows == len(c.get("/api/segments").json()["rows"])
    xlsx = c.get("/api/classes?format=xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "class" and len(rows) == 5


def test_profile_store_publishes_atomically_and_postgres_agrees(app, lake):
    from tests.services import ensure_postgres

    ws = Workspace(lake=lake)
    ws.build(["ads_profile"])
    profiles = ws.engine.query("SELECT * FROM ads_profile")
    store = DuckDBStore(ws.lake)
    version = store.version()
    assert version and store.get(profiles.column("user_id")[0].as_py())["user_id"]
    before = store.get("U0000001")
    store.publish(profiles.slice(0, 10), "next")  # a new build: readers switch whole
    assert store.version() == "next" and store.search({}, None, "user", 1, 50).total == 10
    store.publish(profiles, version)
    assert store.get("U0000001") == before
    problem = ensure_postgres()
    assert problem is None, problem
    pg = PostgresStore("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    pg.publish(profiles, version)
    assert pg.version() == version
    some = profiles.column("user_id")[5].as_py()
    got, want = pg.get(some), store.get(some)
    assert {k: (round(v, 9) if isinstance(v, float) else v) for k, v in got.items()} == \
        {k: (round(v, 9) if isinstance(v, float) else v) for k, v in want.items()}
    assert pg.search({"class": "core"}, None, "value", 1, 10).total == \
        store.search({"class": "core"}, None, "value", 1, 10).total
    ws.close()
    shutil.rmtree(lake / "serve" / "tmp", ignore_errors=True)
