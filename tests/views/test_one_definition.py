"""Each analysis answered by the CLI, the API and the report from its one definition
(custlens.views): on one lake, the same rows in the same order, the same words.

The three used to drift (the funnel by day ordered by date in the CLI and by visitors in the
API; period kinds in business order in one and alphabetically in the other); here they are
read side by side, so a drift fails."""

from __future__ import annotations

import json
import math
import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custlens import Workspace
from custlens.cli import app as cli_app
from custlens.serve import report
from custlens.serve.api import create_app
from custlens.serve.auth import Accounts
from custlens.views import VIEWS
from custlens.views.columns import cell_text

PASSWORD = "views are one 1"

# (analysis, its choices, the CLI's arguments, the API's path)
CASES: list[tuple[str, dict[str, str], list[str], str]] = [
    ("periods", {}, ["periods", "--view", "instances"], "/api/periods?view=instances"),
    ("period_kinds", {}, ["periods", "--view", "kinds"], "/api/periods?view=kinds"),
    *[("funnel", {"by": by}, ["funnel", "--by", by], f"/api/funnel?by={by}")
      for by in VIEWS["funnel"].choices[0].values],
    *[("repurchase", {"level": x}, ["repurchase", "--level", x], f"/api/repurchase?level={x}")
      for x in ("category", "item")],
    *[("channels", {"attribution": x}, ["channels", "--attribution", x], f"/api/channels?attribution={x}")
      for x in ("last", "first", "linear")],
    *[("retention", {"by": x}, ["retention", "--by", x], f"/api/retention?by={x}") for x in ("month", "week")],
]


def _plain(rows: list[dict[str, Any]], keep: set[str] | None = None) -> list[dict[str, Any]]:
    """Rows as JSON carries them (dates as text, NaN as null), in the columns asked for."""
    out = json.loads(json.dumps(rows, default=str))
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
             if keep is None or k in keep} for r in out]


@pytest.fixture(scope="module")
def api(shop: Workspace) -> TestClient:
    Accounts(shop.lake).add("views-analyst", "analyst", PASSWORD)
    ws = Workspace(lake=shop.lake.root)
    ws.settings = ws.settings.with_overrides(serve__secure_cookies=False, serve__login_rate=1000)
    client = TestClient(create_app(ws))
    csrf = client.get("/api/csrf").json()["csrf"]
    r = client.post("/api/login", json={"name": "views-analyst", "password": PASSWORD},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    yield client
    ws.close()


def _cli(shop: Workspace, args: list[str]) -> list[dict[str, Any]]:
    done = CliRunner().invoke(cli_app, ["--lake", str(shop.lake.root), *args, "--format", "json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


@pytest.mark.parametrize(("name", "choices", "args", "path"), CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1].values()) or 'default'}" for c in CASES])
def test_cli_and_api_answer_alike(shop: Workspace, api: TestClient, name: str,
                                  choices: dict[str, str], args: list[str], path: str) -> None:
    from_ws = _plain(shop.view(name, **choices).to_pylist())
    from_cli = _cli(shop, args)
    body = api.get(path).json()
    from_api = _plain(body["rows"], set(from_ws[0]) if from_ws else None)
    assert from_cli == from_ws
    assert from_api == from_ws
    # the API describes each column as the definition does: heading, kind, words for codes
    meta = {c["name"]: c for c in body["columns"]}
    assert meta["conversion"]["kind"] == "pct" if "conversion" in meta else True
    for choice in VIEWS[name].choices:
        assert [c["value"] for c in body["choices"][choice.name]] == list(choice.values)


def test_the_funnel_by_day_is_in_date_order_everywhere(shop: Workspace, api: TestClient) -> None:
    """The drift that started this: the API had ordered the days by visitors."""
    days = [r["value"] for r in api.get("/api/funnel?by=day").json()["rows"]]
    assert len(days) > 300 and days == sorted(days)
    assert [r["value"] for r in _cli(shop, ["funnel", "--by", "day"])] == days


def test_period_kinds_come_in_business_order(shop: Workspace, api: TestClient) -> None:
    rows = api.get("/api/periods?view=kinds").json()["rows"]
    kinds = [r["kind"] for r in rows]
    rank = {"campaign": 0, "promo_day": 1, "holiday": 2, "daily": 3}
    assert [rank[k] for k in kinds] == sorted(rank[k] for k in kinds)
    assert rows[0]["day_type"] == "all"


def _report_rows(html: str, section: str) -> list[list[str]]:
    """The cells of the first table in a report section, row by row (header left out)."""
    body = re.search(rf'<section id="{section}">(.*?)</section>', html, re.S)
    assert body, section
    table = re.search(r"<table>(.*?)</table>", body.group(1), re.S)
    assert table, section
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    return [[unescape(c) for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in rows]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_prints_what_the_api_answers(shop: Workspace, api: TestClient, lang: str) -> None:
    html = report.render(shop, lang)
    currency = shop.settings.get("shop.currency")
    sections = {"classes": ("classes", "/api/classes", None),
                "periods": ("period_kinds", "/api/periods?view=kinds", None),
                "repurchase": ("repurchase", "/api/repurchase?level=category", 10),
                "channels": ("channels", "/api/channels?attribution=last", None)}
    for section, (name, path, limit) in sections.items():
        v = VIEWS[name]
        body = api.get(path + ("&" if "?" in path else "?") + f"lang={lang}").json()
        words = {c["name"]: c.get("values", {}) for c in body["columns"]}
        expected = [[unescape(cell_text(c, words.get(c, {}).get(r[c], r[c]) if isinstance(r[c], str) else r[c],
                                        lang, currency)) for c in v.shown]
                    for r in body["rows"][:limit]]
        assert _report_rows(html, section) == expected, section
        assert expected, f"{section}: nothing to compare"
