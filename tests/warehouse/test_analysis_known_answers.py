"""Every analysis metric on a hand-made shop around 双十一 2025, worked out by hand.

Times are Asia/Shanghai local times. bob's visit and order just after midnight on 11-11
are still 11-10 in UTC: they must count on the peak day. Nobody comes on 11-13.
"""

import datetime as dt

import pytest

AS_OF = dt.date(2025, 11, 27)
ORDERS = """order_id,user_id,order_ts,status,amount
o6,frank,2025-10-20 09:00:00,paid,100
o2,alice,2025-11-05 23:30:00,paid,50
o1,alice,2025-11-11 10:00:00,paid,100
o3,bob,2025-11-11 00:30:00,paid,60
o4,bob,2025-11-11 12:00:00,refunded,80
o7,frank,2025-11-20 10:00:00,paid,40
o5,carol,2025-11-25 10:00:00,paid,30
r1,alice,2025-11-26 10:00:00,paid,-20
"""
LINES = """order_id,item_id,qty,price
o6,C,1,100
o2,A,1,50
o1,A,1,100
o3,B,1,60
o4,B,1,80
o7,C,1,40
o5,A,1,30
"""
ITEMS = """item_id,category_id,title,price,is_daily_use
A,X,tissues,50,true
B,Y,lamp,60,false
C,Z,shoes,100,false
"""
EVENTS = """user_id,item_id,category_id,behavior,ts,channel
alice,A,X,pv,2025-11-11 09:00:00,search_ad
alice,A,X,cart,2025-11-11 09:30:00,search_ad
alice,A,X,buy,2025-11-11 10:00:00,search_ad
bob,B,Y,pv,2025-11-11 00:10:00,organic
bob,B,Y,buy,2025-11-11 00:30:00,organic
dave,B,Y,pv,2025-11-11 15:00:00,organic
erin,A,X,pv,2025-11-12 10:00:00,organic
erin,B,Y,pv,2025-11-12 10:05:00,organic
"""


@pytest.fixture()
def shop(ws, tmp_path):
    for kind, text in (("items", ITEMS), ("orders", ORDERS), ("order-items", LINES),
                       ("events", EVENTS)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        ws.import_file(kind, path)
    return ws


def _periods(ws):
    return {r["period_id"]: r for r in ws.periods(AS_OF).to_pylist()}


def test_peak_day_by_hand(shop):
    peak = _periods(shop)["campaign:2025:双十一:peak"]
    assert (peak["visitors"], peak["buyers"], peak["orders"]) == (3, 2, 3)  # alice, bob, dave
    assert (peak["new_buyers"], peak["returning_buyers"]) == (1, 1)  # bob new; alice since 11-05
    assert peak["gmv"] == 240 and peak["net_gmv"] == 160  # bob's refunded 80 is in GMV only
    assert peak["gmv_per_buyer"] == 120 and peak["gmv_per_order"] == 80
    assert peak["conversion"] == pytest.approx(2 / 3)
    assert peak["bounce_rate"] == pytest.approx(1 / 3)  # dave: one page view
    assert peak["refund_rate"] == pytest.approx(1 / 3)
    # baseline: the daily days of the span within 28 days: 11-12 … 11-26 (15 days, 70 in GMV)
    assert peak["baseline_days"] == 15
    assert peak["baseline_gmv_per_day"] == pytest.approx(70 / 15)
    assert peak["gmv_lift"] == pytest.approx(240 / (70 / 15))
    assert peak["gmv_per_day_yoy"] is None  # no 2024 data: no 同比 rather than a guess


def test_warmup_daily_and_no_traffic_day(shop):
    periods = _periods(shop)
    warm = periods["campaign:2025:双十一:warmup"]
    assert (warm["days"], warm["calendar_days"], warm["is_complete"]) == (22, 22, True)
    assert (warm["buyers"], warm["new_buyers"], warm["gmv"]) == (2, 2, 150)
    assert warm["visitors"] == 0 and warm["conversion"] is None  # no events: no division by 0
    daily = periods["daily:2025:11:"]
    # 11-12 … 11-26 are in the span (11-13 had no one and still counts as a day)
    assert (daily["days"], daily["calendar_days"], daily["is_complete"]) == (15, 19, False)
    assert daily["gmv"] == 70 and daily["net_gmv"] == 50  # alice's −20 return on 11-26
    assert daily["gmv_per_day"] == pytest.approx(70 / 15)
    assert daily["gmv_lift"] is None  # daily days are the baseline, not lifted against it
    # 环比: the peak compares with no earlier peak; daily Nov with no earlier month
    assert daily["previous_period_id"] is None
    day = shop.sql("SELECT * FROM dws_shop_day WHERE date = DATE '2025-11-13'").to_pylist()[0]
    assert day["in_span"] and (day["visitors"], day["orders"], day["gmv"]) == (0, 0, 0)


def test_shop_campaign_from_config(shop):
    shop.settings = shop.settings.with_overrides(**{"calendar.campaigns": [
        {"name": "店庆", "name_en": "Anniversary", "peak": "11-20", "warmup": ["11-18", "11-19"]}]})
    periods = _periods(shop)
    peak = periods["campaign:2025:店庆:peak"]
    assert (peak["days"], peak["buyers"], peak["gmv"]) == (1, 1, 40)  # frank's 11-20 order
    assert periods["campaign:2025:店庆:warmup"]["days"] == 2
    assert periods["daily:2025:11:"]["days"] == 12  # three days fewer than without it
    assert periods["daily:2025:11:"]["gmv"] == 30


def test_period_kinds_split_weekends(shop):
    shop.build(as_of=AS_OF)
    rows = {(r["kind"], r["day_type"]): r for r in shop.period_kinds(AS_OF).to_pylist()}
    # daily days in the span: 11-12 … 11-26: 11 workdays and 4 weekend days
    assert rows[("daily", "all")]["days"] == 15
    assert rows[("daily", "weekend")]["days"] == 4 and rows[("daily", "workday")]["days"] == 11
    assert rows[("daily", "all")]["gmv_lift"] == 1
    assert rows[("campaign", "all")]["days"] == 23


def test_funnel_by_hand(shop):
    [row] = shop.funnel("all", AS_OF).to_pylist()
    assert (row["visitors"], row["users_pv"], row["users_cart"], row["users_fav"]) == (4, 4, 1, 0)
    assert (row["users_fav_or_cart"], row["users_buy"]) == (1, 2)
    assert (row["events_pv"], row["events_cart"], row["events_buy"]) == (5, 1, 2)
    assert row["bounce_rate"] == pytest.approx(1 / 4)  # dave; erin saw two pages
    assert row["conversion"] == pytest.approx(2 / 4)
    # alice 1 h from first view to purchase, bob 20 min: median 40 min
    assert row["median_hours_to_buy"] == pytest.approx((1 + 1 / 3) / 2)
    days = {r["value"]: r for r in shop.funnel("day", AS_OF).to_pylist()}
    assert set(days) == {"2025-11-11", "2025-11-12"}  # bob's 00:10 is 11-11 local, not 11-10
    assert days["2025-11-11"]["visitors"] == 3
    channels = {r["value"]: r for r in shop.funnel("channel", AS_OF).to_pylist()}
    assert channels["organic"]["visitors"] == 3 and channels["organic"]["users_buy"] == 1


def test_funnel_since_a_date(shop):
    rows = {r["value"]: r for r in shop.funnel("period", AS_OF, since=dt.date(2025, 11, 12)).to_pylist()}
    assert set(rows) == {"daily:2025:11:"}  # only erin, on 11-12
    [row] = shop.funnel("all", AS_OF, since=dt.date(2025, 11, 12)).to_pylist()
    assert (row["visitors"], row["users_buy"], row["bounce_rate"]) == (1, 0, 0.0)


def test_hourly_uses_local_hours(shop):
    cells = {(r["weekday"], r["hour"]): r for r in shop.hourly(AS_OF).to_pylist()}
    assert len(cells) == 7 * 24
    # 2025-11-11 is a Tuesday; bob's two events are at local hour 0
    assert cells[(2, 0)]["events"] == 2 and cells[(2, 16)]["events"] == 0
    # Tuesdays in the span 10-20 … 11-26: 10-21, 10-28, 11-04, 11-11, 11-18, 11-25
    assert cells[(2, 0)]["days"] == 6 and cells[(2, 0)]["events_per_day"] == pytest.approx(2 / 6)


def test_repurchase_by_hand(shop):
    items = {r["key"]: r for r in shop.repurchase("item", AS_OF).to_pylist()}
    a = items["A"]  # alice 11-05 and 11-11, carol 11-25
    assert (a["buyers"], a["repeat_buyers"], a["orders"]) == (2, 1, 3)
    assert a["repurchase_rate"] == 0.5 and a["median_gap_days"] == 6
    assert a["returning_share"] == 0.5 and a["is_daily_use"]
    b = items["B"]  # bob's refunded order is no purchase
    assert (b["buyers"], b["repeat_buyers"], b["median_gap_days"]) == (1, 0, None)
    c = items["C"]  # frank 10-20 and 11-20
    assert c["repurchase_rate"] == 1.0 and c["median_gap_days"] == 31
    assert c["rate_rank"] == 1
    cats = {r["key"]: r for r in shop.repurchase("category", AS_OF).to_pylist()}
    assert cats["X"]["repurchase_rate"] == 0.5 and cats["X"]["is_daily_use"]
    # two buyers are below the default min_buyers = 20: nothing is a candidate
    assert not any(r["is_membership_candidate"] for r in items.values())


def test_membership_candidates_follow_the_thresholds(shop):
    shop.settings = shop.settings.with_overrides(**{"repurchase.min_buyers": 2,
                                                    "repurchase.min_rate": 0.5})
    items = {r["key"]: r["is_membership_candidate"]
             for r in shop.repurchase("item", AS_OF).to_pylist()}
    assert items == {"A": True, "B": False, "C": False}  # C: one buyer
    invites = shop.membership_invites(AS_OF).to_pylist()
    assert {(r["level"], r["key"], r["user_id"]) for r in invites} == {
        ("item", "A", "alice"), ("item", "A", "carol"), ("category", "X", "alice"),
        ("category", "X", "carol")}
    alice = next(r for r in invites if r["user_id"] == "alice")
    assert alice["is_repeat_buyer"] and alice["orders"] == 2


def test_purchase_due_by_hand(shop):
    due = {r["user_id"]: r for r in shop.purchase_due(AS_OF).to_pylist()}
    assert set(due) == {"alice", "frank"}  # bob's second order was refunded; carol once
    assert due["alice"]["median_gap_days"] == 6
    assert due["alice"]["next_due_date"] == dt.date(2025, 11, 17)
    assert due["alice"]["days_until_due"] == -10  # overdue
    assert due["frank"]["next_due_date"] == dt.date(2025, 12, 21)
    assert due["frank"]["days_until_due"] == 24


def test_retention_by_hand(shop):
    cells = {(str(r["cohort"]), r["periods_since"]): r for r in shop.retention("month", AS_OF).to_pylist()}
    assert set(cells) == {("2025-10-01", 0), ("2025-10-01", 1), ("2025-11-01", 0)}
    oct1 = cells[("2025-10-01", 1)]  # frank came back in November, which is not over
    assert (oct1["cohort_size"], oct1["buyers"], oct1["rate"], oct1["is_partial"]) == (1, 1, 1.0, True)
    assert not cells[("2025-10-01", 0)]["is_partial"]
    nov = cells[("2025-11-01", 0)]  # alice, bob, carol
    assert (nov["cohort_size"], nov["rate"]) == (3, 1.0)
    weeks = shop.retention("week", AS_OF).to_pylist()
    assert {str(r["cohort"]) for r in weeks} == {"2025-10-20", "2025-11-03", "2025-11-10",
                                                 "2025-11-24"}  # Mondays


def test_campaign_carts_by_hand(shop):
    [carts] = shop.campaign_carts(AS_OF).to_pylist()
    # alice carted A on the peak day itself: not "before" it, so nothing was carted before
    assert carts["peak_date"] == dt.date(2025, 11, 11)
    assert (carts["carters"], carts["carted_items"], carts["carter_conversion"]) == (0, 0, None)
    assert carts["peak_buyers"] == 2


CHANNEL_EVENTS = """user_id,item_id,behavior,ts,channel,ad_campaign
u1,A,pv,2025-11-01 10:00:00,search_ad,k1
u1,A,pv,2025-11-03 10:00:00,feed_ad,f1
u1,A,pv,2025-11-04 13:00:00,sms,
u2,A,pv,2025-10-20 10:00:00,social,kol
u3,A,pv,2025-11-02 10:00:00,search_ad,k1
"""
CHANNEL_ORDERS = """order_id,user_id,order_ts,status,amount,channel
p1,u1,2025-11-04 12:00:00,paid,100,
p2,u2,2025-11-04 10:00:00,paid,40,app
"""
SPEND = """date,channel,ad_campaign,impressions,clicks,cost
2025-11-01,search_ad,k1,1000,10,20
2025-11-03,feed_ad,f1,500,5,50
"""


@pytest.fixture()
def touches(ws, tmp_path):
    for kind, text in (("events", CHANNEL_EVENTS), ("orders", CHANNEL_ORDERS), ("ad-spend", SPEND)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        ws.import_file(kind, path)
    return ws


def _channels(ws, model):
    return {(r["channel"], r["ad_campaign"]): r
            for r in ws.channels(model, dt.date(2025, 11, 5)).to_pylist()}


def test_last_first_and_linear_touch(touches):
    last, first, linear = (_channels(touches, m) for m in ("last", "first", "linear"))
    # u1's order at 12:00 follows search (11-01) and feed (11-03); the sms visit came after it
    assert last[("feed_ad", "f1")]["revenue"] == 100 and last[("search_ad", "k1")]["revenue"] == 0
    assert first[("search_ad", "k1")]["revenue"] == 100 and first[("feed_ad", "f1")]["revenue"] == 0
    assert linear[("search_ad", "k1")]["orders"] == 0.5 and linear[("feed_ad", "f1")]["revenue"] == 50
    assert last[("sms", "")]["orders"] == 0 and last[("sms", "")]["visitors"] == 1
    # u2's social touch is 15 days old (lookback 7): the order keeps its own channel
    assert last[("app", "")]["revenue"] == 40 and last[("social", "kol")]["orders"] == 0
    assert last[("app", "")]["conversion"] is None  # no visitors: no division by zero
    for model in (last, first, linear):
        assert sum(r["orders"] for r in model.values()) == 2


def test_roas_cpa_and_shares(touches):
    last, first = _channels(touches, "last"), _channels(touches, "first")
    feed, search = last[("feed_ad", "f1")], last[("search_ad", "k1")]
    assert (feed["cost"], feed["roas"], feed["cpa"]) == (50, 2.0, 50)
    assert feed["new_customer_share"] == 1.0  # u1's first order
    assert search["roas"] == 0 and search["cpa"] is None  # spend, no attributed order
    assert search["visitors"] == 2 and search["ctr"] == pytest.approx(0.01)
    assert first[("search_ad", "k1")]["roas"] == 5
    assert last[("sms", "")]["roas"] is None  # no spend


def test_lookback_window_in_config(touches):
    touches.settings = touches.settings.with_overrides(**{"channels.lookback_days": 30})
    last = _channels(touches, "last")
    assert last[("social", "kol")]["revenue"] == 40 and ("app", "") not in last
