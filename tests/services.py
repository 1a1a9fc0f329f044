"""The real servers the tests talk to: started when installed but stopped, installed from
Debian's packages when missing (the machine's standard ports: PostgreSQL 5432, MariaDB 3306)."""

from __future__ import annotations

import glob
import shutil
import socket
import subprocess
import time


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _wait(port: int, seconds: float = 30) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if port_open(port):
            return True
        time.sleep(0.3)
    return False


def _apt(*packages: str) -> None:
    subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


def ensure_postgres() -> str | None:
    """Why PostgreSQL is not available, or None when it answers on 5432."""
    if port_open(5432):
        return None
    if not glob.glob("/etc/postgresql/*"):
        _apt("postgresql")
    for version in glob.glob("/etc/postgresql/*"):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version.rsplit("/", 1)[1],
                        "main", "start"], check=False, capture_output=True)
    return None if _wait(5432) else "PostgreSQL did not start on 127.0.0.1:5432"


def postgres_database(name: str) -> str:
    """A database of the test's own on the machine's PostgreSQL (made if missing), so tests
    running side by side (make test's two workers) never share a table; its SQLAlchemy URL."""
    import psycopg

    problem = ensure_postgres()
    assert problem is None, problem
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def ensure_mariadb() -> str | None:
    if port_open(3306):
        return None
    if not shutil.which("mariadbd"):
        _apt("mariadb-server")
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec",
                    "/usr/sbin/mariadbd"], check=False, capture_output=True)
    return None if _wait(3306) else "MariaDB did not start on 127.0.0.1:3306"


CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> str | None:
    """Debian's Chromium and CJK fonts (so Chinese renders in screenshots)."""
    if not shutil.which("chromium") or not glob.glob("/usr/share/fonts/opentype/noto/NotoSansCJK*"):
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
        _apt("chromium", "fonts-noto-cjk")
    return None if shutil.which("chromium") else "chromium could not be installed from Debian's packages"
