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
from custlens.hub.lake import Lake, atomic_write_text

ROLES = ("admin", "analyst", "operator")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8


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


class Accounts:
    """Users in `lake/_ops/users.json` (name → role and password hash)."""

    def __init__(self, lake: Lake) -> None:
        self.path = lake.ops("users.json")

    def _load(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}

    def add(self, name: str, role: str, password: str) -> User:
        if role not in ROLES:
            raise CustlensError(f"--role {role!r} is not one of {', '.join(ROLES)}")
        if not name.strip() or len(name) > 64:
            raise CustlensError("a user name is 1 to 64 characters")
        if len(password) < MIN_PASSWORD:
            raise CustlensError(f"the password is shorter than {MIN_PASSWORD} characters")
        users = self._load()
        users[name] = {"role": role, "password": hash_password(password),
                       "created": datetime.now(UTC).isoformat(timespec="seconds")}
        atomic_write_text(self.path, json.dumps(users, ensure_ascii=False, indent=1), mode=0o600)
        return User(name, role)

    def remove(self, name: str) -> None:
        users = self._load()
        if users.pop(name, None) is None:
            raise CustlensError(f"no user {name!r}")
        atomic_write_text(self.path, json.dumps(users, ensure_ascii=False, indent=1), mode=0o600)

    def list(self) -> list[dict[str, Any]]:
        return [{"name": n, "role": u["role"], "created": u["created"]} for n, u in sorted(self._load().items())]

    def check(self, name: str, password: str) -> User | None:
        record = self._load().get(name)
        if record is None:
            verify_password(password, hash_password("timing-equaliser"))  # same cost either way
            return None
        return User(name, record["role"]) if verify_password(password, record["password"]) else None


class Sessions:
    """Server-held session tokens with an expiry and a CSRF token each."""

    def __init__(self, hours: float) -> None:
        self.seconds = hours * 3600
        self._items: dict[str, tuple[User, float, str]] = {}
        self._lock = threading.Lock()

    def open(self, user: User) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self._lock:
            self._items[token] = (user, time.time() + self.seconds, csrf)
        return token, csrf

    def get(self, token: str | None) -> tuple[User, str] | None:
        if not token:
            return None
        with self._lock:
            item = self._items.get(token)
            if item is None or item[1] < time.time():
                self._items.pop(token, None)
                return None
            return item[0], item[2]

    def close(self, token: str | None) -> None:
        with self._lock:
            self._items.pop(token or "", None)


class Throttle:
    """At most `attempts` failed logins per name and address within `window` seconds."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, name: str, address: str) -> int:
        now = time.time()
        with self._lock:
            recent = [t for t in self._failures.get((name, address), []) if t > now - self.window]
            self._failures[(name, address)] = recent
            return int(recent[0] + self.window - now) + 1 if len(recent) >= self.attempts else 0

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.setdefault((name, address), []).append(time.time())

    def clear(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name, address), None)


class Audit:
    """Who saw or exported personal data, when, what and how many rows."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.path = lake.ops("audit.jsonl")
        self._lock = threading.Lock()

    def record(self, user: User, what: str, rows: int, export: str | None = None,
               subjects: list[str] | None = None) -> None:
        """`what` never holds a customer id: the customers seen go in `subjects` as keyed
        hashes (Lake.keyed_hash), so the log names nobody to whoever copies it, and
        `custlens audit --user ID` still answers who saw a person."""
        entry = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), "user": user.name,
                 "role": user.role, "what": what, "rows": rows, "export": export}
        if subjects:
            entry["subjects"] = sorted({self.lake.keyed_hash(s) for s in subjects})
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
