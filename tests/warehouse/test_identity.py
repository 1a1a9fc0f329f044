"""One person, many ids: a log cookie, two customer records with one phone number."""

import datetime as dt


def _load(ws, tmp_path, kind, text):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    ws.import_file(kind, path)


def test_log_ids_and_shared_phones_become_one_person(ws, tmp_path):
    _load(ws, tmp_path, "customers", "user_id,phone\nC1,+86 138-1234-5678\nC2,13812345678\nC3,13900000000\n")
    _load(ws, tmp_path, "identity", "source,source_id,user_id\nlog,cookie_9,C1\n")
    _load(ws, tmp_path, "orders", "order_id,user_id,order_ts,amount\n"
                                  "o1,C1,2025-11-01 10:00:00,100\no2,C2,2025-11-05 10:00:00,50\n"
                                  "o3,C3,2025-11-06 10:00:00,20\n")
    _load(ws, tmp_path, "events", "user_id,behavior,ts\ncookie_9,pv,2025-11-04 09:00:00\n"
                                  "cookie_9,cart,2025-11-04 09:05:00\nC3,pv,2025-11-06 09:00:00\n")
    rules = {(r["source"], r["source_id"]): (r["person_id"], r["rule"])
             for r in ws.read("dim_identity").to_pylist()}
    assert rules == {("log", "cookie_9"): ("C1", "explicit"), ("customer", "C2"): ("C1", "phone")}
    rfm = {r["user_id"]: r for r in ws.rfm(as_of=dt.date(2025, 11, 10)).to_pylist()}
    assert set(rfm) == {"C1", "C3"}
    assert (rfm["C1"]["frequency"], rfm["C1"]["monetary"]) == (2, 150.0)  # C1's and C2's orders
    classes = {r["user_id"]: r for r in ws.read("ads_customer_class", as_of=dt.date(2025, 11, 10)).to_pylist()}
    assert (classes["C1"]["count_pv"], classes["C1"]["count_cart"]) == (1, 1)  # cookie_9's visit
    customers = ws.sql("SELECT user_id, phone FROM dwd_customers ORDER BY user_id").to_pylist()
    assert [c["user_id"] for c in customers] == ["C1", "C3"]  # one record per person


def test_phone_rule_can_be_switched_off(ws, tmp_path):
    ws.settings = ws.settings.with_overrides(**{"identity.by_phone": False})
    _load(ws, tmp_path, "customers", "user_id,phone\nC1,13812345678\nC2,13812345678\n")
    _load(ws, tmp_path, "orders", "order_id,user_id,order_ts,amount\n"
                                  "o1,C1,2025-11-01 10:00:00,100\no2,C2,2025-11-05 10:00:00,50\n")
    assert ws.read("dim_identity").num_rows == 0
    assert ws.rfm(as_of=dt.date(2025, 11, 10)).num_rows == 2
