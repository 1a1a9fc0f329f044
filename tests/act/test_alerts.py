"""Alert delivery against real receivers on loopback: an HTTP server standing in for the
robots of 企业微信, 钉钉 and 飞书 (their documented bodies and error replies), and an SMTP
server (aiosmtpd) with a login. What a receiver got is read from the receiver, never
from custlens's own ledger alone."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from custlens.act import alerts
from custlens.errors import CustlensError

ANOMALIES = [
    {"date": dt.date(2026, 11, 24), "kpi": "conversion", "scope": "channel=search_ad",
     "actual": 0.011, "expected": 0.034, "low": 0.027, "high": 0.041, "direction": "down",
     "driver": None, "note": None, "volume": 5200.0},
    {"date": dt.date(2026, 11, 24), "kpi": "gmv", "scope": "all", "actual": 81234.5,
     "expected": 120500.0, "low": 101000.0, "high": 139000.0, "direction": "down",
     "driver": "channel=search_ad", "note": None, "volume": 1900.0},
]


class Receiver:
    """An HTTP server that records every POST; `plan[path]` lists the replies to give
    first (status, body), after which it answers 200 {"errcode": 0}."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.plan: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.got.append({"path": self.path, "headers": dict(self.headers),
                                  "body": json.loads(body)})
                replies = owner.plan.get(self.path.split("?")[0], [])
                status, reply = replies.pop(0) if replies else (200, {"errcode": 0})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict[str, Any]]:
        return [g for g in self.got if g["path"].split("?")[0] == path]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _deliver(tmp_path: Path, to: list[str], rows: list[dict[str, Any]] = ANOMALIES,
             **kw: Any) -> tuple[alerts.Outcome, alerts.Ledger]:
    ledger = alerts.Ledger(tmp_path / "ledger.jsonl")
    rules = alerts.parse_rules([{"name": "ops", "to": to, "scopes": ["all", "channel=*"]}])
    out = alerts.deliver(ledger, rows, rules, alerts.Delivery(lang=kw.pop("lang", "zh")),
                         sleep=lambda _s: None, **kw)
    return out, ledger


def test_each_robot_gets_its_own_message_format(tmp_path: Path, receiver: Receiver) -> None:
    to = [f"wecom:{receiver.url}/cgi-bin/webhook/send?key=SECRET1",
          f"dingtalk:{receiver.url}/robot/send?access_token=SECRET2",
          f"feishu:{receiver.url}/open-apis/bot/v2/hook/SECRET3",
          f"webhook:{receiver.url}/generic"]
    out, ledger = _deliver(tmp_path, to)
    assert (out.detected, out.sent, out.failed) == (8, 8, 0)
    assert len(receiver.got) == 4  # one message per recipient, both anomalies in it
    wecom = receiver.at("/cgi-bin/webhook/send")[0]["body"]
    assert wecom["msgtype"] == "markdown"
    assert "转化率" in wecom["markdown"]["content"] and "成交额" in wecom["markdown"]["content"]
    assert "渠道 search_ad" in wecom["markdown"]["content"]
    ding = receiver.at("/robot/send")[0]["body"]
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"].startswith("custlens 监控")
    assert "主因 渠道 search_ad" in ding["markdown"]["text"]
    feishu = receiver.at("/open-apis/bot/v2/hook/SECRET3")[0]["body"]
    assert feishu["msg_type"] == "text" and "实际 1.10%" in feishu["content"]["text"]
    generic = receiver.at("/generic")[0]
    assert [a["kpi"] for a in generic["body"]["alerts"]] == ["conversion", "gmv"]
    keys = [alerts.alert_key(r, "ops", to[3]) for r in ANOMALIES]
    assert [a["key"] for a in generic["body"]["alerts"]] == keys
    assert generic["headers"]["Idempotency-Key"]
    # the robots' secrets are cut from what the ledger keeps
    text = ledger.path.read_text(encoding="utf-8")
    assert not any(s in text for s in ("SECRET1", "SECRET2", "SECRET3"))


def test_english_shop_gets_english_messages(tmp_path: Path, receiver: Receiver) -> None:
    _deliver(tmp_path, [f"wecom:{receiver.url}/w"], lang="en")
    content = receiver.got[0]["body"]["markdown"]["content"]
    assert "conversion" in content and "expected" in content and "转化率" not in content


def test_a_failure_is_retried_then_recorded_and_sent_by_the_next_run(
        tmp_path: Path, receiver: Receiver) -> None:
    receiver.plan["/flaky"] = [(500, {"error": "busy"}), (502, {"error": "gateway"})]
    receiver.plan["/down"] = [(503, {"error": "down"})] * 3
    out, ledger = _deliver(tmp_path, [f"webhook:{receiver.url}/flaky", f"webhook:{receiver.url}/down"])
    assert len(receiver.at("/flaky")) == 3 and len(receiver.at("/down")) == 3
    assert (out.sent, out.failed) == (2, 2)
    assert "503" in out.errors[0]
    states = ledger.states()
    failed = [s for s in states.values() if s["state"] == "failed"]
    assert len(failed) == 2 and all("503" in s["error"] and s["attempts"] == 3 for s in failed)
    # the receiver is back: the next run sends what failed, and only that
    again, _ = _deliver(tmp_path, [f"webhook:{receiver.url}/flaky", f"webhook:{receiver.url}/down"])
    assert (again.detected, again.sent, again.already) == (0, 2, 2)
    assert len(receiver.at("/flaky")) == 3 and len(receiver.at("/down")) == 4


def test_a_robot_refusal_inside_a_200_is_a_failure(tmp_path: Path, receiver: Receiver) -> None:
    refusal = {"errcode": 310000, "errmsg": "keywords not in content"}
    receiver.plan["/robot/send"] = [(200, refusal)] * 3
    out, ledger = _deliver(tmp_path, [f"dingtalk:{receiver.url}/robot/send?access_token=T"])
    assert (out.sent, out.failed) == (0, 2)
    assert "310000" in out.errors[0]
    assert all(s["state"] == "failed" for s in ledger.states().values())


def test_quiet_hours_hold_an_alert_until_they_end(tmp_path: Path, receiver: Receiver) -> None:
    ledger = alerts.Ledger(tmp_path / "ledger.jsonl")
    rules = alerts.parse_rules([{"to": [f"webhook:{receiver.url}/q"], "quiet_hours": "22:00-08:00"}])
    night = dt.datetime(2026, 11, 25, 2, 30)
    out = alerts.deliver(ledger, ANOMALIES, rules, alerts.Delivery(), now=night)
    assert (out.detected, out.held, out.sent) == (1, 1, 0) and not receiver.got
    out = alerts.deliver(ledger, ANOMALIES, rules, alerts.Delivery(), now=night.replace(hour=8))
    assert (out.detected, out.sent) == (0, 1) and len(receiver.got) == 1


def test_bad_rules_say_which_entry_and_field() -> None:
    with pytest.raises(CustlensError, match=r"monitor.alerts\[2\].to: 'sms:123' is not kind:target"):
        alerts.parse_rules([{"to": "file:/tmp/a"}, {"to": ["sms:123"]}])
    with pytest.raises(CustlensError, match=r"monitor.alerts\[1\].kpis: unknown revenue"):
        alerts.parse_rules([{"to": "file:/tmp/a", "kpis": ["revenue"]}])
    with pytest.raises(CustlensError, match=r"quiet_hours: '9-5pm' is not HH:MM-HH:MM"):
        alerts.parse_rules([{"to": "file:/tmp/a", "quiet_hours": "9-5pm"}])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                    policy=default_policy)))
        return "250 OK"


def _login(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> AuthResult:
    ok = auth.login == b"ops" and auth.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture()
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's Controller cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_login,
                            auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


def test_email_goes_through_smtp_with_the_password_from_the_environment(
        tmp_path: Path, smtp_server: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp_server
    ledger = alerts.Ledger(tmp_path / "ledger.jsonl")
    rules = alerts.parse_rules([{"to": ["email:ops@shop.example"], "scopes": ["*"]}])
    smtp = {"host": "127.0.0.1", "port": port, "user": "ops", "sender": "monitor@shop.example"}
    monkeypatch.setenv(alerts.SMTP_PASSWORD_ENV, "wrong")
    out = alerts.deliver(ledger, ANOMALIES, rules, alerts.Delivery(smtp=smtp), sleep=lambda _s: None)
    assert out.failed == 2 and "535" in out.errors[0] and not inbox.messages  # refused login
    monkeypatch.setenv(alerts.SMTP_PASSWORD_ENV, "s3cret")
    out = alerts.deliver(ledger, ANOMALIES, rules, alerts.Delivery(smtp=smtp), sleep=lambda _s: None)
    assert out.sent == 2 and len(inbox.messages) == 1
    rcpt, msg = inbox.messages[0]
    assert rcpt == ["ops@shop.example"] and msg["From"] == "monitor@shop.example"
    assert "2 项异常" in msg["Subject"]
    body = msg.get_content()
    assert "转化率" in body and "成交额" in body
    assert "s3cret" not in ledger.path.read_text(encoding="utf-8")


SCRIPT = textwrap.dedent("""
    import datetime as dt, json, os, signal, sys
    from custlens.act import alerts
    ledger = alerts.Ledger(__import__("pathlib").Path(sys.argv[1]))
    rows = json.loads(sys.argv[3])
    for r in rows:
        r["date"] = dt.date.fromisoformat(r["date"])
    rules = alerts.parse_rules([{"to": [sys.argv[2]], "scopes": ["*"]}])
    kill = (lambda: os.kill(os.getpid(), signal.SIGKILL)) if sys.argv[4] == "kill" else None
    out = alerts.deliver(ledger, rows, rules, alerts.Delivery(), after_detect=kill)
    print(json.dumps(out.__dict__))
""")


def test_no_double_send_across_a_sigkill_between_detection_and_delivery(
        tmp_path: Path, receiver: Receiver) -> None:
    ledger_path = tmp_path / "ledger.jsonl"
    rows = json.dumps(ANOMALIES, default=str)

    def run(mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", SCRIPT, str(ledger_path),
                               f"webhook:{receiver.url}/hook", rows, mode],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONHASHSEED": "0"})

    killed = run("kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not receiver.got  # killed after detection, before sending
    assert {s["state"] for s in alerts.Ledger(ledger_path).states().values()} == {"pending"}
    again = run("send")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sent"] == 2
    third = run("send")
    assert json.loads(third.stdout)["already"] == 2
    assert len(receiver.got) == 1  # once, with both anomalies
    assert len(receiver.got[0]["body"]["alerts"]) == 2
