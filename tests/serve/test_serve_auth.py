"""Issue #17, findings 3, 4 and part of 8, each written as the attack: sessions end with
their accounts, the login throttle counts guesses before checking them, believes no
forwarded address it was not told to, slows one name down without locking it, limits the
overall rate; unknown and known names cost one key derivation each; names and passwords
that invite confusion are refused."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from custlens import Workspace
from custlens.collect.generate import ShopSpec
from custlens.errors import CustlensError
from custlens.serve import auth
from custlens.serve.api import create_app
from custlens.serve.auth import Accounts, Throttle

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth") / "lake"
    ws = Workspace(lake=root)
    ws.generate(ShopSpec(users=200, days=30, seed=3))
    accounts = Accounts(ws.lake)
    for name, role in (("root", "admin"), ("boss", "admin"), ("ana", "analyst"), ("op", "operator")):
        accounts.add(name, role, PASSWORD)
    ws.close()
    return root


@pytest.fixture(scope="module")
def app(lake):
    ws = Workspace(lake=lake)
    ws.settings = ws.settings.with_overrides(serve__secure_cookies=False)
    application = create_app(ws)
    yield application
    ws.close()


def _signed_in(app, name: str, password: str = PASSWORD) -> TestClient:
    c = TestClient(app)
    csrf = c.get("/api/csrf").json()["csrf"]
    r = c.post("/api/login", json={"name": name, "password": password}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


# ---- finding 3: sessions outlive their accounts ----------------------------------------------
def test_a_removed_admins_session_ends_at_once_and_cannot_create_admins(app, lake):
    boss = _signed_in(app, "boss")
    assert boss.get("/api/admin/users").status_code == 200
    Accounts(Workspace(lake=lake).lake).remove("boss")
    assert boss.get("/api/me").status_code == 401
    made = boss.post("/api/admin/users", json={"name": "mallory", "password": "x" * 20, "role": "admin"})
    assert made.status_code in (401, 403)
    assert "mallory" not in {u["name"] for u in Accounts(Workspace(lake=lake).lake).list()}


def test_a_downgraded_or_repassworded_account_loses_its_sessions(app, lake):
    accounts = Accounts(Workspace(lake=lake).lake)
    accounts.add("temp", "admin", PASSWORD)
    temp = _signed_in(app, "temp")
    accounts.add("temp", "analyst", PASSWORD, replace=True)
    assert temp.get("/api/admin/users").status_code == 401
    again = _signed_in(app, "temp")
    assert again.get("/api/me").json()["role"] == "analyst"
    accounts.add("temp", "analyst", "a different password", replace=True)
    assert again.get("/api/me").status_code == 401


# ---- finding 4: the throttle ----------------------------------------------------------------
def test_concurrent_guesses_are_counted_before_the_password_is_checked(app, monkeypatch):
    derivations = []
    real = hashlib.scrypt
    monkeypatch.setattr(auth.hashlib, "scrypt", lambda *a, **k: derivations.append(1) or real(*a, **k))
    attacker = TestClient(app)
    token = attacker.get("/api/csrf").json()["csrf"]

    def guess(i: int) -> int:
        return attacker.post("/api/login", json={"name": "op", "password": f"guess-{i}"},
                             headers={"X-CSRF-Token": token}).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(guess, range(20)))
    assert codes.count(401) <= 5 and codes.count(429) >= 15, codes
    assert len(derivations) <= 5  # the rest were refused before any key derivation


def test_one_name_is_slowed_across_addresses_never_locked(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    t = Throttle(attempts=5, window=900, rate=100)
    for i in range(5):  # five addresses, one guess each: the name has had five failures
        assert t.begin("op", f"10.0.0.{i}") == 0
    assert t.begin("op", "10.0.0.99") > 0  # a sixth address must wait too
    waits = []
    for _ in range(12):
        wait = t.begin("op", "10.0.0.99")
        waits.append(wait)
        now[0] += wait  # whoever waits may try again: a slowdown, not a lockout
        assert t.begin("op", "10.0.0.99") == 0
    assert waits[:3] == [2, 3, 5] and max(waits) <= 61
    now[0] += 61
    assert t.begin("op", "192.168.1.5") == 0  # the real user, after at most a minute


def test_overall_login_rate_is_limited(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    t = Throttle(attempts=5, window=900, rate=3)
    assert [t.begin(f"user{i}", "10.1.1.1") for i in range(4)] == [0, 0, 0, 2]
    now[0] += 1.5
    assert t.begin("user9", "10.1.1.1") == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forwarded_addresses_are_not_believed_from_unconfigured_proxies(lake):
    """The attack: from 127.0.0.1, a new X-Forwarded-For per guess (uvicorn believes it from
    127.0.0.1 by default) — unlimited guesses. Against a real `custlens serve`."""
    port = _free_port()
    env = {**os.environ, "CUSTLENS_QUIET": "1", "CUSTLENS_SERVE__SECURE_COOKIES": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "custlens.cli", "--lake", str(lake), "serve",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(base + "/api/csrf", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base) as c:
            token = c.get("/api/csrf").json()["csrf"]
            codes = [c.post("/api/login", json={"name": "ana", "password": f"g{i}"},
                            headers={"X-CSRF-Token": token, "X-Forwarded-For": f"203.0.113.{i}"}).status_code
                     for i in range(7)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ---- finding 8: login timing, names, passwords, overwrites -----------------------------------
def test_known_and_unknown_names_cost_one_key_derivation_each(lake, monkeypatch):
    accounts = Accounts(Workspace(lake=lake).lake)
    derivations = []
    real = hashlib.scrypt
    monkeypatch.setattr(auth.hashlib, "scrypt", lambda *a, **k: derivations.append(1) or real(*a, **k))
    assert accounts.check("nobody-here", "whatever1234") is None
    unknown, derivations[:] = len(derivations), []
    assert accounts.check("ana", "wrong password!") is None
    assert (unknown, len(derivations)) == (1, 1)


@pytest.mark.parametrize("name", ["ad\u200bmin", "ａｄｍｉｎ", "admin\u00a0", " admin", "a\tb", "x" * 65])
def test_look_alike_and_invisible_names_are_refused(lake, name):
    with pytest.raises(CustlensError):
        Accounts(Workspace(lake=lake).lake).add(name, "admin", PASSWORD)


def test_short_or_name_equal_passwords_and_silent_overwrites_are_refused(lake):
    accounts = Accounts(Workspace(lake=lake).lake)
    with pytest.raises(CustlensError, match="shorter"):
        accounts.add("newbie", "analyst", "eight888")
    with pytest.raises(CustlensError, match="user name"):
        accounts.add("longusername", "analyst", "LongUserName")
    with pytest.raises(CustlensError, match="exists"):
        accounts.add("ana", "admin", "an attacker's password")
    assert {u["name"]: u["role"] for u in accounts.list()}["ana"] == "analyst"
