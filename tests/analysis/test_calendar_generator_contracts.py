"""Calendar kinds, the generator's planted shape, and every model's declared contract."""

import datetime as dt

import pytest

from custlens.analysis.calendar import classify
from custlens.collect.generate import ShopSpec, generate
from custlens.warehouse import registry

pytestmark = pytest.mark.slow  # generates and builds a year (make test-quick leaves it out)


@pytest.mark.parametrize("day,kind,name,phase", [
    (dt.date(2025, 11, 11), "campaign", "双十一", "peak"),
    (dt.date(2025, 10, 25), "campaign", "双十一", "warmup"),
    (dt.date(2025, 6, 18), "campaign", "618", "peak"),
    (dt.date(2025, 6, 6), "campaign", "618", "warmup"),  # inside 618's warm-up: campaign wins
    (dt.date(2025, 12, 12), "campaign", "双十二", "peak"),
    (dt.date(2025, 9, 9), "promo_day", "9.9", None),
    (dt.date(2025, 10, 2), "holiday", "国庆节", None),
    (dt.date(2025, 3, 4), "daily", None, None),
])
def test_calendar_kinds(day, kind, name, phase):
    row = classify(day)
    assert (row["kind"], row["period_name"], row["phase"]) == (kind, name, phase)


def test_makeup_workday_and_unknown_years():
    assert classify(dt.date(2025, 9, 28))["is_makeup_workday"]  # Sunday worked for 国庆 (调休)
    far = classify(dt.date(2031, 10, 1))
    assert far["holiday_known"] is False and far["kind"] == "daily"


def test_generator_is_deterministic_and_shaped_like_a_shop():
    spec = ShopSpec(users=1_500, days=365, seed=3)
    a = [c["events"] for c in generate(spec) if "events" in c][0]
    b = [c["events"] for c in generate(spec) if "events" in c][0]
    assert a.equals(b)
    mix = {k: v / a.num_rows for k, v in zip(*[x.to_pylist() for x in
           a.column("behavior").value_counts().flatten()], strict=True)}
    assert 0.85 < mix["pv"] < 0.93 and 0.03 < mix["cart"] < 0.08
    assert 0.015 < mix["fav"] < 0.05 and 0.01 < mix["buy"] < 0.035


def test_generated_shop_has_campaign_lift_and_all_classes(shop):
    lift = shop.sql("""
        SELECT avg(n) FILTER (WHERE kind = 'campaign' AND phase = 'peak')
             / avg(n) FILTER (WHERE kind = 'daily') AS lift
        FROM (SELECT dt, count(*) AS n FROM dwd_events GROUP BY dt) e
        JOIN dim_calendar c ON c.date = e.dt""").column(0)[0].as_py()
    assert lift > 3
    classes = set(shop.sql("SELECT DISTINCT class FROM ads_customer_class").column(0).to_pylist())
    assert classes == {"core", "low_repurchase", "intent", "browser"}
    daily = shop.sql("""SELECT i.is_daily_use, count(*) / count(DISTINCT o.user_id) AS per_buyer
        FROM dwd_order_items l JOIN dwd_items i USING (item_id)
        JOIN dwd_orders o USING (order_id) GROUP BY 1 ORDER BY 1""").to_pylist()
    assert daily[1]["per_buyer"] > daily[0]["per_buyer"]  # daily-use bought again and again


def _check_contract(ws, name):
    model = registry.get(name)
    problems = []
    for col in model.columns:
        if col.not_null:
            n = ws.engine.query(f"SELECT count(*) FROM {name} WHERE {col.name} IS NULL").column(0)[0].as_py()
            problems += [f"{col.name}: {n} nulls"] if n else []
        if col.unique:
            n = ws.engine.query(f"SELECT count(*) - count(DISTINCT {col.name}) FROM {name}").column(0)[0].as_py()
            problems += [f"{col.name}: {n} duplicates"] if n else []
        if col.accepted:
            allowed = ", ".join(f"'{v}'" for v in col.accepted)
            n = ws.engine.query(f"SELECT count(*) FROM {name} WHERE {col.name} NOT IN ({allowed})").column(0)[0].as_py()
            problems += [f"{col.name}: {n} values outside {col.accepted}"] if n else []
    return problems


@pytest.mark.parametrize("name", sorted(registry.models()))
def test_model_contract_on_generated_shop(shop, name):
    assert _check_contract(shop, name) == []
    assert registry.get(name).grain


def test_row_invariants(shop):
    # the segment table adds up to the buyers; one class per active customer
    seg = shop.sql("SELECT sum(customers), sum(share) FROM ads_segments").to_pylist()[0]
    buyers = shop.sql("SELECT count(*) FROM ads_rfm").column(0)[0].as_py()
    assert list(seg.values())[0] == buyers and abs(list(seg.values())[1] - 1) < 1e-9
    mismatch = shop.sql("""SELECT count(*) FROM ads_customer_class c JOIN ads_rfm r USING (user_id)
                           WHERE c.class <> r.class""").column(0)[0].as_py()
    assert mismatch == 0
    net = shop.sql("""SELECT count(*) FROM dws_customer
                      WHERE abs(amount_net - greatest(amount_paid - amount_returned, 0)) > 1e-6""")
    assert net.column(0)[0].as_py() == 0
