"""Hand-computed RFM for a handful of customers, through the whole import → build path."""

import datetime as dt

import pytest

ORDERS = """order_id,user_id,order_ts,status,amount
o1,alice,2025-03-01 10:00:00,paid,100
o2,alice,2025-03-20 23:30:00,paid,50
o3,alice,2025-03-25 09:00:00,paid,30
r3,alice,2025-03-26 09:00:00,paid,-30
o4,bob,2025-01-05 12:00:00,paid,500
o5,bob,2025-03-30 15:00:00,refunded,200
o6,carol,2025-03-31 16:00:00,paid,20
o7,,2025-03-10 10:00:00,paid,999
o8,dave,2025-04-02 10:00:00,paid,70
"""


@pytest.fixture()
def loaded(ws, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    ws.import_file("orders", path)
    return ws


def test_rfm_by_hand(loaded):
    rows = {r["user_id"]: r for r in loaded.rfm(as_of=dt.date(2025, 4, 1)).to_pylist()}
    # dave's order is on the as-of date: not before it, so he is not a buyer yet
    assert set(rows) == {"alice", "bob", "carol"}
    a, b, c = rows["alice"], rows["bob"], rows["carol"]
    # alice: last paid order 03-25 → 7 days; 3 paid orders (the return row is no order);
    # M = 100 + 50 + 30 − 30 = 150
    assert (a["recency_days"], a["frequency"], a["monetary"]) == (7, 3, 150.0)
    # bob: the refunded order counts for neither F nor M; R from 01-05 → 86 days
    assert (b["recency_days"], b["frequency"], b["monetary"]) == (86, 1, 500.0)
    assert (c["recency_days"], c["frequency"], c["monetary"]) == (1, 1, 20.0)
    assert a["class"] == "core" or a["monetary"] < 500  # threshold is the median M (150)
    assert a["class"] == "core" and b["class"] == "low_repurchase"


def test_local_date_not_utc(loaded):
    # 2025-03-20 23:30 Shanghai is 15:30 UTC the same day; as-of 03-21 sees it as yesterday
    rows = {r["user_id"]: r for r in loaded.rfm(as_of=dt.date(2025, 3, 21)).to_pylist()}
    assert rows["alice"]["recency_days"] == 1


def test_rule_mode_segments(loaded):
    loaded.settings = loaded.settings.with_overrides(**{"segment.mode": "rules"})
    rows = {r["user_id"]: r for r in loaded.rfm(as_of=dt.date(2025, 4, 1)).to_pylist()}
    # means: R = (7 + 86 + 1) / 3 = 31.3, F = 5/3, M = 223.3
    assert rows["alice"]["segment"] == "一般价值客户"  # recent, frequent, M below mean
    assert rows["bob"]["segment"] == "重要挽留客户"  # lapsing, once, big spender
    assert rows["carol"]["segment"] == "一般发展客户"  # recent, once, small
    assert rows["alice"]["cluster"] is None


def test_as_of_defaults_to_day_after_last_order(loaded):
    loaded.build()
    assert loaded.last_build.as_of == dt.date(2025, 4, 3)


def test_since_window(loaded):
    rows = {r["user_id"]: r for r in loaded.rfm(as_of=dt.date(2025, 4, 1),
                                                 since=dt.date(2025, 2, 1)).to_pylist()}
    assert "bob" not in rows  # his only paid order is before the window
