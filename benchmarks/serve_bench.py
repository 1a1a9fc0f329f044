"""Serve figures (issue #8 goals: p95 < 50 ms at 200 requests/s on the main API endpoints;
profile look-ups p95 < 10 ms from both stores), at 1M customers.

The analyses come from a generated shop (20,000 customers, a year); the profile store
holds 1,000,000 customers: the shop's profiles copied under new ids (so values are real
ones), published to the embedded DuckDB store and to PostgreSQL. `custlens serve` runs in
its own process; an open-loop load generator on loopback sends 200 requests/s for 20 s,
spread over the main endpoints, and records each latency. Peers for the look-ups: the
same point query through a bare DuckDB connection and through bare psycopg.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

CUSTOMERS = 1_000_000
RATE, SECONDS = 200, 20
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 2 else float("nan")


def _scaled(profiles: pa.Table, n: int) -> pa.Table:
    parts, copy = [], 0
    while sum(p.num_rows for p in parts) < n:
        ids = pc.binary_join_element_wise(profiles.column("user_id"), pa.scalar(f"-{copy}"), "")
        parts.append(profiles.set_column(0, "user_id", ids))
        copy += 1
    return pa.concat_tables(parts).slice(0, n)


def prepare(work: Path) -> tuple[Path, list[str]]:
    import duckdb

    from custlens import Workspace
    from custlens.collect.generate import ShopSpec
    from custlens.serve.auth import Accounts
    from custlens.store import DuckDBStore, PostgresStore, ranked_sql

    lake = work / "serve_lake"
    shutil.rmtree(lake, ignore_errors=True)
    ws = Workspace(lake=lake)
    ws.generate(ShopSpec(users=20_000, days=365, seed=9))
    ws.build()
    scaled = _scaled(ws.engine.query("SELECT * FROM ads_profile"), CUSTOMERS)  # noqa: F841
    profiles = duckdb.sql(ranked_sql("scaled")).to_arrow_table()
    contacts = _scaled(ws.engine.query("SELECT user_id, phone, email, address, birthday "
                                       "FROM dwd_customers ORDER BY user_id"), CUSTOMERS)
    version = ws.lake.current("ads_profile")["version"]
    DuckDBStore(ws.lake).publish(profiles, version, contacts)
    PostgresStore(PG).publish(profiles, version, contacts)
    Accounts(ws.lake).add("bench", "analyst", "bench-password")
    ids = random.Random(3).sample(profiles.column("user_id").to_pylist(), 2000)
    ws.close()
    return lake, ids


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Conn:
    """One keep-alive HTTP/1.1 connection, written by hand: the load generator must cost
    little CPU on this 2-core machine, or it measures itself (httpx spent ~9 ms a request)."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: {self.cookie}\r\n\r\n"
                          .encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await self.reader.readexactly(length)
        return status


async def _load(base: str, ids: list[str]) -> dict[str, list[float]]:
    import httpx

    paths = ["/api/overview", "/api/segments", "/api/classes", "/api/funnel", "/api/channels",
             "/api/periods", "/api/retention", "/api/repurchase"]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        csrf = (await client.get("/api/csrf")).json()["csrf"]
        r = await client.post("/api/login", json={"name": "bench", "password": "bench-password"},
                              headers={"X-CSRF-Token": csrf})
        r.raise_for_status()
        cookie = f"custlens_session={client.cookies.get('custlens_session')}"
    host, port = base.removeprefix("http://").split(":")
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(48):
        pool.put_nowait(_Conn(host, int(port), cookie))
    latencies: dict[str, list[float]] = {}
    errors = 0

    async def one(path: str, kind: str, due: float) -> None:
        nonlocal errors
        conn = await pool.get()  # waiting for a free connection counts in the latency
        try:
            status = await conn.get(path)
        finally:
            pool.put_nowait(conn)
        latencies.setdefault(kind, []).append(time.perf_counter() - due)
        errors += status != 200

    # warm-up, not measured: every connection opened, the store opened, the plan index and
    # the search count built, each analysis answered once (the server caches it per build)
    warm = paths + [f"/api/customers/{ids[0]}", "/api/customers?class=core&page=1&size=50"]
    conns = [pool.get_nowait() for _ in range(pool.qsize())]
    for n, conn in enumerate(conns):
        await conn.get(warm[n % len(warm)])
        pool.put_nowait(conn)
    tasks, start = [], time.perf_counter()
    for i in range(RATE * SECONDS):
        due = start + i / RATE
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        roll = i % 10
        if roll < 4:
            path, kind = f"/api/customers/{ids[i % len(ids)]}", "profile"
        elif roll < 5:
            path, kind = f"/api/customers?class=core&page={1 + i % 50}&size=50", "search"
        else:
            path, kind = paths[i % len(paths)], "analyses"
        tasks.append(asyncio.create_task(one(path, kind, due)))
    await asyncio.gather(*tasks)
    achieved = RATE * SECONDS / (time.perf_counter() - start)
    latencies["_meta"] = [achieved, errors]
    return latencies


def _lookups(lake: Path, ids: list[str]) -> dict[str, float]:
    import duckdb
    import psycopg

    from custlens.lake import Lake
    from custlens.store import DuckDBStore, PostgresStore

    out = {}
    for name, store in (("duckdb-store", DuckDBStore(Lake(lake))), ("postgres-store", PostgresStore(PG))):
        store.get(ids[0])
        times = []
        for uid in ids:
            t0 = time.perf_counter()
            assert store.get(uid) is not None
            times.append(time.perf_counter() - t0)
        out[name] = times
    pointer = next((lake / "serve" / "profiles").glob("profiles-*.duckdb"))
    con = duckdb.connect(str(pointer), read_only=True)
    times = []
    for uid in ids:
        t0 = time.perf_counter()
        con.execute("SELECT * FROM custlens_profile WHERE user_id = ?", [uid]).fetchall()
        times.append(time.perf_counter() - t0)
    out["bare-duckdb"] = times
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test") as conn:
        times = []
        for uid in ids:
            t0 = time.perf_counter()
            conn.execute("SELECT * FROM custlens_profile WHERE user_id = %s", [uid]).fetchall()
            times.append(time.perf_counter() - t0)
    out["bare-psycopg"] = times
    return out


def run(work: Path) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from services import ensure_postgres

    assert ensure_postgres() is None, "PostgreSQL is needed for the serve figures"
    lake, ids = prepare(work)
    port = _port()
    env = {**os.environ, "CUSTLENS_QUIET": "1", "CUSTLENS_SERVE__SECURE_COOKIES": "false"}
    server = subprocess.Popen([sys.executable, "-m", "custlens.cli", "--lake", str(lake), "serve",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        latencies = asyncio.run(_load(f"http://127.0.0.1:{port}", ids))
    finally:
        server.terminate()
        server.wait(10)
    achieved, errors = latencies.pop("_meta")
    results = [{"contender": f"serve-{kind}", "requests": len(v), "p50_ms": round(_p(v, 50) * 1000, 1),
                "p95_ms": round(_p(v, 95) * 1000, 1), "rate": round(achieved), "errors": int(errors),
                "customers": CUSTOMERS} for kind, v in latencies.items()]
    every = [x for v in latencies.values() for x in v]
    results.append({"contender": "serve-all", "requests": len(every), "p50_ms": round(_p(every, 50) * 1000, 1),
                    "p95_ms": round(_p(every, 95) * 1000, 1), "rate": round(achieved),
                    "errors": int(errors), "customers": CUSTOMERS})
    for name, times in _lookups(lake, ids).items():
        results.append({"contender": f"lookup-{name}", "requests": len(times),
                        "p50_ms": round(_p(times, 50) * 1000, 2), "p95_ms": round(_p(times, 95) * 1000, 2),
                        "customers": CUSTOMERS})
    return results


def report(results: list[dict]) -> None:
    print(f"\nserve at {CUSTOMERS:,} customers, {RATE} requests/s offered for {SECONDS} s "
          "(goal: p95 < 50 ms; look-ups p95 < 10 ms):")
    for r in results:
        goal = 10 if r["contender"].startswith("lookup-") and "store" in r["contender"] else 50
        verdict = ("met" if r["p95_ms"] < goal else "missed") if "bare" not in r["contender"] else "peer"
        rate = f" at {r['rate']} req/s, {r['errors']} errors" if "rate" in r else ""
        print(f"  {r['contender']:<22} {r['requests']:>6} requests  p50 {r['p50_ms']:>7} ms  "
              f"p95 {r['p95_ms']:>7} ms{rate}  {verdict}")


if __name__ == "__main__":
    report(run(Path(__file__).resolve().parent / "work"))
