"""The analyses on whole shops: the generated shop's planted effects are the ones found,
the tables add up to the warehouse they summarise, and the Taobao sample makes sense
(nine ordinary days before 双十二: no campaign, a weekend effect)."""

import datetime as dt

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # generates and builds shops with planted effects (make test-quick leaves it out)


def _one(ws, query):
    return ws.sql(query).column(0)[0].as_py()


def test_planted_campaign_lift_is_found(shop):
    peaks = shop.sql("SELECT period_name, gmv_lift, visitors_lift FROM ads_periods "
                     "WHERE kind = 'campaign' AND phase = 'peak'").to_pylist()
    assert {p["period_name"] for p in peaks} == {"双十一", "618", "双十二"}
    # the generator sends ×6 traffic on peak days, with more buying and 20 % discounts
    assert all(p["gmv_lift"] > 3 and p["visitors_lift"] > 3 for p in peaks)
    kinds = {(r["kind"], r["day_type"]): r for r in shop.period_kinds().to_pylist()}
    # promo days ×2.2; holidays are not planted; weekends ×1.15
    assert kinds[("promo_day", "all")]["visitors_lift"] > 1.6
    assert 0.8 < kinds[("holiday", "all")]["visitors_lift"] < 1.25
    assert kinds[("daily", "weekend")]["visitors_per_day"] > kinds[("daily", "workday")]["visitors_per_day"]


def test_planted_daily_use_categories_top_repurchase(shop):
    rows = shop.repurchase("category").to_pylist()
    top8 = {r["key"] for r in rows if r["rate_rank"] <= 8}
    assert top8 == {f"C{i:03d}" for i in range(8)}  # the generator's daily-use categories
    candidates = {r["key"] for r in rows if r["is_membership_candidate"]}
    assert candidates and candidates <= top8
    invited = {r["user_id"] for r in shop.membership_invites().to_pylist()}
    assert invited and invited <= set(shop.rfm().column("user_id").to_pylist())


def test_periods_add_up_to_the_orders(shop):
    as_of = shop.last_build.as_of
    total = shop.sql(f"""SELECT count(*) AS n, sum(amount) AS gmv FROM dwd_orders
                         WHERE in_gmv AND order_date < DATE '{as_of}'""").to_pylist()[0]
    periods = shop.sql("SELECT sum(orders) AS n, sum(gmv) AS gmv FROM ads_periods").to_pylist()[0]
    assert periods["n"] == total["n"] and periods["gmv"] == pytest.approx(total["gmv"])
    days = _one(shop, "SELECT sum(days) FROM ads_periods")
    assert days == _one(shop, "SELECT count(*) FROM dws_shop_day WHERE in_span")


def test_funnel_and_hours_add_up_to_the_events(shop):
    as_of = shop.last_build.as_of
    events = shop.sql(f"""SELECT behavior, count(*) AS n FROM dwd_events
                          WHERE dt < DATE '{as_of}' GROUP BY ALL""").to_pylist()
    events = {r["behavior"]: r["n"] for r in events}
    for by in ("all", "day", "channel", "category", "period"):
        table = shop.funnel(by).to_pandas()
        assert table.events_pv.sum() == events["pv"] and table.events_buy.sum() == events["buy"], by
    [row] = shop.funnel("all").to_pylist()
    assert row["visitors"] >= row["users_pv"] >= row["users_fav_or_cart"]
    days = shop.funnel("day").to_pandas()
    # a third of sessions see a single page: a visitor's day is often just that
    assert 0.1 < days.bounced.sum() / days.visitors.sum() < 0.4
    assert row["bounce_rate"] < days.bounced.sum() / days.visitors.sum()  # a year: more visits
    hourly = shop.hourly().to_pandas()
    assert hourly.events.sum() == sum(events.values())
    busiest = hourly.groupby("hour").events.sum().idxmax()
    assert 19 <= busiest <= 22  # the generator's evening peak, in local time


def test_attribution_models_share_out_every_order(shop):
    orders = _one(shop, f"SELECT count(*) FROM dwd_orders WHERE in_gmv "
                        f"AND order_date < DATE '{shop.last_build.as_of}'")
    for model in ("last", "first", "linear"):
        table = shop.channels(model).to_pandas()
        assert table.orders.sum() == pytest.approx(orders), model
        paid = table[table.cost > 0]
        assert (paid.roas == paid.revenue / paid.cost).all()


def test_retention_cohorts(shop):
    table = shop.retention("month").to_pandas()
    assert (table[table.periods_since == 0].rate == 1).all()
    buyers = _one(shop, f"SELECT count(DISTINCT user_id) FROM dwd_orders WHERE in_gmv "
                        f"AND order_date < DATE '{shop.last_build.as_of}'")
    assert table[table.periods_since == 0].cohort_size.sum() == buyers
    assert (table.rate <= 1).all()
    due = shop.purchase_due().to_pandas()
    assert len(due) and (due.purchase_days >= 2).all() and (due.median_gap_days >= 1).all()


@pytest.mark.slow
def test_taobao_sample_periods_make_sense(ws, data_dir):
    path = data_dir / "taobao" / "UserBehavior_users_head.csv"
    ws.import_file("taobao", path)
    periods = ws.periods().to_pylist()
    # 2017-11-25 … 12-03: two partial months of ordinary days, no campaign
    assert {p["kind"] for p in periods} == {"daily"}
    assert all(not p["is_complete"] for p in periods)
    assert ws.campaign_carts().num_rows == 0
    kinds = {r["day_type"]: r for r in ws.period_kinds().to_pylist()}
    assert kinds["all"]["days"] == 9 and kinds["weekend"]["days"] == 4
    assert kinds["weekend"]["visitors_per_day"] > 1.1 * kinds["workday"]["visitors_per_day"]

    df = pd.read_csv(path, header=None, names=["user", "item", "cat", "behavior", "ts"],
                     dtype={"user": str}).drop_duplicates()
    df["day"] = pd.to_datetime(df.ts, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.date
    df = df[(df.day >= dt.date(2017, 11, 25)) & (df.day <= dt.date(2017, 12, 3))]
    days = {r["value"]: r for r in ws.funnel("day").to_pylist()}
    for day, g in df.groupby("day"):
        got = days[str(day)]
        assert got["visitors"] == g.user.nunique()
        assert got["users_buy"] == g[g.behavior == "buy"].user.nunique()
    [row] = ws.funnel("all").to_pylist()
    assert row["conversion"] == pytest.approx(df[df.behavior == "buy"].user.nunique() / df.user.nunique())
    # no prices: GMV counts items bought, so 笔单价 is 1 and the channel table has no spend
    assert all(p["gmv_per_order"] == 1 for p in periods)
