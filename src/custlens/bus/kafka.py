"""The Kafka bus: agents produce, one consumer group writes the lake, exactly once in effect.

Producer (`collect --to kafka://HOST:PORT/TOPIC`): idempotent (acks=all), keyed by user so
a user's events stay in order; the agent's registry advances only after the broker
acknowledged the whole chunk. A broker that is down makes the agent wait (delivery
never times out; the producer's queue is bounded), losing nothing.

Consumer (`custlens consume`): each partition's messages become one ODS batch named by
topic, topic id, partition and offset range (as Kafka Connect's HDFS sink names files);
the group offset is committed only after the batch is in the lake. On every assignment
the consumer starts after the highest offset the lake holds for that topic id — the lake
is the truth, the group offset a hint — so a restart or a rebalance never writes a range
twice. A recreated topic has a new id and is read from its start; a topic whose end lies
before the lake's offsets (a broker that lost its data) is reported and read from its
start. Poison messages go to the quarantine and to the dead-letter topic `<topic>.dlq`.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from custlens import console
from custlens.collect.importers import ImportOptions, ImportResult, ingest_source
from custlens.collect.logagent import event_columns
from custlens.collect.readers import Source
from custlens.errors import CustlensError
from custlens.lake import Lake

# librdkafka's own log lines (a connection refused, every second while a broker is down)
# go to this logger, not straight to stderr; custlens says once what it is waiting for
KAFKA_LOG = logging.getLogger("custlens.kafka")
KAFKA_LOG.addHandler(logging.StreamHandler() if os.environ.get("CUSTLENS_KAFKA_LOG")
                     else logging.NullHandler())
KAFKA_LOG.propagate = False

MAX_MESSAGE_BYTES = 1 << 20  # larger events are poison: quarantined and dead-lettered
ORIGIN_HEADER = "custlens-origin"

# [kafka] settings passed to the client as they are (a real cluster's security)
SECURITY_KEYS = {"security_protocol": "security.protocol", "sasl_mechanism": "sasl.mechanism",
                 "sasl_username": "sasl.username", "sasl_password": "sasl.password",
                 "ssl_ca_location": "ssl.ca.location",
                 "ssl_certificate_location": "ssl.certificate.location",
                 "ssl_key_location": "ssl.key.location"}


@dataclass(frozen=True)
class BusUrl:
    bootstrap: str
    topic: str

    @classmethod
    def parse(cls, url: str) -> BusUrl:
        parsed = urlparse(url)
        topic = parsed.path.strip("/")
        if parsed.scheme != "kafka" or not parsed.netloc or not topic or "/" in topic:
            raise CustlensError(f"{url!r} is not a bus address",
                                hint="kafka://HOST:PORT[,HOST:PORT…]/TOPIC")
        return cls(parsed.netloc, topic)


def client_config(bus: BusUrl, settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """librdkafka settings: the bootstrap servers, the [kafka] security settings, extras."""
    config: dict[str, Any] = {"bootstrap.servers": bus.bootstrap}
    for key, name in SECURITY_KEYS.items():
        if settings.get(key):
            config[name] = settings[key]
    config.update(settings.get("client", {}) or {})
    config.update(extra)
    return config


# ---- producing --------------------------------------------------------------------------------
class KafkaSink:
    """Ships an agent's chunk of lines; returns only when the broker has acknowledged all."""

    STUCK_SECONDS = 20.0  # undelivered this long: start over with a fresh producer

    def __init__(self, bus: BusUrl, settings: dict[str, Any]) -> None:
        self.bus, self.settings = bus, settings
        self.producer = self._producer()
        self.waiting_since: float | None = None

    def _producer(self) -> Any:
        from confluent_kafka import Producer

        return Producer(client_config(self.bus, self.settings, **{
            "enable.idempotence": True, "acks": "all", "linger.ms": 20,
            "message.timeout.ms": 0,  # never give up on a message: the agent waits instead
            "queue.buffering.max.kbytes": 262144, "compression.type": "lz4"}), logger=KAFKA_LOG)

    def ship(self, lines: list[tuple[int, int, bytes]], origin_base: str,
             keys: list[str | None]) -> int:
        """Send and wait. A broker that comes back without its state (a memory broker
        restarted) can leave an idempotent producer's sequence stuck: after STUCK_SECONDS
        the chunk is sent again from a fresh producer — at least once, and the origin ids
        make the repeats one event in DWD."""
        from confluent_kafka import KafkaError

        failures: list[str] = []

        def delivered(err: Any, msg: Any) -> None:
            if err is not None and err.code() not in (KafkaError._PURGE_QUEUE,
                                                      KafkaError._PURGE_INFLIGHT):
                failures.append(str(err))

        while True:
            failures.clear()
            for (n, offset, raw), key in zip(lines, keys, strict=True):
                headers = [(ORIGIN_HEADER, f"{origin_base}|{offset}|{n}".encode())]
                while True:
                    try:
                        self.producer.produce(self.bus.topic, value=raw, key=key, headers=headers,
                                              on_delivery=delivered)
                        break
                    except BufferError:  # the bounded queue is full: wait for the broker
                        self.producer.poll(0.5)
            started = time.time()
            while self.producer.flush(5.0) > 0 and time.time() - started < self.STUCK_SECONDS:
                if self.waiting_since is None:
                    self.waiting_since = time.time()
                    console.warn(f"waiting for the broker at {self.bus.bootstrap} "
                                 "(nothing is lost; the registry stays where it was)")
            if len(self.producer) == 0:
                break
            self.producer.purge(in_queue=True, in_flight=True)
            self.producer.flush(0)
            self.producer = self._producer()
        self.waiting_since = None
        if failures:
            raise CustlensError(f"the broker refused {len(failures)} events: {failures[0]}")
        return len(lines)


# ---- consuming --------------------------------------------------------------------------------
@dataclass
class ConsumeCounts:
    messages: int = 0
    loaded: int = 0
    quarantined: int = 0
    batches: int = 0
    dead_lettered: int = 0
    notes: list[str] = field(default_factory=list)


def lake_positions(lake: Lake, topic: str) -> dict[tuple[str, int], int]:
    """(topic id, partition) → the last offset of the newest batch the lake holds (newest,
    not highest: after a broker lost its data, offsets start again below the old ones)."""
    out: dict[tuple[str, int], int] = {}
    for batch in lake.batches("events"):  # in commit order
        k = batch.options.get("kafka")
        if k and k["topic"] == topic:
            out[(k["topic_id"], k["partition"])] = k["last"]
    return out


def topic_id(admin: Any, topic: str) -> str | None:
    from confluent_kafka import TopicCollection

    try:
        described = admin.describe_topics(TopicCollection([topic]))[topic].result(timeout=30)
    except Exception:
        return None
    return str(described.topic_id)


class BusConsumer:
    def __init__(self, lake: Lake, bus: BusUrl, group: str, settings: dict[str, Any],
                 opts: ImportOptions, shop_tz: str, batch_size: int = 100_000) -> None:
        from confluent_kafka import Consumer, Producer
        from confluent_kafka.admin import AdminClient

        self.lake, self.bus, self.group, self.opts, self.tz = lake, bus, group, opts, shop_tz
        self.batch_size = batch_size
        base = client_config(bus, settings)
        session_ms = int(settings.get("session_timeout_ms", 6000))
        # a heartbeat at most a third of the session (Kafka's advice): librdkafka's fixed 3 s
        # would let a short session lapse between beats and the group rebalance without end
        self.consumer = Consumer({**base, "group.id": group, "enable.auto.commit": False,
                                  "auto.offset.reset": "earliest",
                                  "session.timeout.ms": session_ms,
                                  "heartbeat.interval.ms": max(100, min(3000, session_ms // 3)),
                                  "max.poll.interval.ms": int(settings.get("max_poll_interval_ms", 60000)),
                                  "fetch.max.bytes": 64 << 20}, logger=KAFKA_LOG)
        self.admin = AdminClient(base, logger=KAFKA_LOG)
        self.dlq = Producer({**base, "acks": "all", "enable.idempotence": True}, logger=KAFKA_LOG)
        self.session_timeout_s = session_ms / 1000
        self.counts = ConsumeCounts()
        self.stop = False
        self.assigned: list[Any] = []
        self.topic_id: str | None = None
        self.expected: dict[int, int] = {}  # where each partition should resume
        self.assigned_at = 0.0
        self._ensure = event_columns(opts)

    # -- assignment: start after what the lake holds ------------------------------------
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self.topic_id = topic_id(self.admin, self.bus.topic) or "unknown"
        held = lake_positions(self.lake, self.bus.topic)
        other_ids = {tid for tid, _ in held if tid != self.topic_id}
        if other_ids:
            self._note(f"topic {self.bus.topic} was recreated (id {', '.join(sorted(other_ids))} → "
                       f"{self.topic_id}): reading the new topic from its start")
        for tp in partitions:
            last = held.get((self.topic_id, tp.partition))
            if last is not None:  # else the group's committed offset, else the earliest
                tp.offset = self.expected[tp.partition] = last + 1
        self.assigned = partitions
        self.assigned_at = time.time()
        consumer.assign(partitions)

    def _note(self, text: str) -> None:
        self.counts.notes.append(text)
        console.warn(text)

    # -- the loop -------------------------------------------------------------------------
    def run(self, once: bool = False, idle_seconds: float = 3.0,
            on_batch: Callable[[ConsumeCounts], None] | None = None) -> ConsumeCounts:
        def stop(signum: int, frame: Any) -> None:
            self.stop = True

        old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        self.lake.recover()
        self.consumer.subscribe([self.bus.topic], on_assign=self._on_assign)
        meta = self.consumer.list_topics(self.bus.topic, timeout=30).topics.get(self.bus.topic)
        partitions = len(meta.partitions) if meta and meta.error is None else 0
        # with --once, wait until this member holds every partition (members killed a moment
        # ago still hold theirs until their session times out), unless others live on
        patience = 2 * self.session_timeout_s + 15
        started = idle_since = time.time()
        try:
            while not self.stop:
                messages = self.consumer.consume(self.batch_size, 1.0)
                good = [m for m in messages if m.error() is None]
                for m in messages:
                    error = m.error()
                    if error is not None and error.fatal():
                        raise CustlensError(f"Kafka: {error}")
                if good:
                    self._write(good)
                    idle_since = time.time()
                    if on_batch:
                        on_batch(self.counts)
                elif once and self.assigned and time.time() - max(idle_since, self.assigned_at) > idle_seconds and (
                        len(self.assigned) >= partitions or time.time() - started > patience):
                    if len(self.assigned) < partitions:
                        self._note(f"other members of group {self.group} hold "
                                   f"{partitions - len(self.assigned)} partitions: drained this member's")
                    break
                elif once and not self.assigned and time.time() - idle_since > 60:
                    raise CustlensError(f"no partitions of {self.bus.topic} were assigned within 60 s")
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
            self.consumer.close()
            self.dlq.flush(30)
        return self.counts

    def _write(self, messages: list[Any]) -> None:
        from confluent_kafka import TopicPartition

        by_partition: dict[int, list[Any]] = {}
        for m in messages:
            by_partition.setdefault(m.partition(), []).append(m)
        commits = []
        for partition, msgs in sorted(by_partition.items()):
            want = self.expected.pop(partition, None)
            if want is not None and msgs[0].offset() < want:
                # the broker answered "out of range" and the client went back to the start:
                # the topic lost what the lake holds (a memory broker restarted, say)
                self._note(f"{self.bus.topic}[{partition}]: the lake holds offsets up to {want - 1} but "
                           f"the topic now starts again at {msgs[0].offset()} — the broker lost data; "
                           "reading on from there, nothing new is skipped")
            result = self._batch(partition, msgs)
            self.counts.messages += len(msgs)
            if result.batch is not None:
                self.counts.loaded += result.rows
                self.counts.quarantined += result.rejected
                self.counts.batches += 1
                self._dead_letter(result)
            commits.append(TopicPartition(self.bus.topic, partition, msgs[-1].offset() + 1))
        self.dlq.flush(30)
        self.consumer.commit(offsets=commits, asynchronous=False)

    def _batch(self, partition: int, msgs: list[Any]) -> ImportResult:
        first, last = msgs[0].offset(), msgs[-1].offset()
        tid = self.topic_id or "unknown"
        kafka = {"topic": self.bus.topic, "topic_id": tid, "partition": partition,
                 "first": first, "last": last}
        safe_id = "".join(ch if ch.isalnum() else "_" for ch in tid[:12])
        batch_id = (f"events-kafka-{self.bus.topic}-{safe_id}-{partition}-{first}-{last}-"
                    f"{time.strftime('%Y%m%dT%H%M%S')}")

        def opener(con: duckdb.DuckDBPyConnection, scratch: Path) -> Source:
            return messages_source(con, msgs, self._ensure)

        return ingest_source(self.lake, "events", f"kafka://{self.bus.topic}/{partition}", kafka,
                             opener, self.opts, self.tz, {"kind": "kafka", "kafka": kafka,
                                                          **self.opts.fingerprint_part()},
                             recover=False, check_previous=False, batch_id=batch_id)

    def _dead_letter(self, result: ImportResult) -> None:
        if not result.rejected or result.batch is None or not result.batch.rejected_file:
            return
        rows = pq.read_table(self.lake.root / result.batch.rejected_file).to_pylist()
        for r in rows:
            self.dlq.produce(f"{self.bus.topic}.dlq", value=(r["raw"] or "").encode(),
                             headers=[("reason", (r["reason"] or "").encode()),
                                      ("source", f"{r['_source']}@{r['_offset']}".encode())])
            self.counts.dead_lettered += 1
        self.dlq.poll(0)


def messages_source(con: duckdb.DuckDBPyConnection, msgs: list[Any],
                    ensure: tuple[str, ...]) -> Source:
    """Messages as `src`: custlens events (JSON) or Filebeat's output, poison set apart.

    Per message Python only gathers value, offset and origin header (list comprehensions);
    decoding is one call for the batch when it is all UTF-8, and parsing is DuckDB's.
    """
    from custlens.collect.logagent import json_lines_source, parse_filebeat

    values = [m.value() or b"" for m in msgs]
    offsets = [m.offset() for m in msgs]
    heads = [m.headers() for m in msgs]
    broken: list[dict] = []
    keep = [i for i, v in enumerate(values) if len(v) <= MAX_MESSAGE_BYTES]
    if len(keep) < len(values):
        for i in set(range(len(values))) - set(keep):
            broken.append({"_line": offsets[i], "_offset": offsets[i], "reason":
                           f"message too large ({len(values[i]):,} bytes > {MAX_MESSAGE_BYTES:,})",
                           "raw": values[i][:200].decode("utf-8", "replace")})
    beats = [i for i in keep if values[i].startswith(b'{"@timestamp"')]
    plain = [i for i in keep if not values[i].startswith(b'{"@timestamp"')]
    try:  # one decode for the batch; a value with \x1e is not JSON anyway
        texts = b"\x1e".join(values[i] for i in plain).decode("utf-8").split("\x1e") if plain else []
        if len(texts) != len(plain):
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "record separator inside a value")
    except UnicodeDecodeError:
        texts, good = [], []
        for i in plain:
            try:
                texts.append(values[i].decode("utf-8"))
                good.append(i)
            except UnicodeDecodeError:
                broken.append({"_line": offsets[i], "_offset": offsets[i], "reason": "not UTF-8 text",
                               "raw": values[i].decode("utf-8", "replace")})
        plain = good
    origins = [_origin(heads[i]) for i in plain]
    source = json_lines_source(con, b"", 0, 0, ensure, lines=[offsets[i] for i in plain],
                               offsets=[offsets[i] for i in plain], texts=texts,
                               extra={"_origin": pa.array(origins, pa.string())})
    if beats:  # Filebeat output: parsed record by record, appended to the same view
        records, bad = parse_filebeat([(offsets[i], offsets[i], values[i]) for i in beats])
        broken += bad
        _append_records(con, records, source)
    source.broken = broken + source.broken
    return source


def _origin(headers: list | None) -> str | None:
    if headers:
        for key, value in headers:
            if key == ORIGIN_HEADER:
                return value.decode("utf-8", "replace")
    return None


def _append_records(con: duckdb.DuckDBPyConnection, records: list[dict], source: Source) -> None:
    cols = source.columns
    table = pa.table({"_line": pa.array([r["_line"] for r in records], pa.int64()),
                      "_offset": pa.array([r["_offset"] for r in records], pa.int64()),
                      "_raw": pa.array([r["_raw"] for r in records], pa.string()),
                      **{c: pa.array([None if r.get(c) is None else str(r.get(c)) for r in records],
                                     pa.string()) for c in cols}})
    con.register("beat_records", table)
    names = ", ".join(["_line", "_offset", "_raw"] + [f'"{c}"' for c in cols])
    con.execute(f"CREATE OR REPLACE TEMP TABLE src_all AS SELECT {names} FROM src "
                f"UNION ALL BY NAME SELECT {names} FROM beat_records")
    con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM src_all")


# ---- status -----------------------------------------------------------------------------------
def status(lake: Lake, bus: BusUrl, group: str, settings: dict[str, Any]) -> pa.Table:
    """Per partition: the group's committed offset, the topic's end, lag, what the lake holds."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    base = client_config(bus, settings)
    admin = AdminClient(base, logger=KAFKA_LOG)
    meta = admin.list_topics(bus.topic, timeout=15)
    if bus.topic not in meta.topics or meta.topics[bus.topic].error is not None:
        raise CustlensError(f"{bus.bootstrap}: no topic {bus.topic!r}")
    tid = topic_id(admin, bus.topic)
    partitions = sorted(meta.topics[bus.topic].partitions)
    consumer = Consumer({**base, "group.id": group, "enable.auto.commit": False}, logger=KAFKA_LOG)
    try:
        committed = consumer.committed([TopicPartition(bus.topic, p) for p in partitions], timeout=15)
        held = lake_positions(lake, bus.topic)
        quarantined: dict[int, int] = {}
        for batch in lake.batches("events"):
            k = batch.options.get("kafka")
            if k and k["topic"] == bus.topic and k["topic_id"] == tid:
                quarantined[k["partition"]] = quarantined.get(k["partition"], 0) + batch.rejected
        rows = []
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(bus.topic, tp.partition), timeout=15)
            done = tp.offset if tp.offset >= 0 else None
            rows.append({"topic": bus.topic, "partition": tp.partition, "committed": done,
                         "end": high, "lag": max(high - (done or low), 0),
                         "lake_last": held.get((tid or "", tp.partition)),
                         "quarantined": quarantined.get(tp.partition, 0)})
    finally:
        consumer.close()
    return pa.Table.from_pylist(rows)
