"""The importers on the public samples, checked against an independent pandas computation."""

import datetime as dt

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # whole public samples: ~20 s


def _by_user(table):
    return {r["user_id"]: (r["recency_days"], r["frequency"], r["monetary"]) for r in table.to_pylist()}


def test_taobao_rfm_matches_pandas(ws, data_dir):
    path = data_dir / "taobao" / "UserBehavior_users_head.csv"
    [result] = ws.import_file("taobao", path)
    # 35 records are stamped outside the dataset's documented 2017-11-25..12-03
    assert result.rows == 84_439 and result.rejected == 35

    df = pd.read_csv(path, header=None, names=["user", "item", "cat", "behavior", "ts"],
                     dtype={"user": str}).drop_duplicates()
    local = pd.to_datetime(df.ts, unit="s", utc=True).dt.tz_convert("Asia/Shanghai").dt.date
    df = df.assign(day=local)
    df = df[(df.day >= dt.date(2017, 11, 25)) & (df.day <= dt.date(2017, 12, 3))]
    as_of = max(df.day) + dt.timedelta(days=1)
    buys = df[df.behavior == "buy"].groupby("user").agg(last=("day", "max"), f=("item", "size"))
    expected = {u: ((as_of - r["last"]).days, int(r.f), float(r.f)) for u, r in buys.iterrows()}

    got = _by_user(ws.rfm())
    assert got == expected
    assert ws.last_build.as_of == as_of
    assert ws.rfm_notes()["monetary_is_count"] is True
    # every visitor gets a class; buyers are exactly the RFM population
    classes = ws.read("ads_customer_class").to_pandas()
    assert len(classes) == df.user.nunique()
    assert set(classes[classes.is_buyer].user_id) == set(expected)
    intent = classes[classes["class"] == "intent"]
    assert (intent.count_fav + intent.count_cart > 0).all() and not intent.is_buyer.any()


def _online_retail_expected(path):
    df = pd.read_csv(path, dtype={"CustomerID": str, "InvoiceNo": str}).drop_duplicates(
        subset=["InvoiceNo", "StockCode", "Quantity", "UnitPrice", "CustomerID", "InvoiceDate"])
    df["amount"] = df.Quantity * df.UnitPrice
    df["day"] = pd.to_datetime(df.InvoiceDate).dt.date  # already UK local time
    inv = df.groupby("InvoiceNo").agg(user=("CustomerID", "first"), day=("day", "min"),
                                      amount=("amount", "sum"))
    as_of = inv.day.max() + dt.timedelta(days=1)
    inv = inv[inv.user.notna()]
    out = {}
    for user, g in inv.groupby("user"):
        paid = g[g.amount >= 0]  # a $0 invoice is an order (issue #14); returns are negative
        if paid.empty:
            continue
        m = max(paid.amount.sum() + g[g.amount < 0].amount.sum(), 0.0)
        out[user.removesuffix(".0")] = ((as_of - paid.day.max()).days, len(paid), m)
    return as_of, out


@pytest.mark.parametrize("name", ["OnlineRetail_sample40k.csv", "OnlineRetail_sample40k.xlsx"])
def test_online_retail_rfm_matches_pandas(ws, data_dir, name):
    path = data_dir / "online_retail" / name
    results = ws.import_file("online-retail", path)
    assert results[0].rows == 40_000
    as_of, expected = _online_retail_expected(data_dir / "online_retail" / "OnlineRetail_sample40k.csv")
    got = _by_user(ws.rfm())
    assert ws.last_build.as_of == as_of
    assert set(got) == set(expected)
    for user, (r, f, m) in expected.items():
        assert got[user][:2] == (r, f), user
        assert got[user][2] == pytest.approx(m, abs=1e-6), user
    assert ws.settings.tz == "Europe/London" and ws.settings.get("shop.currency") == "GBP"
    # returns are never orders; anonymous invoices stay outside RFM
    orders = ws.read("dwd_orders").to_pandas()
    assert (orders[orders.order_id.str.startswith("C")].is_paid == False).all()  # noqa: E712
    assert orders.user_id.isna().sum() > 0


def test_online_retail_csv_and_xlsx_load_the_same(ws, data_dir):
    ws.import_file("online-retail", data_dir / "online_retail" / "OnlineRetail_sample40k.csv")
    csv_orders = ws.sql("SELECT order_id, user_id, round(amount, 6) AS a FROM dwd_orders ORDER BY 1").to_pylist()
    for b in ws.lake.batches():
        ws.lake.undo_batch(b.batch_id)
    ws.import_file("online-retail", data_dir / "online_retail" / "OnlineRetail_sample40k.xlsx")
    xlsx_orders = ws.sql("SELECT order_id, user_id, round(amount, 6) AS a FROM dwd_orders ORDER BY 1").to_pylist()
    assert csv_orders == xlsx_orders and len(csv_orders) > 1000


def test_taobao_slice_single_day(ws, data_dir):
    [result] = ws.import_file("taobao", data_dir / "taobao" / "UserBehavior_slice_2017-11-26.csv")
    assert result.rows == 110_300
    dts = ws.sql("SELECT DISTINCT dt FROM dwd_events").column(0).to_pylist()
    assert dts == [dt.date(2017, 11, 26)]  # 09:00..11:10 +08 is one local day
    seg = ws.segments().to_pylist()
    # F and M mirror each other here (no prices): only segments where they agree appear
    for row in seg:
        assert row["segment"] in {"重要价值客户", "重要保持客户", "一般发展客户", "一般挽留客户"}
