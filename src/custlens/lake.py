"""The Parquet lake: append-only ODS batches and versioned, atomically published tables.

Layout (Hive-style `dt=YYYY-MM-DD` partitions, readable by any Parquet reader):

    ods/<table>/dt=…/<batch>-<n>.parquet      one import batch's good records
    ods/<table>/_rejected/<batch>.parquet      its rejected records, with reasons
    <layer>/<table>/<version>/[dt=…/]*.parquet a built table (dwd, dim, dws, ads)
    <layer>/<table>/_current.json              which version readers see
    _ops/batches/<batch>.json                  a batch's manifest: its commit point

A batch exists once its manifest is written; files of a batch without a manifest are
debris of a crash and are removed. A table version is written to a temporary folder,
renamed, then published by replacing `_current.json`, so a crash mid-build leaves the
previous version readable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens.errors import CustlensError

LAYERS = ("ods", "dwd", "dim", "dws", "ads")
KEEP_VERSIONS = 2
# What the lake stores, as a number in _ops/format.json. 1: lakes before the number
# existed. 2: built tables of incremental models record their dt partitions
# ("partitions", "static" in _current.json), dws_customer_day is partitioned by dt and
# events are deduplicated per local date — a format-1 lake is read as it is and its
# incremental tables are rebuilt in full once by the first build, which stamps 2.
FORMAT_VERSION = 2
FORMATS = {
    1: "before format versions (through the 2026-12-01 release)",
    2: "incremental tables by dt; dws_customer_day partitioned by dt",
}


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Write, fsync, rename: readers see the old file or the new one, never half. The file
    is created with `mode` (0o600 for secrets), so it is never readable by others even
    for a moment, whatever it replaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)  # not narrowed by the umask's absence, nor widened by it
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_fingerprint(path: Path) -> str:
    """Content hash of a source file, so importing the same file twice is noticed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


_DT_FOLDER = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")


def date_of_path(path: Path | str) -> str | None:
    """The local date of a file in a `dt=YYYY-MM-DD` folder (relative paths: the lake's
    own folders have no such names)."""
    found = _DT_FOLDER.search(str(path))
    return found.group(1) if found else None


def layer_of(table: str) -> str:
    layer = table.split("_", 1)[0]
    if layer not in LAYERS:
        raise CustlensError(f"table {table!r} is not in a known layer ({', '.join(LAYERS)})")
    return layer


@dataclass(frozen=True)
class Batch:
    """One import: a manifest in _ops/batches."""

    batch_id: str
    table: str
    source: str
    fingerprint: str
    created: str
    rows: int
    rejected: int
    files: tuple[str, ...]
    rejected_file: str | None
    options: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Batch:
        return cls(
            data["batch_id"], data["table"], data["source"], data["fingerprint"],
            data["created"], data["rows"], data["rejected"], tuple(data["files"]),
            data.get("rejected_file"), data.get("options", {}),
        )


@dataclass(frozen=True)
class DuckDBLimits:
    """What one DuckDB process over the lake may take (`[duckdb]` settings). DuckDB's own
    default is 80 % of the machine's memory: a big import then takes a laptop's all, where
    with a limit it spills to `spill` (default the lake's `_ops/tmp`) and finishes."""

    memory_limit: str = "2GB"
    threads: int = 0  # 0: every core
    spill: str = ""


class Lake:
    """Paths, batches and table versions of one lake folder."""

    def __init__(self, root: Path | str, limits: DuckDBLimits | None = None) -> None:
        self.root = Path(root).absolute()
        self.limits = limits or DuckDBLimits()
        self._format_stamped = False

    def duckdb(self) -> Any:
        """A DuckDB connection set up for the lake: UTC, the memory limit, threads and spill
        folder of `self.limits`. Every DuckDB process of custlens opens its connection here."""
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        spill = Path(self.limits.spill) if self.limits.spill else self.ops("tmp")
        spill.mkdir(parents=True, exist_ok=True)
        try:
            con.execute(f"SET temp_directory = '{spill}'")
            if self.limits.memory_limit:
                con.execute(f"SET memory_limit = '{self.limits.memory_limit}'")
            if self.limits.threads:
                con.execute(f"SET threads = {int(self.limits.threads)}")
        except duckdb.Error as exc:
            con.close()
            raise CustlensError(f"[duckdb] settings {self.limits}: {exc}",
                                hint="memory_limit like '2GB' or '500MB', threads a whole number") from exc
        return con

    # ---- format --------------------------------------------------------------------
    def format_version(self) -> int:
        """The lake's format: from _ops/format.json; 1 for a lake written before the file
        existed; the current one for a lake with nothing in it yet."""
        path = self.ops("format.json")
        if path.exists():
            return int(json.loads(path.read_text())["format"])
        return 1 if self.ops("batches").exists() else FORMAT_VERSION

    def check_format(self) -> int:
        """Refuse a lake written by a newer custlens (it may store what this one misreads)."""
        found = self.format_version()
        if found > FORMAT_VERSION:
            raise CustlensError(
                f"the lake at {self.root} has format {found}; this custlens reads formats up "
                f"to {FORMAT_VERSION}", hint="upgrade custlens to open it (pip install -U custlens)")
        return found

    def upgrade(self) -> list[str]:
        """Bring the lake to FORMAT_VERSION; returns what was done, one line per step. Every
        step so far needs no file rewritten (an old table is read as it is; the next build
        replaces what it must), so writers run it themselves; `custlens upgrade` names it."""
        if self._format_stamped:
            return []
        found = self.check_format()
        if found == FORMAT_VERSION and self.ops("format.json").exists():
            self._format_stamped = True
            return []
        steps = [f"format {v} → {v + 1}: {FORMATS[v + 1]}" for v in range(found, FORMAT_VERSION)]
        record = {"format": FORMAT_VERSION, "upgraded": time.time(), "from": found}
        atomic_write_text(self.ops("format.json"), json.dumps(record, indent=1))
        self._format_stamped = True  # every publish and batch commit asks: once is enough
        return steps

    # ---- paths ---------------------------------------------------------------------
    def ops(self, *parts: str) -> Path:
        return self.root.joinpath("_ops", *parts)

    def secret(self) -> bytes:
        """The lake's own key (32 random bytes in `_ops/secret.key`, mode 0600) for keyed
        hashes of personal values: whoever holds only derived data cannot reverse them by
        trying every phone number."""
        path = self.ops("secret.key")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
            try:
                os.link(tmp, path)  # never replace a key another process wrote first
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_bytes()

    def keyed_hash(self, value: str) -> str:
        """A customer id as the records about it keep it (the forget log, the audit log):
        HMAC-SHA256 under the lake's secret, so a copy of those records names nobody, while
        whoever runs custlens on the lake can still ask "who saw this person"."""
        import hmac

        return hmac.new(self.secret(), f"id:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def forget_generation(self) -> int:
        """How many forgets the lake has seen. Every build fingerprint includes it, so after
        a forget every derived table and the profile store get a new version."""
        log = self.ops("forgotten.jsonl")
        if not log.exists():
            return 0
        with open(log, "rb") as fh:
            return sum(1 for line in fh if line.strip())

    def table_dir(self, table: str) -> Path:
        return self.root / layer_of(table) / table

    # ---- batches -------------------------------------------------------------------
    def new_batch_id(self, table: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return f"{table}-{stamp}-{uuid.uuid4().hex[:6]}"

    def staging(self, batch_id: str) -> Path:
        path = self.ops("staging", batch_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def batches(self, table: str | None = None) -> list[Batch]:
        folder = self.ops("batches")
        if not folder.exists():
            return []
        out = [Batch.from_json(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
        out = [b for b in out if table is None or b.table == table]
        return sorted(out, key=lambda b: (b.created, b.batch_id))

    def find_batch(self, batch_id: str) -> Batch:
        path = self.ops("batches", f"{batch_id}.json")
        if not path.exists():
            known = ", ".join(b.batch_id for b in self.batches()[-5:]) or "none"
            raise CustlensError(f"no batch {batch_id!r} in {self.root}", hint=f"recent: {known}")
        return Batch.from_json(json.loads(path.read_text()))

    def batch_with_fingerprint(self, table: str, fingerprint: str) -> Batch | None:
        return next((b for b in self.batches(table) if b.fingerprint == fingerprint), None)

    def commit_batch(
        self, batch_id: str, table: str, source: str, fingerprint: str,
        staged: Path, rows: int, rejected: int, options: dict[str, Any],
    ) -> Batch:
        """Move staged files into ODS, then write the manifest (the commit point)."""
        self.upgrade()
        ods = self.root / "ods" / table
        files: list[str] = []
        rejected_file = None
        for path in sorted(staged.rglob("*.parquet")):
            rel = path.relative_to(staged)
            if rel.parts[0] == "_rejected":
                dest = ods / "_rejected" / f"{batch_id}.parquet"
                rejected_file = str(dest.relative_to(self.root))
            else:
                dest = ods.joinpath(*rel.parts[:-1], f"{batch_id}-{len(files)}.parquet")
                files.append(str(dest.relative_to(self.root)))
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
        batch = Batch(
            batch_id, table, source, fingerprint,
            datetime.now(UTC).isoformat(timespec="microseconds"), rows, rejected,
            tuple(files), rejected_file, options,
        )
        atomic_write_text(self.ops("batches", f"{batch_id}.json"),
                          json.dumps(batch.__dict__, ensure_ascii=False, indent=1))
        shutil.rmtree(staged, ignore_errors=True)
        return batch

    def commit_arrow(self, table: str, data: Any, source: str, fingerprint: str,
                     options: dict[str, Any]) -> tuple[Batch, bool]:
        """Record an in-memory Arrow table (a plan, an opt-out typed at the prompt) as one
        batch of ODS table `table`, load metadata added. The same fingerprint twice is
        recorded once: returns (batch, created)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from custlens.lock import writer_lock

        with writer_lock(self.root):
            if previous := self.batch_with_fingerprint(table, fingerprint):
                return previous, False
            batch_id = self.new_batch_id(table)
            staged = self.staging(batch_id)
            n = data.num_rows
            data = (data.append_column("_batch_id", pa.array([batch_id] * n, pa.string()))
                    .append_column("_source", pa.array([source] * n, pa.string()))
                    .append_column("_line", pa.array(range(1, n + 1), pa.int64()))
                    .append_column("_offset", pa.nulls(n, pa.int64())))
            if n:
                pq.write_table(data, staged / "data.parquet")
            return self.commit_batch(batch_id, table, source, fingerprint, staged, n, 0,
                                     options), True

    def undo_batch(self, batch_id: str) -> Batch:
        """Forget the manifest first (readers stop seeing it), then remove the files."""
        batch = self.find_batch(batch_id)
        self.ops("batches", f"{batch_id}.json").unlink()
        for rel in (*batch.files, batch.rejected_file):
            if rel:
                (self.root / rel).unlink(missing_ok=True)
        return batch

    def ods_files(self, table: str, dates: set[str] | None = None) -> list[Path]:
        """An ODS table's committed files; with `dates`, only those of these `dt=` folders."""
        return [self.root / f for b in self.batches(table) for f in b.files
                if dates is None or date_of_path(f) in dates]

    def built_files(self, table: str, dates: set[str] | None = None) -> list[Path]:
        """A built table's published Parquet files; with `dates`, only those `dt=` folders."""
        meta = self.current(table)
        if meta is None:
            return []
        folder = self.table_dir(table) / meta["version"]
        if dates is None:
            return sorted(folder.rglob("*.parquet"))
        return sorted(p for d in dates for p in (folder / f"dt={d}").glob("*.parquet"))

    def rejected_files(self) -> list[Path]:
        return [self.root / b.rejected_file for b in self.batches() if b.rejected_file]

    def recover(self) -> int:
        """Remove what a crash left behind: staging folders and files of uncommitted batches."""
        removed = 0
        shutil.rmtree(self.ops("staging"), ignore_errors=True)
        committed = {f for b in self.batches() for f in (*b.files, b.rejected_file) if f}
        ods = self.root / "ods"
        if ods.exists():
            for path in ods.rglob("*.parquet"):
                if str(path.relative_to(self.root)) not in committed:
                    path.unlink()
                    removed += 1
        return removed

    # ---- built tables --------------------------------------------------------------
    def current(self, table: str) -> dict[str, Any] | None:
        pointer = self.table_dir(table) / "_current.json"
        return json.loads(pointer.read_text()) if pointer.exists() else None

    def version_dir(self, table: str) -> Path | None:
        cur = self.current(table)
        return self.table_dir(table) / cur["version"] if cur else None

    def new_version_dir(self, table: str) -> Path:
        path = self.table_dir(table) / f"_tmp-{uuid.uuid4().hex[:10]}"
        path.mkdir(parents=True)
        return path

    def publish(self, table: str, tmp: Path, version: str, meta: dict[str, Any]) -> None:
        """Rename the written folder to its version, then point readers at it."""
        self.upgrade()
        final = self.table_dir(table) / version
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        meta = {"version": version, "published": time.time(), **meta}
        atomic_write_text(self.table_dir(table) / "_current.json", json.dumps(meta, indent=1))
        self._collect_garbage(table, keep=version)

    def _collect_garbage(self, table: str, keep: str) -> None:
        """Keep the published version and the one before it; drop the rest and debris."""
        folder = self.table_dir(table)
        for tmp in folder.glob("_tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        older = sorted(
            (p for p in folder.iterdir() if p.is_dir() and p.name != keep),
            key=lambda p: p.stat().st_mtime, reverse=True,
        )
        for path in older[KEEP_VERSIONS - 1:]:
            shutil.rmtree(path, ignore_errors=True)

    def synced_files(self) -> dict[str, list[Path]]:
        """Each database sync job's files (table sync_<job>), for the ods_sync_<job> views."""
        files: dict[str, list[Path]] = {}
        for batch in self.batches():
            if batch.table.startswith("sync_") and batch.files:
                files.setdefault(batch.table, []).extend(self.root / f for f in batch.files)
        return files

    def batches_table(self) -> pa.Table:
        """Every batch as a row (the ops_batches view), for SQL over the lake's history."""
        rows = [{"batch_id": b.batch_id, "table_name": b.table, "source": b.source,
                 "created": b.created, "rows": b.rows, "rejected": b.rejected,
                 "files": len(b.files), "options": json.dumps(b.options, ensure_ascii=False)}
                for b in self.batches()]
        if rows:
            return pa.Table.from_pylist(rows)
        names = ["batch_id", "table_name", "source", "created", "rows", "rejected", "files", "options"]
        return pa.table({c: pa.array([], pa.string()) for c in names})

    def built_tables(self) -> list[str]:
        out = []
        for layer in LAYERS[1:]:
            folder = self.root / layer
            if folder.exists():
                out += [p.name for p in sorted(folder.iterdir()) if (p / "_current.json").exists()]
        return out
