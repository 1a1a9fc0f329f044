"""Alerts: anomalies of ads_monitor sent to the people who act on them, once.

Rules come from config (`[[monitor.alerts]]`): which KPIs and scopes, a minimum volume,
quiet hours, recipients. A recipient is `kind:target` — `webhook:URL` (a generic JSON
body), `wecom:URL`, `dingtalk:URL`, `feishu:URL` (each robot's own message format),
`email:ADDRESS` (SMTP from `[monitor.smtp]`, password from CUSTLENS_SMTP_PASSWORD) or
`file:PATH` (JSON lines appended).

Delivery is recorded in a ledger (`_ops/alerts/ledger.jsonl`, one fsynced line per
change). Each anomaly × rule × recipient has an idempotency key; detection writes it as
`pending` before anything is sent, a success writes `sent`, a failure `failed` with the
error (retried within the run, and again by the next run). So a kill between detection
and sending sends it once, on the next run; a key once `sent` is never sent again.
Delivery is at least once, not exactly once: a kill after a receiver accepted a message
but before `sent` was written sends it again — the key travels with the message (the
`Idempotency-Key` header, the body's `key`) so a receiver can drop the copy.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import smtplib
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from custlens import i18n
from custlens.errors import CustlensError

KINDS = ("webhook", "wecom", "dingtalk", "feishu", "email", "file")
ATTEMPTS = 3  # per run, with backoff
BACKOFF_S = 0.5
SMTP_PASSWORD_ENV = "CUSTLENS_SMTP_PASSWORD"


@dataclass(frozen=True)
class Rule:
    name: str
    to: tuple[str, ...]
    kpis: tuple[str, ...] = ()  # empty: every KPI
    scopes: tuple[str, ...] = ("all",)  # patterns: "all", "channel=*", "class=core"
    directions: tuple[str, ...] = ("up", "down", "gap")
    min_volume: float = 0.0
    quiet_hours: tuple[dt.time, dt.time] | None = None  # held, sent after them

    def matches(self, row: dict[str, Any]) -> bool:
        return ((not self.kpis or row["kpi"] in self.kpis)
                and any(fnmatch.fnmatchcase(row["scope"], p) for p in self.scopes)
                and row.get("direction") in self.directions
                and (row.get("volume") or 0) >= self.min_volume)

    def quiet(self, now: dt.datetime) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        t = now.time()
        return start <= t < end if start <= end else (t >= start or t < end)


def parse_rules(raw: Iterable[dict[str, Any]]) -> list[Rule]:
    """`[[monitor.alerts]]` entries as rules; a bad entry names itself and its field."""
    rules = []
    for n, entry in enumerate(raw, start=1):
        where = f"monitor.alerts[{n}]"
        if not isinstance(entry, dict):
            raise CustlensError(f"{where}: expected a table, got {entry!r}")
        to = entry.get("to") or []
        to = [to] if isinstance(to, str) else list(to)
        if not to:
            raise CustlensError(f"{where}.to: no recipient", hint='e.g. to = ["wecom:https://…"]')
        for r in to:
            kind, _, target = str(r).partition(":")
            if kind not in KINDS or not target:
                raise CustlensError(f"{where}.to: {r!r} is not kind:target",
                                    hint=f"kinds: {', '.join(KINDS)}")
        unknown = set(entry.get("kpis", [])) - set(i18n.KPI_NAMES)
        if unknown:
            raise CustlensError(f"{where}.kpis: unknown {', '.join(sorted(unknown))}",
                                hint=f"KPIs: {', '.join(i18n.KPI_NAMES)}")
        rules.append(Rule(
            name=str(entry.get("name", f"rule{n}")), to=tuple(to),
            kpis=tuple(entry.get("kpis", ())), scopes=tuple(entry.get("scopes", ("all",))),
            directions=tuple(entry.get("directions", ("up", "down", "gap"))),
            min_volume=float(entry.get("min_volume", 0)),
            quiet_hours=_hours(entry.get("quiet_hours"), where)))
    return rules


def _hours(text: str | None, where: str) -> tuple[dt.time, dt.time] | None:
    if not text:
        return None
    try:
        a, b = str(text).split("-")
        return dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())
    except ValueError as exc:
        raise CustlensError(f"{where}.quiet_hours: {text!r} is not HH:MM-HH:MM") from exc


def alert_key(row: dict[str, Any], rule: str, recipient: str) -> str:
    text = "|".join(str(x) for x in (row["date"], row["kpi"], row["scope"], row["direction"],
                                     rule, recipient))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# ---- the ledger ----------------------------------------------------------------------
@dataclass
class Ledger:
    path: Path

    def states(self) -> dict[str, dict[str, Any]]:
        """Each key's latest record (later lines win)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line torn by a kill: the line before it stands
                    out[rec["key"]] = {**out.get(rec["key"], {}), **rec}
        return out

    def append(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


# ---- messages ------------------------------------------------------------------------
def message_text(rows: list[dict[str, Any]], lang: str, currency: str) -> tuple[str, str]:
    """(title, body) of one message listing anomalies, in the shop's language."""
    title = i18n.pick(lang, f"custlens 监控: {len(rows)} 项异常", f"custlens monitor: {len(rows)} anomalies")
    lines = []
    for r in rows:
        t = i18n.monitor_labels(r, lang, currency)
        band = f"{t['low_text']}–{t['high_text']}"
        driver = (i18n.pick(lang, f"; 主因 {t['driver_name']}", f"; driver {t['driver_name']}")
                  if t["driver_name"] else "")
        head = f"- {r['date']} {t['scope_name']} {t['kpi_name']} {t['direction_name'] or ''}"
        lines.append(i18n.pick(
            lang, f"{head}: 实际 {t['actual_text']}, 预期 {t['expected_text']} ({band}){driver}",
            f"{head}: {t['actual_text']}, expected {t['expected_text']} ({band}){driver}"))
    return title, "\n".join(lines)


def payload(kind: str, rows: list[dict[str, Any]], keys: list[str], lang: str,
            currency: str) -> dict[str, Any]:
    """The JSON body for a webhook kind: each robot's documented message format."""
    title, body = message_text(rows, lang, currency)
    if kind == "wecom":  # 企业微信群机器人
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{body}"}}
    if kind == "dingtalk":  # 钉钉自定义机器人
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{body}"}}
    if kind == "feishu":  # 飞书自定义机器人
        return {"msg_type": "text", "content": {"text": f"{title}\n{body}"}}
    alerts = [{**{k: r.get(k) for k in ("date", "kpi", "scope", "actual", "expected", "low",
                                        "high", "direction", "driver", "note", "volume")},
               "key": key} for r, key in zip(rows, keys, strict=True)]
    return {"source": "custlens", "title": title, "text": body, "alerts": alerts}


@dataclass
class Delivery:
    """What sends: per kind a function (target, rows, keys) → None, raising on failure."""

    lang: str = "zh"
    currency: str = "CNY"
    smtp: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 10.0

    def send(self, recipient: str, rows: list[dict[str, Any]], keys: list[str]) -> None:
        kind, _, target = recipient.partition(":")
        if kind == "email":
            return self._email(target, rows)
        if kind == "file":
            return self._file(Path(target), rows, keys)
        body = json.dumps(payload(kind, rows, keys, self.lang, self.currency),
                          ensure_ascii=False, default=str).encode()
        request = urllib.request.Request(target, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": hashlib.sha256("|".join(keys).encode()).hexdigest()[:32]})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
            reply = resp.read()
        if kind in ("dingtalk", "wecom", "feishu"):  # robots answer 200 with an error code
            _robot_ok(kind, reply)

    def _email(self, to: str, rows: list[dict[str, Any]]) -> None:
        host = self.smtp.get("host")
        if not host:
            raise CustlensError("monitor.smtp.host is not set: e-mail alerts need a server")
        title, body = message_text(rows, self.lang, self.currency)
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = title, self.smtp.get("sender", "custlens@localhost"), to
        msg.set_content(body)
        with smtplib.SMTP(host, int(self.smtp.get("port", 25)), timeout=self.timeout_s) as s:
            if self.smtp.get("starttls"):
                s.starttls()
            password = os.environ.get(SMTP_PASSWORD_ENV)
            if self.smtp.get("user") and password:
                s.login(str(self.smtp["user"]), password)
            s.send_message(msg)

    def _file(self, path: Path, rows: list[dict[str, Any]], keys: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            for alert in payload("webhook", rows, keys, self.lang, self.currency)["alerts"]:
                fh.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")


def _robot_ok(kind: str, reply: bytes) -> None:
    try:
        data = json.loads(reply or b"{}")
    except json.JSONDecodeError:
        return
    code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
    if code not in (0, None):
        raise CustlensError(f"{kind} robot refused the message: {data}")


@dataclass
class Outcome:
    detected: int = 0  # new keys written as pending
    sent: int = 0
    failed: int = 0
    held: int = 0  # quiet hours
    already: int = 0  # sent by an earlier run
    errors: list[str] = field(default_factory=list)


def deliver(ledger: Ledger, anomalies: list[dict[str, Any]], rules: list[Rule],
            delivery: Delivery, now: dt.datetime | None = None,
            after_detect: Callable[[], None] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Record every matching anomaly as pending, then send what is pending or failed.

    `after_detect` runs between the two (a test kills the process there)."""
    now = now or dt.datetime.now()
    states = ledger.states()
    out = Outcome()
    fresh: list[dict[str, Any]] = []
    wanted: dict[str, tuple[dict[str, Any], Rule, str]] = {}
    for row in anomalies:
        for rule in rules:
            if not rule.matches(row):
                continue
            for recipient in rule.to:
                key = alert_key(row, rule.name, recipient)
                wanted[key] = (row, rule, recipient)
                if key not in states:
                    fresh.append({"key": key, "state": "pending", "at": now.isoformat(),
                                  "rule": rule.name, "recipient": _safe(recipient),
                                  "attempts": 0, "alert": _brief(row)})
    ledger.append(fresh)
    out.detected = len(fresh)
    if after_detect:
        after_detect()
    states = ledger.states()
    by_recipient: dict[str, list[str]] = {}
    for key, (_row, rule, recipient) in wanted.items():
        state = states.get(key, {}).get("state")
        if state == "sent":
            out.already += 1
        elif rule.quiet(now):
            out.held += 1
        else:
            by_recipient.setdefault(recipient, []).append(key)
    for recipient, keys in by_recipient.items():
        rows = [wanted[k][0] for k in keys]
        error = _try_send(delivery, recipient, rows, keys, sleep)
        attempts = {k: int(states.get(k, {}).get("attempts", 0)) + (1 if error is None else ATTEMPTS)
                    for k in keys}
        stamp = dt.datetime.now().isoformat()
        if error is None:
            ledger.append([{"key": k, "state": "sent", "at": stamp, "attempts": attempts[k]}
                           for k in keys])
            out.sent += len(keys)
        else:
            ledger.append([{"key": k, "state": "failed", "at": stamp, "attempts": attempts[k],
                            "error": error} for k in keys])
            out.failed += len(keys)
            out.errors.append(f"{_safe(recipient)}: {error}")
    return out


def _try_send(delivery: Delivery, recipient: str, rows: list[dict[str, Any]], keys: list[str],
              sleep: Callable[[float], None]) -> str | None:
    """None on success, else the last error after ATTEMPTS tries with backoff."""
    error = None
    for attempt in range(ATTEMPTS):
        try:
            delivery.send(recipient, rows, keys)
            return None
        except Exception as exc:  # every failure is recorded and retried, none is fatal
            error = f"{type(exc).__name__}: {exc}"
            if attempt < ATTEMPTS - 1:
                sleep(BACKOFF_S * 2 ** attempt)
    return error


def _safe(recipient: str) -> str:
    """A recipient as the ledger and logs show it: a robot URL's key (its secret) cut."""
    kind, _, target = recipient.partition(":")
    if kind in ("wecom", "dingtalk", "feishu", "webhook") and "?" in target:
        return f"{kind}:{target.split('?', 1)[0]}?…"
    if kind in ("feishu",) and "/hook/" in target:
        return f"{kind}:{target.split('/hook/', 1)[0]}/hook/…"
    return recipient


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("date", "kpi", "scope", "direction", "actual", "expected")}


def acknowledge(ledger: Ledger, key: str, who: str) -> dict[str, Any]:
    """Mark an alert as seen by `who` (the dashboard's acknowledgement)."""
    states = ledger.states()
    if key not in states:
        raise CustlensError(f"no alert with key {key!r}")
    rec = {"key": key, "ack_by": who, "ack_at": dt.datetime.now().isoformat()}
    ledger.append([rec])
    return {**states[key], **rec}
