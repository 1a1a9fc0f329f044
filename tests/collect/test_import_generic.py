"""The generic importer's pieces real files need (issue #15): constant columns, orders
without amounts, Excel guards in every cell, headers with trailing spaces, full-width
digits, own text ids, and a multi-table public shop loaded with flags alone."""

import datetime as dt

import pytest

from custlens.collect.mapping import fields_help


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_multi_table_shop_whose_person_lives_in_the_customer_table(ws, tmp_path):
    """Olist's shape: each order has its own customer_id; customer_unique_id is the person.
    Orders carry no amount, lines no quantity (a row per unit, order_item_id 1, 2 … within
    each order)."""
    customers = _write(tmp_path, "customers.csv",
                       "customer_id,customer_unique_id,customer_city\n"
                       "c1,p_ana,sao paulo\nc2,p_ana,sao paulo\nc3,p_bia,rio\nc4,p_caio,recife\n")
    orders = _write(tmp_path, "orders.csv",
                    "order_id,customer_id,order_status,order_purchase_timestamp\n"
                    "o1,c1,delivered,2018-08-01 10:00:00\n"
                    "o2,c2,shipped,2018-08-20 10:00:00\n"
                    "o3,c3,delivered,2018-08-25 10:00:00\n"
                    "o4,c4,canceled,2018-08-26 10:00:00\n"
                    "o5,c3,created,2018-08-30 10:00:00\n")
    items = _write(tmp_path, "items.csv",
                   "order_id,order_item_id,product_id,price,freight_value\n"
                   "o1,1,pA,10.50,3\no1,2,pA,10.50,3\no2,1,pB,100.00,9\n"
                   "o3,1,pC,25.00,4\no4,1,pA,10.50,3\no5,1,pB,100.00,9\n")
    ws.import_file("identity", customers, map={"source_id": "customer_id", "user_id": "customer_unique_id"},
                   constants={"source": "customer"})
    ws.import_file("orders", orders, map={"user_id": "customer_id", "order_ts": "order_purchase_timestamp",
                                          "status": "order_status"},
                   values={"status": {"delivered": "paid", "shipped": "paid", "canceled": "cancelled",
                                      "created": "pending"}}, tz="America/Sao_Paulo")
    [result] = ws.import_file("order-items", items, map={"item_id": "product_id", "line_id": "order_item_id"},
                              constants={"qty": "1"})
    assert result.rows == 6 and result.rejected == 0
    rfm = {r["user_id"]: (r["recency_days"], r["frequency"], r["monetary"])
           for r in ws.rfm(as_of=dt.date(2018, 9, 1)).to_pylist()}
    # ana: o1 (2 units of 10.50) + o2 (100), last 08-20 → R 12; bia: o3 (25), o5 not paid yet
    assert rfm == {"p_ana": (12, 2, 121.0), "p_bia": (7, 1, 25.0)}
    classes = {r["user_id"]: r["class"] for r in ws.read("ads_customer_class", dt.date(2018, 9, 1)).to_pylist()}
    assert classes["p_caio"] == "intent"  # only a cancelled order


def test_guards_spaces_full_width_and_constants(ws, tmp_path):
    text = ('"订单编号","买家会员名","订单付款时间 ","实付金额"\n'
            '="1234567890123456789","\ttb_a","2024-11-11 10:00:00","１２３.４０元"\n'
            '="1234567890123456790","\'13812345678","2024-11-12 10:00:00","¥1,000"\n')
    path = _write(tmp_path, "tb.csv", text, "gb18030")
    [r] = ws.import_file("orders", path, map={"order_id": "订单编号", "user_id": "买家会员名",
                                              "order_ts": "订单付款时间", "amount": "实付金额"},
                         constants={"status": "paid"})
    assert r.rejected == 0
    rows = sorted((o["order_id"], o["user_id"], o["amount"], o["status"]) for o in ws.read("dwd_orders").to_pylist())
    assert rows == [("1234567890123456789", "tb_a", 123.4, "paid"),
                    ("1234567890123456790", "13812345678", 1000.0, "paid")]


def test_orders_without_amount_take_their_lines(ws, tmp_path):
    orders = _write(tmp_path, "o.csv", "order_id,user_id,order_ts\nA,u1,2025-03-01 10:00:00\n"
                    "B,u1,2025-03-05 10:00:00\n")
    lines = _write(tmp_path, "l.csv", "order_id,item_id,qty,price\nA,x,2,5\nA,y,1,7.5\n")
    ws.import_file("orders", orders)
    ws.import_file("order-items", lines)
    got = {o["order_id"]: o["amount"] for o in ws.read("dwd_orders").to_pylist()}
    assert got == {"A": 17.5}  # B has neither an amount nor lines yet: it waits for them


def test_own_event_ids_of_any_text_form(ws, tmp_path):
    path = _write(tmp_path, "e.csv", "event_id,user_id,behavior,ts\n"
                  "w000123,u1,pv,2025-01-01 10:00:00\n"
                  "6f1c2a8e-1111-2222-3333-444455556666,u2,pv,2025-01-01 11:00:00\n"
                  "42,u3,buy,2025-01-01 12:00:00\nw000123,u1,pv,2025-01-01 10:00:00\n")
    [r] = ws.import_file("events", path)
    assert r.rows == 4 and r.rejected == 0
    ids = ws.sql("SELECT event_id, user_id FROM dwd_events ORDER BY user_id").to_pylist()
    assert [i["user_id"] for i in ids] == ["u1", "u2", "u3"]  # the replayed w000123 counts once
    assert ids[2]["event_id"] == 42 and all(isinstance(i["event_id"], int) for i in ids)


@pytest.mark.parametrize("table", ["orders", "order_items", "events", "customers"])
def test_the_help_lists_fields_required_and_accepted(table):
    text = fields_help(table)
    assert "required" in text and "optional" in text
    if table == "orders":
        assert "one of cancelled, paid, pending, refunded" in text
    if table == "events":
        assert "one of buy, cart, fav, pv" in text
