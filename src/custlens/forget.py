"""`custlens forget USER`: remove a person from every layer, ODS included (PIPL art. 47).

The person is their id and every source id the identity map joins to it (log ids,
customer ids, ids sharing their phone). ODS files holding them are rewritten without
their rows (write, fsync, rename: a crash leaves each file whole, and running forget
again finishes the job); rejected records mentioning an id are dropped; every built
table (DWD … ADS, plans' lists included) is removed so the next command rebuilds it
without them. A record of the deletion — when, a hash of the id, how many rows — goes
to `_ops/forgotten.jsonl`; the id itself is not written anywhere.

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
from custlens.hub.lake import LAYERS, Batch, Lake, atomic_write_text
from custlens.hub.lock import writer_lock

ID_COLUMNS = {norm_header(n) for n in ("user_id", *SYNONYMS["user_id"])}


@dataclass
class Forgotten:
    ids: int  # the person's ids found (their own and joined source ids)
    rows: dict[str, int] = field(default_factory=dict)  # removed, per ODS table
    files: int = 0  # files rewritten
    tables_dropped: int = 0  # built tables removed, to be rebuilt


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


def _strip_rejected(path: Path, ids: set[str]) -> int:
    table = pq.read_table(path)
    pattern = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, sorted(ids))) + r")(?![\w])")
    keep = [not (pattern.search(raw or "") or pattern.search(value or ""))
            for raw, value in zip(table.column("raw").to_pylist(),
                                  table.column("value").to_pylist(), strict=True)]
    removed = keep.count(False)
    if removed:
        _rewrite(path, table.filter(pa.array(keep)))
    return removed


def forget(lake: Lake, engine, user_id: str) -> Forgotten:
    ids = person_ids(lake, engine, user_id)
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
        record = {"ts": datetime.now(UTC).isoformat(timespec="seconds"),
                  "user_sha256": hashlib.sha256(user_id.encode("utf-8")).hexdigest(),
                  "ids": len(ids), "rows": result.rows, "files": result.files,
                  "tables_dropped": result.tables_dropped}
        log = lake.ops("forgotten.jsonl")
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return result
