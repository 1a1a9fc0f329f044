"""Accounts, roles, sessions, login throttling and the audit log of the web app.

Roles (issue #8): `admin` (users, settings, quarantine, everything), `analyst` (every
analysis and profile, never personal contact data), `operator` (the action lists
assigned to them, with contact data, and the profiles of those customers). Passwords are
hashed with scrypt (RFC 7914; n=2^14, r=8, p=1, 16-byte salt). Sessions are random
tokens held by the server (a restart signs everyone out), in HttpOnly, SameSite=Strict
cookies, Secure unless `serve.secure_cookies` is off. Every response that carries
personal data is written to `lake/_ops/audit.jsonl`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from custlens.errors import CustlensError
from custlens.lake import Lake, atomic_write_text

ROLES = ("admin", "analyst", "operator")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10


def check_name(name: str) -> None:
    """A name a person can read and retype: 1 to 64 characters, unchanged by Unicode
    NFKC normalisation (no full-width or ligature look-alikes of another name), without
    control, format (zero-width) or space characters other than a plain space inside."""
    import unicodedata

    if not 1 <= len(name) <= 64 or name != name.strip():
        raise CustlensError("a user name is 1 to 64 characters, without spaces at either end")
    if unicodedata.normalize("NFKC", name) != name:
        raise CustlensError(f"the user name {name!r} has look-alike characters",
                            hint=f"use {unicodedata.normalize('NFKC', name)!r}")
    bad = [c for c in name if unicodedata.category(c)[0] in "CZ" and c != " "]
    if bad:
        raise CustlensError(f"the user name has invisible or control characters: "
                            f"{', '.join(f'U+{ord(c):04X}' for c in bad)}")


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def sees_personal(self) -> bool:
        """Whether contact fields may be shown at all (operators: only their customers)."""
        return self.role in ("admin", "operator")


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), dklen=32,
                             n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


_DUMMY: list[str] = []  # a hash to check unknown names against, made once


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY[0]


class Accounts:
    """Users in `lake/_ops/users.json` (name → role and password hash)."""

    def __init__(self, lake: Lake) -> None:
        self.path = lake.ops("users.json")
        self._cached: tuple[tuple[int, int, int], dict[str, dict[str, Any]]] | None = None
        self._dummy = _dummy_hash()  # made now, not during the first unknown-name login

    def _load(self) -> dict[str, dict[str, Any]]:
        """The accounts, read again only when the file changed (every request asks)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, json.loads(self.path.read_text(encoding="utf-8")))
        return self._cached[1]

    def add(self, name: str, role: str, password: str, replace: bool = False) -> User:
        """A new account; an existing name only with `replace` (a new role or password,
        which ends that account's sessions)."""
        if role not in ROLES:
            raise CustlensError(f"--role {role!r} is not one of {', '.join(ROLES)}")
        check_name(name)
        if len(password) < MIN_PASSWORD:
            raise CustlensError(f"the password is shorter than {MIN_PASSWORD} characters")
        if password.strip().lower() == name.strip().lower():
            raise CustlensError("the password is the user name")
        users = dict(self._load())
        if name in users and not replace:
            raise CustlensError(f"user {name!r} exists", hint="custlens users add NAME --reset to "
                                "give them a new role or password")
        users[name] = {"role": role, "password": hash_password(password),
                       "created": datetime.now(UTC).isoformat(timespec="seconds")}
        atomic_write_text(self.path, json.dumps(users, ensure_ascii=False, indent=1), mode=0o600)
        return User(name, role)

    def remove(self, name: str) -> None:
        users = dict(self._load())
        if users.pop(name, None) is None:
            raise CustlensError(f"no user {name!r}")
        atomic_write_text(self.path, json.dumps(users, ensure_ascii=False, indent=1), mode=0o600)

    def list(self) -> list[dict[str, Any]]:
        return [{"name": n, "role": u["role"], "created": u["created"]} for n, u in sorted(self._load().items())]

    def stamp(self, name: str) -> str | None:
        """What a session is bound to: the account's role and password hash, so removing
        the account, changing its role or its password ends its sessions."""
        record = self._load().get(name)
        if record is None:
            return None
        return hashlib.sha256(f"{record['role']}\0{record['password']}".encode()).hexdigest()

    def role(self, name: str) -> str | None:
        record = self._load().get(name)
        return record["role"] if record else None

    def check(self, name: str, password: str) -> User | None:
        """One key derivation whatever the name: an unknown name is checked against a
        dummy hash made once, so the time taken does not tell names apart."""
        record = self._load().get(name)
        if record is None:
            verify_password(password, self._dummy)
            return None
        return User(name, record["role"]) if verify_password(password, record["password"]) else None


class Sessions:
    """Server-held session tokens with an expiry and a CSRF token each, bound to the
    account as it was at sign-in (Accounts.stamp): checked on every request."""

    def __init__(self, hours: float, accounts: Accounts) -> None:
        self.seconds = hours * 3600
        self.accounts = accounts
        self._items: dict[str, tuple[str, str, float, str]] = {}  # name, stamp, expiry, csrf
        self._lock = threading.Lock()

    def open(self, user: User) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        stamp = self.accounts.stamp(user.name) or ""
        with self._lock:
            now = time.time()
            if len(self._items) > 10_000:  # expired sessions of clients that never came back
                self._items = {t: i for t, i in self._items.items() if i[2] >= now}
            self._items[token] = (user.name, stamp, now + self.seconds, csrf)
        return token, csrf

    def get(self, token: str | None) -> tuple[User, str] | None:
        if not token:
            return None
        with self._lock:
            item = self._items.get(token)
            if item is None:
                return None
            name, stamp, expiry, csrf = item
            role = self.accounts.role(name)
            if expiry < time.time() or role is None or self.accounts.stamp(name) != stamp:
                self._items.pop(token, None)  # expired, or the account changed since sign-in
                return None
            return User(name, role), csrf

    def close(self, token: str | None) -> None:
        with self._lock:
            self._items.pop(token or "", None)


class Throttle:
    """Login attempts, each reserved before its password is checked, so concurrent guesses
    count as they arrive. Per name and address, and per name across every address, once
    `attempts` have failed within `window` seconds each further attempt waits twice as long
    after the last failure as the one before (1 s, 2 s, 4 s, … at most `max_wait`): guessing
    slows to one try a minute, and the real user is never locked out for longer than that,
    whoever tries their name. Overall at most `rate` attempts a second."""

    def __init__(self, attempts: int, window: float, rate: float = 10.0,
                 max_wait: float = 60.0) -> None:
        self.attempts, self.window, self.rate, self.max_wait = attempts, window, rate, max_wait
        self._failures: dict[tuple[str, str], list[float]] = {}  # (name, address) and (name, "*")
        self._recent: list[float] = []  # every attempt of the last second
        self._lock = threading.Lock()

    def _wait(self, key: tuple[str, str], now: float) -> float:
        recent = [t for t in self._failures.get(key, ()) if t > now - self.window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        if len(recent) < self.attempts:
            return 0.0
        return recent[-1] + min(self.max_wait, 2.0 ** (len(recent) - self.attempts)) - now

    def begin(self, name: str, address: str) -> int:
        """0 and the attempt counted as a failure until `succeeded`; or the seconds to wait."""
        now = time.time()
        with self._lock:
            if len(self._failures) > 50_000:  # addresses that stopped trying
                self._failures = {k: v for k, v in self._failures.items() if v[-1] > now - self.window}
            self._recent = [t for t in self._recent if t > now - 1]
            wait = max(self._wait((name, address), now), self._wait((name, "*"), now),
                       1.0 if len(self._recent) >= self.rate else 0.0)
            if wait > 0:
                return int(wait) + 1
            self._recent.append(now)
            for key in ((name, address), (name, "*")):
                self._failures.setdefault(key, []).append(now)
            return 0

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name, address), None)
            self._failures.pop((name, "*"), None)


class Audit:
    """Who saw or exported personal data, when, what and how many rows."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.path = lake.ops("audit.jsonl")
        self._lock = threading.Lock()

    def record(self, user: User, what: str, rows: int, export: str | None = None,
               subjects: list[str] | None = None, address: str | None = None) -> None:
        """`what` never holds a customer id: the customers seen go in `subjects` as keyed
        hashes (Lake.keyed_hash), so the log names nobody to whoever copies it, and
        `custlens audit --user ID` still answers who saw a person."""
        entry = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), "user": user.name,
                 "role": user.role, "what": what, "rows": rows, "export": export,
                 "address": address}
        if subjects:
            entry["subjects"] = sorted({self.lake.keyed_hash(s) for s in subjects})
        self._write(entry)

    def event(self, event: str, name: str, address: str | None, detail: str = "") -> None:
        """What happened to the accounts and the doors: login_ok, login_failed,
        login_throttled, denied, user_added, user_reset, user_removed."""
        self._write({"ts": datetime.now(UTC).isoformat(timespec="seconds"), "event": event,
                     "user": name, "address": address, "what": detail})

    def _write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def about(self, user_id: str) -> list[dict[str, Any]]:
        """Every entry in which this customer was seen (through the keyed hash)."""
        key = self.lake.keyed_hash(user_id)
        return [e for e in self.entries() if key in e.get("subjects", ())]

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
