"""Issue #6: the playbook, target lists, respect and limits, receipts, the holdout and
the measured lift — on a generated shop, through the Python API and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from custlens import Workspace
from custlens.act import plans
from custlens.act.targets import next_campaign
from custlens.cli import app
from custlens.collect.generate import ShopSpec, outreach_orders

pytestmark = pytest.mark.slow  # plans, lists and measures on a built year (make test-quick leaves it out)

PLAN_DAY = dt.date(2025, 9, 1)
TWO_ACTIONS = [
    {"name": "nudge", "trigger": "always", "classes": ["low_repurchase"], "contact_channel": "sms",
     "priority": 1, "holdout": 0.3, "operators": ["王芳", "李雷"]},
    {"name": "gift", "trigger": "always", "classes": ["low_repurchase", "core"],
     "contact_channel": "gift", "priority": 2, "holdout": 0.0},
]


@pytest.fixture(scope="module")
def raw_shop(tmp_path_factory) -> Path:
    """One generated shop (6,000 customers, 2025) as a lake; tests copy it."""
    root = tmp_path_factory.mktemp("actions")
    w = Workspace(lake=root / "lake")
    w.generate(ShopSpec(users=6_000, days=365, seed=5))
    w.build(["ads_customer_class", "dwd_customers"])
    w.close()
    return root / "lake"


@pytest.fixture()
def lake(raw_shop, tmp_path, monkeypatch) -> Path:
    import shutil

    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("CUSTLENS_") and key != "CUSTLENS_QUIET":
            monkeypatch.delenv(key)
    shutil.copytree(raw_shop, tmp_path / "lake")
    return tmp_path / "lake"


def _ws(lake: Path, **overrides) -> Workspace:
    w = Workspace(lake=lake)
    w.settings = w.settings.with_overrides(**overrides)
    return w


def _rows(w: Workspace, plan_id: str) -> list[dict]:
    return w.sql(f"SELECT * FROM ads_action_plan WHERE plan_id = '{plan_id}'").to_pylist()


def test_default_playbook_counts_add_up_and_one_action_per_customer(lake):
    w = _ws(lake)
    plan = w.plan_actions(dt.date(2025, 11, 4))
    summary = plan.summary.to_pylist()
    assert {r["action"] for r in summary} >= {"birthday_gift", "repurchase_gift", "intent_service",
                                              "membership_invite", "pre_campaign_sms"}
    for r in summary:
        assert r["eligible"] - r["opted_out"] - r["capped"] - r["in_period"] - r["other_action"] \
            == r["planned"] == r["treated"] + r["holdout"], r
    rows = _rows(w, plan.plan_id)
    assert sum(r["planned"] for r in summary) == len(rows) > 500
    assert len({r["user_id"] for r in rows}) == len(rows)  # one action per customer
    assert all(r["operator"] is None for r in rows if r["is_holdout"])
    by_action = {r["action"]: r for r in summary}
    assert by_action["intent_service"]["planned"] > 0 and by_action["repurchase_gift"]["planned"] > 0
    # intent customers never bought: none of them has an RFM row
    assert all(r["frequency"] is None for r in rows if r["action"] == "intent_service")
    again = w.plan_actions(dt.date(2025, 11, 4))
    assert (again.plan_id, again.created) == (plan.plan_id, False)
    assert w.action_plans().num_rows == 1
    w.close()


def test_holdout_is_seeded_reproducible_and_disjoint(lake):
    w = _ws(lake, actions__playbook=TWO_ACTIONS)
    plan = w.plan_actions(PLAN_DAY)
    rows = [r for r in _rows(w, plan.plan_id) if r["action"] == "nudge"]
    held = {r["user_id"] for r in rows if r["is_holdout"]}
    treated = {r["user_id"] for r in rows if not r["is_holdout"]}
    assert held and treated and not held & treated
    n = len(rows)
    assert abs(len(held) - 0.3 * n) < 4 * (0.3 * 0.7 * n) ** 0.5
    # the draw depends on (seed, date, action, user) only: recomputed, it agrees row by row
    assert all(plans.is_holdout(7, PLAN_DAY, "nudge", r["user_id"], 0.3) == r["is_holdout"] for r in rows)
    assert {r["operator"] for r in rows if not r["is_holdout"]} == {"王芳", "李雷"}
    w.close()
    # another seed draws another holdout
    other = _ws(lake.parent / "lake", actions__playbook=TWO_ACTIONS, actions__seed=8)
    assert sum(plans.is_holdout(8, PLAN_DAY, "nudge", u, 0.3) for u in held) < len(held) * 0.5
    other.close()


@pytest.mark.slow
def test_optouts_caps_periods_and_priority(lake):
    w = _ws(lake, actions__playbook=TWO_ACTIONS, actions__caps={"sms": 1, "gift": 5})
    w.build(["ads_customer_class"], PLAN_DAY)
    low = w.engine.query("SELECT user_id FROM ads_customer_class WHERE class = 'low_repurchase' "
                         "ORDER BY user_id LIMIT 2").column(0).to_pylist()
    w.opt_out([low[0]], "sms", reason="回复TD")
    w.opt_out([low[1]], "all")
    first = w.plan_actions(PLAN_DAY)
    rows = {r["user_id"]: r for r in _rows(w, first.plan_id)}
    assert rows[low[0]]["action"] == "gift"  # out of SMS: the next action in priority
    assert low[1] not in rows  # out of everything
    counts = {r["action"]: r for r in first.summary.to_pylist()}
    assert counts["nudge"]["opted_out"] == 2 and counts["gift"]["opted_out"] == 1
    assert counts["gift"]["other_action"] == counts["nudge"]["planned"]  # priority decided
    # three days later the first plan's period (7 days) still runs: nobody of it again
    # (only customers who became eligible since, such as new buyers, are planned)
    busy = w.plan_actions(PLAN_DAY + dt.timedelta(days=3))
    assert not {r["user_id"] for r in _rows(w, busy.plan_id)} & set(rows)
    assert sum(r["in_period"] for r in busy.summary.to_pylist()) > len(rows) * 0.9
    # after the period, SMS is capped (1 in 30 days) for those treated by SMS: they get the gift
    later = w.plan_actions(PLAN_DAY + dt.timedelta(days=8))
    treated_sms = {u for u, r in rows.items() if r["action"] == "nudge" and not r["is_holdout"]}
    now = {r["user_id"]: r for r in _rows(w, later.plan_id)}
    assert treated_sms and all(now[u]["action"] == "gift" for u in treated_sms if u in now)
    still_low = set(w.engine.query("SELECT user_id FROM ads_customer_class "
                                   "WHERE class = 'low_repurchase'").column(0).to_pylist())
    capped = {r["action"]: r for r in later.summary.to_pylist()}["nudge"]["capped"]
    sms_busy = {r["user_id"] for r in _rows(w, busy.plan_id)
                if r["action"] == "nudge" and not r["is_holdout"]}
    assert capped == len((treated_sms | sms_busy) & still_low) > 0
    # withdrawing the opt-out brings the customer back
    w.opt_out([low[1]], "all", withdraw=True)
    back = w.plan_actions(PLAN_DAY + dt.timedelta(days=40))
    assert low[1] in {r["user_id"] for r in _rows(w, back.plan_id)}
    assert w.action_plans().num_rows == 4
    w.close()


def test_an_opt_out_after_the_plan_takes_the_customer_off_the_current_list(lake):
    """Issue #17, finding 8: an opt-out recorded after a plan left the customer on its list,
    contacts and all, for the operator to call."""
    w = _ws(lake, actions__playbook=TWO_ACTIONS)
    plan = w.plan_actions(PLAN_DAY)
    listed = w.action_list(plan.plan_id).to_pylist()
    gone, other_channel = listed[0], listed[1]
    w.opt_out([gone["user_id"]], "all", reason="回复TD")
    w.opt_out([other_channel["user_id"]], "email" if other_channel["contact_channel"] != "email" else "sms")
    now = {r["user_id"] for r in w.action_list(plan.plan_id).to_pylist()}
    assert gone["user_id"] not in now
    assert other_channel["user_id"] in now  # an opt-out of another channel does not stop this one
    assert len(now) == len(listed) - 1
    w.close()


def test_lists_export_round_trip_masked_unless_asked(lake):
    runner = CliRunner()
    w = _ws(lake)
    plan = w.plan_actions(dt.date(2025, 11, 4))
    w.close()
    csv_path, xlsx_path = lake.parent / "lists.csv", lake.parent / "lists.xlsx"
    args = ["--lake", str(lake), "actions", "list", plan.plan_id]
    assert runner.invoke(app, [*args, "--format", "csv", "--out", str(csv_path)]).exit_code == 0
    assert runner.invoke(app, [*args, "--format", "xlsx", "--out", str(xlsx_path)]).exit_code == 0
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens the Chinese correctly
    from_csv = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    sheet = load_workbook(xlsx_path, read_only=True).active
    header, *body = [list(r) for r in sheet.iter_rows(values_only=True)]
    from_xlsx = [dict(zip(header, r, strict=True)) for r in body]
    w = _ws(lake)
    expected = w.action_list(plan.plan_id, show_personal=False)  # what an export without
    w.close()  # --show-personal holds: a birthday's date masked in the reason and message
    assert len(from_csv) == len(from_xlsx) == expected.num_rows > 0
    for got_csv, got_xlsx, want in zip(from_csv, from_xlsx, expected.to_pylist(), strict=True):
        assert got_csv["user_id"] == got_xlsx["user_id"] == want["user_id"]
        assert got_csv["message"] == got_xlsx["message"] == want["message"]
        assert got_csv["why"] == want["why"] and "·" in want["why"]
        assert "****" in got_csv["phone"] and got_csv["phone"] != want["phone"]
        assert got_xlsx["phone"] == got_csv["phone"]
    shown = runner.invoke(app, [*args, "--format", "json", "--show-personal"])
    assert json.loads(shown.stdout)[0]["phone"] == expected.column("phone")[0].as_py()
    en = runner.invoke(app, ["--lake", str(lake), "--lang", "en", *args[2:], "--format", "json"])
    assert json.loads(en.stdout)[0]["action_name"] in {"Birthday gift", "Repurchase gift",
                                                       "Service for intent customers",
                                                       "Membership invitation"}


def test_receipts_move_status_and_unsubscribes_are_honoured(lake):
    w = _ws(lake, actions__playbook=TWO_ACTIONS)
    plan = w.plan_actions(PLAN_DAY)
    rows = [r for r in _rows(w, plan.plan_id) if r["action"] == "nudge" and not r["is_holdout"]]
    a, b, c = rows[0]["user_id"], rows[1]["user_id"], rows[2]["user_id"]
    receipts = lake.parent / "回执.csv"
    receipts.write_text(
        "用户ID,状态,时间,券码\n"
        f"{a},发送成功,2025-09-01 10:00:00,\n{a},已核销,2025-09-03 20:00:00,Q1\n"
        f"{b},已发送,2025-09-01 10:00:00,\n{c},退订,2025-09-01 10:05:00,\n"
        f"{c},发送成功,not a time,\n", encoding="utf-8")
    result = w.record_receipts(receipts)[0]
    assert (result.rows, result.rejected) == (4, 1)
    assert w.record_receipts(receipts)[0].batch is None  # idempotent
    status = {r["user_id"]: r["status"] for r in _rows(w, plan.plan_id)}
    assert (status[a], status[b], status[c]) == ("responded", "sent", "unsubscribed")
    assert status[rows[3]["user_id"]] == "planned"
    later = w.plan_actions(PLAN_DAY + dt.timedelta(days=40))
    now = {r["user_id"]: r["action"] for r in _rows(w, later.plan_id)}
    assert now.get(c) != "nudge"  # 退订 from SMS: no more SMS
    w.close()


@pytest.mark.slow
def test_measure_recovers_a_planted_lift_within_its_interval(lake):
    w = _ws(lake, actions__playbook=TWO_ACTIONS[:1])
    plan = w.plan_actions(PLAN_DAY)
    rows = _rows(w, plan.plan_id)
    treated = [r["user_id"] for r in rows if not r["is_holdout"]]
    assert len(treated) > 500
    planted = outreach_orders(treated, PLAN_DAY, 30, rate=0.2, mean_amount=80.0, seed=3)
    path = lake.parent / "responses.parquet"
    pq.write_table(planted, path)
    w.import_file("orders", path)
    m = w.measure(plan.plan_id, days=30)
    lifts = {r["metric"]: r for r in m.lifts.to_pylist() if r["action"] == "nudge"}
    orders, revenue = lifts["orders"], lifts["revenue"]
    assert orders["ci_low"] <= 0.2 <= orders["ci_high"] and orders["ci_low"] > 0
    assert revenue["ci_low"] <= 16.0 <= revenue["ci_high"] and revenue["significant"]
    assert m.notes["complete"] and m.notes["holdout_contacted"] == 0
    groups = {r["group"]: r for r in m.groups.to_pylist()}
    assert groups["treated"]["customers"] == len(treated)
    assert groups["holdout"]["customers"] == len(rows) - len(treated)
    # and without the planted orders there is no lift to find
    w.close()
    w = _ws(lake, actions__playbook=TWO_ACTIONS[:1])
    batch = next(b for b in w.lake.batches("orders") if b.source.endswith("responses.parquet"))
    w.lake.undo_batch(batch.batch_id)
    w._refresh()
    null = {r["metric"]: r for r in w.measure(plan.plan_id, 30).lifts.to_pylist()}["orders"]
    assert null["ci_low"] <= 0 <= null["ci_high"]
    w.close()


def test_birthdays_gregorian_and_lunar_and_campaign_trigger(ws):
    customers = pa.table({
        "user_id": ["solar", "lunar", "leap_day", "far"],
        "birthday": pa.array([dt.date(1990, 10, 3), dt.date(1988, 8, 15), dt.date(1992, 2, 29),
                              dt.date(1990, 12, 1)], pa.date32()),
        "birthday_is_lunar": [False, True, False, False],
    })
    orders = pa.table({"order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"],
                       "user_id": ["solar", "solar", "lunar", "lunar", "leap_day", "leap_day",
                                   "far", "far"],
                       "order_ts": pa.array([dt.datetime(2025, m, 1, 3, tzinfo=dt.UTC)
                                             for m in (3, 5, 3, 5, 3, 5, 3, 5)],
                                            pa.timestamp("us", tz="UTC")),
                       "status": ["paid"] * 8, "amount": [100.0] * 8})
    for name, table in (("customers", customers), ("orders", orders)):
        pq.write_table(table, Path(f"{name}.parquet"))
        ws.import_file(name, Path(f"{name}.parquet"))
    playbook = [{"name": "bday", "trigger": "birthday", "days": 7, "contact_channel": "gift",
                 "priority": 1, "holdout": 0.0}]
    ws.settings = ws.settings.with_overrides(actions__playbook=playbook)
    plan = ws.plan_actions(dt.date(2025, 10, 1))
    got = {r["user_id"]: r["detail"] for r in ws.action_list(plan.plan_id).to_pylist()}
    # 八月十五 of 2025 is 10-06 (中秋); 10-03 Gregorian; 02-29 and 12-01 are not this week
    assert got == {"solar": "2025-10-03", "lunar": "2025-10-06 (农历)"}
    spring = ws.plan_actions(dt.date(2027, 2, 25))
    assert {r["user_id"] for r in ws.action_list(spring.plan_id).to_pylist()} == {"leap_day"}
    assert next_campaign(dt.date(2025, 10, 14), 7, {}) == ("双十一", dt.date(2025, 10, 20))
    assert next_campaign(dt.date(2025, 10, 1), 7, {}) is None
    assert next_campaign(dt.date(2025, 12, 5), 7, {})[0] == "双十二"
    shop_day = {"campaigns": [{"name": "店庆", "peak": "03-08"}]}
    assert next_campaign(dt.date(2025, 3, 5), 7, shop_day) == ("店庆", dt.date(2025, 3, 8))


@pytest.mark.slow
def test_forget_removes_a_person_from_every_layer(lake):
    w = _ws(lake, actions__playbook=TWO_ACTIONS)
    plan = w.plan_actions(PLAN_DAY)
    user = _rows(w, plan.plan_id)[0]["user_id"]
    identity = lake.parent / "identity.csv"
    identity.write_text(f"source,source_id,user_id\nlog,web-{user},{user}\n", encoding="utf-8")
    w.import_file("identity", identity)
    events = lake.parent / "web.csv"
    events.write_text("user_id,behavior,ts\n"
                      f"web-{user},pv,2025-08-01 10:00:00\nsomeone,pv,2025-08-01 10:00:00\n"
                      f"web-{user},nope,2025-08-01 10:00:00\n", encoding="utf-8")
    w.import_file("events", events)
    before = w.sql("SELECT count(*) FROM ods_events").column(0)[0].as_py()
    mine = w.sql(f"SELECT count(*) FROM dwd_events WHERE user_id = '{user}'").column(0)[0].as_py()
    assert mine > 1
    result = w.forget(user)
    assert result.ids == 2 and result.rows["events"] >= mine and result.rows["action_plan"] == 1
    for table in ("ods_events", "ods_orders", "ods_customers", "ods_action_plan", "dwd_events",
                  "dwd_orders", "dwd_customers", "ads_rfm", "ads_customer_class"):
        n = w.sql(f"SELECT count(*) FROM {table} WHERE user_id IN ('{user}', 'web-{user}')")
        assert n.column(0)[0].as_py() == 0, table
    assert w.sql("SELECT count(*) FROM ods_identity").column(0)[0].as_py() == 0
    # rows removed from events = their good rows + the one rejected line naming them
    assert w.sql("SELECT count(*) FROM ods_events").column(0)[0].as_py() == before - result.rows["events"] + 1
    raws = w.sql("SELECT raw FROM dwd_quarantine").column(0).to_pylist()
    assert not any(user in (r or "") for r in raws)
    log = (lake / "_ops" / "forgotten.jsonl").read_text()
    assert user not in log and json.loads(log.splitlines()[-1])["ids"] == 2
    for path in lake.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".jsonl"}:
            assert user not in path.read_text(encoding="utf-8", errors="ignore"), path
    w.close()


@pytest.mark.slow
def test_report_is_one_self_contained_page_in_both_languages(lake):
    import re

    runner = CliRunner()
    w = _ws(lake)
    w.plan_actions(dt.date(2025, 11, 4))
    w.close()
    zh, en = lake.parent / "report.html", lake.parent / "report_en.html"
    assert runner.invoke(app, ["--lake", str(lake), "report", "--out", str(zh)]).exit_code == 0
    assert runner.invoke(app, ["--lake", str(lake), "--lang", "en", "report", "--out", str(en)]).exit_code == 0
    page = zh.read_text(encoding="utf-8")
    # nothing to fetch: no scripts, stylesheets or images from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "@import" not in page
    assert page.count("<svg") >= 7
    for key in ("segments", "classes", "periods", "funnel", "repurchase", "channels", "clv", "actions"):
        assert f'id="{key}"' in page
    assert "客户分群" in page and "重要" in page and "万" in page and "¥" in page
    assert "Noto Sans CJK SC" in page
    assert "生日礼" in page or "复购赠礼" in page  # this period's lists
    assert not re.search(r"1[3-9]\d{9}", page)  # no phone numbers
    english = en.read_text(encoding="utf-8")
    assert "Segments (RFM)" in english and 'lang="en"' in english and "万" not in english
