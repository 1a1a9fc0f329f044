"""`custlens forget USER`: remove a person from every layer, ODS included (PIPL art. 47).

The person is their id and every source id the identity map joins to it (log ids,
customer ids, ids sharing their phone). ODS files holding them are rewritten without
their rows (write, fsync, rename: a crash leaves each file whole, and running forget
again finishes the job); rejected records mentioning an id are dropped; every built
table (DWD … ADS, plans' lists included) is removed so the next command rebuilds it
without them, and the lake's forget count enters every build fingerprint, so every table
and the profile store come back under new versions. The profile store loses the person
at once (the embedded store's files, current and kept, are removed; PostgreSQL's rows
are deleted). Text files under the lake that name the person are dealt with: the logs in
`_ops` keep the entry with the id replaced by its keyed hash; a generated file elsewhere
(a report, an exported list) is removed and named. A record of the deletion — when, the
keyed hash of the id (HMAC under the lake's secret, `_ops/secret.key`), how many rows —
goes to `_ops/forgotten.jsonl`; the id itself is not written anywhere.

Out of reach, and said so: the source files and databases the data came from, and
messages still retained on a Kafka topic.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from custlens.collect.dbsync import DatabaseSync
from custlens.collect.mapping import SYNONYMS, norm_header
from custlens.lake import LAYERS, Batch, Lake, atomic_write_text
from custlens.lock import writer_lock

ID_COLUMNS = {norm_header(n) for n in ("user_id", *SYNONYMS["user_id"])}


@dataclass
class Forgotten:
    ids: int  # the person's ids found (their own and joined source ids)
    rows: dict[str, int] = field(default_factory=dict)  # removed, per ODS table
    files: int = 0  # files rewritten
    tables_dropped: int = 0  # built tables removed, to be rebuilt
    store_removed: int = 0  # profile store files (embedded) or rows (PostgreSQL) removed
    logs_rewritten: list[str] = field(default_factory=list)  # _ops logs, id → keyed hash
    files_removed: list[str] = field(default_factory=list)  # generated files that named them


def person_ids(lake: Lake, engine, user_id: str) -> set[str]:
    """The id and every source id that the identity map (if built) or ods_identity joins to it."""
    ids = {user_id}
    quoted = "'" + user_id.replace("'", "''") + "'"
    if lake.current("dim_identity"):
        rows = engine.query(f"SELECT source_id FROM dim_identity WHERE person_id = {quoted}")
        ids |= set(rows.column(0).to_pylist())
    rows = engine.query(f"SELECT source_id FROM ods_identity WHERE user_id = {quoted}")
    return ids | set(rows.column(0).to_pylist())


def _id_columns(batch: Batch, names: list[str], lake: Lake) -> list[str]:
    mapped = set()
    if batch.table.startswith("sync_"):
        job = DatabaseSync.load_job(lake, batch.options.get("job", batch.table.removeprefix("sync_")))
        if job and job.map.get("user_id"):
            mapped.add(job.map["user_id"])
    extra = {"source_id"} if batch.table == "identity" else set()
    return [n for n in names if norm_header(n) in ID_COLUMNS or n in mapped or n in extra]


def _rewrite(path: Path, keep: pa.Table) -> None:
    tmp = path.with_name(f".{path.name}.forget.tmp")
    pq.write_table(keep, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _strip_file(path: Path, columns: list[str], ids: pa.Array) -> int:
    table = pq.read_table(path)
    hit = None
    for name in columns:
        found = pc.is_in(table.column(name).cast(pa.string()), value_set=ids)
        hit = found if hit is None else pc.or_(hit, found)
    if hit is None:
        return 0
    removed = pc.sum(pc.fill_null(hit, False)).as_py() or 0
    if removed:
        _rewrite(path, table.filter(pc.invert(pc.fill_null(hit, False))))
    return int(removed)


def _token_pattern(values: set[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(" + "|".join(map(re.escape, sorted(values, key=len, reverse=True)))
                      + r")(?![\w])")


def _strip_rejected(path: Path, ids: set[str]) -> int:
    table = pq.read_table(path)
    pattern = _token_pattern(ids)
    keep = [not (pattern.search(raw or "") or pattern.search(value or ""))
            for raw, value in zip(table.column("raw").to_pylist(),
                                  table.column("value").to_pylist(), strict=True)]
    removed = keep.count(False)
    if removed:
        _rewrite(path, table.filter(pa.array(keep)))
    return removed


def personal_values(engine, ids: set[str]) -> set[str]:
    """The person's phones and e-mails as loaded, to look for in text files too."""
    listed = ", ".join("'" + i.replace("'", "''") + "'" for i in sorted(ids))
    rows = engine.query(f"SELECT phone, email FROM ods_customers WHERE user_id IN ({listed})")
    return {v for col in rows.columns for v in col.to_pylist() if v and len(v) >= 5}


TEXT_SUFFIXES = {".html", ".htm", ".csv", ".txt", ".json", ".jsonl", ".md", ".tsv", ".xml"}


def _names_them(path: Path, pattern: re.Pattern[str]) -> bool:
    if path.suffix == ".xlsx":
        import zipfile

        try:
            with zipfile.ZipFile(path) as book:
                return any(pattern.search(book.read(n).decode("utf-8", "replace"))
                           for n in book.namelist() if n.endswith(".xml"))
        except zipfile.BadZipFile:
            return False
    return bool(pattern.search(path.read_text(encoding="utf-8", errors="replace")))


def _scrub_files(lake: Lake, ids: set[str], values: set[str], result: Forgotten) -> None:
    """The lake's logs keep their entries with the id replaced by its keyed hash; any other
    text file or workbook under the lake that names the person (a report, a list) goes."""
    keys = {i: f"key:{lake.keyed_hash(i)}" for i in ids}
    # a log written before keyed hashes kept the id's plain SHA-256: that names them too
    keys |= {hashlib.sha256(i.encode()).hexdigest(): keys[i] for i in ids}
    pattern = _token_pattern(set(keys) | values)
    for path in sorted(lake.root.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES | {".xlsx"}:
            continue
        rel = path.relative_to(lake.root)
        if not _names_them(path, pattern):
            continue
        if rel.parts[0] == "_ops" and path.suffix in (".jsonl", ".json"):
            text = path.read_text(encoding="utf-8")
            atomic_write_text(path, pattern.sub(lambda m: keys.get(m.group(1), "[removed]"), text),
                              mode=path.stat().st_mode & 0o777)
            result.logs_rewritten.append(str(rel))
        else:
            path.unlink()
            result.files_removed.append(str(rel))


def forget(lake: Lake, engine, user_id: str, store=None) -> Forgotten:
    """`store`: the configured profile store (serve.store), which loses the person too."""
    ids = person_ids(lake, engine, user_id)
    values = personal_values(engine, ids)
    engine.close()  # nothing may read the files while they are rewritten
    id_array = pa.array(sorted(ids), pa.string())
    result = Forgotten(len(ids))
    with writer_lock(lake.root):
        for batch in lake.batches():
            removed = 0
            for rel in batch.files:
                path = lake.root / rel
                if path.exists():
                    columns = _id_columns(batch, pq.read_schema(path).names, lake)
                    n = _strip_file(path, columns, id_array)
                    removed += n
                    result.files += n > 0
            rejected = 0
            if batch.rejected_file and (lake.root / batch.rejected_file).exists():
                rejected = _strip_rejected(lake.root / batch.rejected_file, ids)
                result.files += rejected > 0
            if removed or rejected:
                result.rows[batch.table] = result.rows.get(batch.table, 0) + removed + rejected
                data = {**batch.__dict__, "rows": batch.rows - removed,
                        "rejected": batch.rejected - rejected}
                atomic_write_text(lake.ops("batches", f"{batch.batch_id}.json"),
                                  json.dumps(data, ensure_ascii=False, indent=1))
        for layer in LAYERS[1:]:
            folder = lake.root / layer
            if folder.exists():
                result.tables_dropped += sum(1 for p in folder.iterdir() if p.is_dir())
                shutil.rmtree(folder)
        shutil.rmtree(lake.ops("tmp"), ignore_errors=True)
        if store is not None:
            result.store_removed = store.forget(sorted(ids))
        _scrub_files(lake, ids, values, result)
        record = {"ts": datetime.now(UTC).isoformat(timespec="seconds"),
                  "user_key": lake.keyed_hash(user_id),
                  "ids": len(ids), "rows": result.rows, "files": result.files,
                  "tables_dropped": result.tables_dropped}
        log = lake.ops("forgotten.jsonl")
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return result
