"""The generic importer: any columns, formats, encodings; bad rows quarantined with reasons."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from custlens.errors import CustlensError

SHOP_EXPORT = "订单编号,买家会员名,下单时间,订单状态,实付金额\n" \
              "T1,张三,2025/11/11 00:05:00,交易成功,\"¥1,299.00\"\n" \
              "T2,李四,2025-11-10 23:59:59,交易关闭,¥59.90\n" \
              "T3,张三,2025年11月12日 10:00:00,退款中,100\n"


def _orders(ws):
    return {r["order_id"]: r for r in ws.read("dwd_orders").to_pylist()}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_shop_export_loads_without_code(ws, tmp_path, encoding):
    path = tmp_path / "orders.csv"
    path.write_bytes(SHOP_EXPORT.encode(encoding))
    [r] = ws.import_file("orders", path)
    assert (r.rows, r.rejected) == (3, 0)
    orders = _orders(ws)
    assert orders["T1"]["amount"] == 1299.0 and orders["T1"]["status"] == "paid"
    assert orders["T2"]["status"] == "cancelled" and orders["T3"]["status"] == "refunded"
    assert orders["T1"]["user_id"] == "张三"
    # local Shanghai times: 2025-11-11 00:05 +08 is 11-10 16:05 UTC but local date 11-11
    assert str(orders["T1"]["order_date"]) == "2025-11-11"
    assert orders["T1"]["order_ts"].hour == 16


def test_map_value_and_separator(ws, tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text("who;when;what;thing\nu1;1735689600;V;i1\nu2;1735689601;B;i2\n", encoding="utf-8")
    [r] = ws.import_file("events", path, map={"user_id": "who", "ts": "when", "behavior": "what",
                                              "item_id": "thing"},
                         values={"behavior": {"V": "pv", "B": "buy"}})
    assert (r.rows, r.rejected) == (2, 0)
    got = ws.sql("SELECT user_id, behavior FROM dwd_events ORDER BY user_id").to_pylist()
    assert got == [{"user_id": "u1", "behavior": "pv"}, {"user_id": "u2", "behavior": "buy"}]


def test_bad_rows_quarantined_good_rows_load(ws, tmp_path):
    lines = [
        "user_id,item_id,behavior,ts",
        "u1,i1,pv,2025-01-01 10:00:00",    # line 2 ok
        "u2,i2,jump,2025-01-01 10:00:00",  # line 3 unknown behaviour
        ",i3,pv,2025-01-01 10:00:00",      # line 4 missing user
        "u4,i4,pv,yesterday",              # line 5 bad time
        "u5,i5,pv,2025-01-01 10:00:00,extra,columns",  # line 6 cannot be split
        "u6,i6,cart,2025-01-02 11:00:00",  # line 7 ok
    ]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [r] = ws.import_file("events", path)
    assert (r.rows, r.rejected) == (2, 4)
    q = {row["line"]: row for row in ws.read("dwd_quarantine").to_pylist()}
    assert set(q) == {3, 4, 5, 6}
    assert q[3]["field"] == "behavior" and q[3]["value"] == "jump" and "unknown value" in q[3]["reason"]
    assert q[4]["field"] == "user_id" and q[4]["reason"] == "missing"
    assert q[5]["field"] == "ts" and q[5]["value"] == "yesterday"
    assert q[6]["field"] is None and "cannot split" in q[6]["reason"]
    assert all(row["source"] == str(path) for row in q.values())
    # events without their own id are numbered only where rejected (issue #16: numbering
    # every row serialised the write); with own ids every row keeps its line, after the
    # broken line too (test_importers_scale)
    lines_loaded = ws.sql("SELECT _line FROM ods_events").column(0).to_pylist()
    assert lines_loaded == [None, None]
    own = tmp_path / "own.csv"
    own.write_text("\n".join(["event_id," + lines[0]] + [f"{n}," + line for n, line in
                                                         enumerate(lines[1:], start=1)]) + "\n")
    ws.import_file("events", own)
    lines_loaded = ws.sql("SELECT _line FROM ods_events WHERE _source LIKE '%own.csv' "
                          "ORDER BY _line").column(0).to_pylist()
    assert lines_loaded == [2, 7]


def test_undecodable_bytes_are_quarantined(ws, tmp_path):
    path = tmp_path / "gbk.csv"
    body = "user_id,behavior,ts\n用户1,pv,2025-01-01 10:00:00\n".encode("gb18030")
    path.write_bytes(body + b"u2,\xff\xfe,2025-01-01 10:00:00\n")
    [r] = ws.import_file("events", path, encoding="gb18030")
    assert r.rows == 1 and r.rejected == 1
    [bad] = ws.read("dwd_quarantine").to_pylist()
    assert bad["line"] == 3 and "encoding" in bad["reason"]


def test_xlsx_parquet_and_jsonl(ws, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["用户ID", "注册时间", "生日", "手机号"])
    sheet.append(["c1", "2024-05-01 08:00:00", "1990-08-15", "13812345678"])
    sheet.append(["c2", "2024-06-01 09:00:00", "农历1985-01-02", "13900001111"])
    book.save(tmp_path / "customers.xlsx")
    [r] = ws.import_file("customers", tmp_path / "customers.xlsx")
    assert (r.rows, r.rejected) == (2, 0)
    cust = {c["user_id"]: c for c in ws.read("dwd_customers").to_pylist()}
    assert cust["c1"]["phone"] == "13812345678" and str(cust["c2"]["birthday"]) == "1985-01-02"

    pq.write_table(pa.table({"item_id": ["i1", "i2"], "category_id": ["c", "c"],
                             "price": [9.9, 19.0]}), tmp_path / "items.parquet")
    [r] = ws.import_file("items", tmp_path / "items.parquet")
    assert r.rows == 2

    with open(tmp_path / "ev.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"user": {"id": "u1"}, "behavior": "fav", "ts": 1735689600}) + "\n")
        fh.write("{not json\n")
        fh.write(json.dumps({"user": {"id": "u2"}, "behavior": "cart", "ts": 1735689601}) + "\n")
    [r] = ws.import_file("events", tmp_path / "ev.jsonl", map={"user_id": "user.id"})
    assert (r.rows, r.rejected) == (2, 1)
    [bad] = [q for q in ws.read("dwd_quarantine").to_pylist() if q["table_name"] == "events"]
    assert bad["line"] == 2 and "not valid JSON" in bad["reason"]


def test_unmapped_required_field_is_a_clear_error(ws, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("id,buyer\n1,u\n", encoding="utf-8")
    with pytest.raises(CustlensError) as err:
        ws.import_file("orders", path)
    msg = str(err.value)
    # amount is not required since issue #15: an order without one takes its lines' total
    assert "order_id, order_ts" in msg and "id, buyer" in msg and "--map" in msg


def test_map_to_a_missing_column_names_it(ws, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CustlensError, match="no column 'nope'"):
        ws.import_file("events", path, map={"user_id": "nope"})
