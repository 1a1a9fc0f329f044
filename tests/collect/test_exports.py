"""Seller back-end exports (issue #15): one fixture per layout of PLATFORM_EXPORTS.md, written
with our own rows in each platform's encoding and cell quirks. Paid orders, paid amount and
every buyer's R, F, M are worked out by hand in the comments; `import auto` and the named
preset must give exactly those."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.collect.exports import detect
from custlens.collect.exports.convert import parse_money, parse_time
from custlens.collect.exports.sniff import clean_cell, header_key
from custlens.errors import CustlensError

AS_OF = dt.date(2024, 12, 1)


def _csv(path: Path, header: list[str], rows: list[dict], encoding: str = "utf-8",
         quote_all: bool = False, tab_prefix: tuple[str, ...] = (), trailing_comma: bool = False) -> Path:
    def cell(name: str, value: str) -> str:
        value = ("\t" + value) if name in tab_prefix and value else value
        if quote_all or any(c in value for c in ',"\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    head = ",".join(f'"{h}"' if quote_all else h for h in header)
    lines = [head + ("," if trailing_comma else "")]
    for r in rows:
        lines.append(",".join(cell(h, r.get(h.strip(), "")) for h in header) + ("," if trailing_comma else ""))
    data = ("\n".join(lines) + "\n").encode(encoding)
    path.write_bytes(data)
    return path


def _paid(ws) -> tuple[int, float]:
    row = ws.sql("SELECT count(*) AS n, coalesce(sum(amount), 0) AS a FROM dwd_orders "
                 "WHERE status = 'paid'").to_pylist()[0]
    return row["n"], round(row["a"], 6)


def _rfm(ws, key_of=None) -> dict:
    rows = ws.rfm(as_of=AS_OF).to_pylist()
    out = {r["user_id"]: (r["recency_days"], r["frequency"], round(r["monetary"], 6)) for r in rows}
    if key_of:
        out = {key_of[u]: v for u, v in out.items()}
    return out


def _both(ws_factory, path: Path, preset: str, **opts):
    """Import with auto-detection and with the named preset into two lakes: both results."""
    out = []
    for name in (None, preset):
        ws = ws_factory()
        found, converted, results = ws.import_export(path, name, **opts)
        assert found.layout.name == preset
        out.append((ws, converted, results))
    return out


@pytest.fixture()
def lakes(tmp_path):
    from custlens import Workspace

    made = []

    def make():
        w = Workspace(lake=tmp_path / f"lake{len(made)}")
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


# ---- Taobao / Tmall ----------------------------------------------------------------------
TAOBAO_2017 = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额",
               "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址 ",
               "运送方式", "联系电话 ", "联系手机", "订单创建时间", "订单付款时间 ", "宝贝标题 ", "宝贝种类 ",
               "物流单号 ", "物流公司", "订单备注", "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费",
               "买家服务费", "发票抬头", "是否手机订单", "分阶段订单信息", "特权订金订单id", "是否上传合同照片",
               "是否上传小票", "是否代付", "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣",
               "集分宝抵扣", "是否是O2O交易", "退款金额", "预约门店"]


def _tb(oid, buyer, paid_amount, status, created, paid_at, refund="0.00"):
    return {"订单编号": f'="{oid}"', "买家会员名": buyer, "买家应付货款": paid_amount, "总金额": paid_amount,
            "买家实际支付金额": paid_amount, "订单状态": status, "订单创建时间": created, "订单付款时间": paid_at,
            "退款金额": refund, "联系手机": "'13812345678", "特权订金订单id": '=""', "买家服务费": "0元",
            "收货人姓名": "张三", "收货地址": "浙江省 杭州市 西湖区 某路1号(310000)", "订单关闭原因": "订单未关闭"}


def test_taobao_orders_2017_gb18030(lakes, tmp_path):
    rows = [
        _tb("1234567890123456", "tb_alice", "100.00", "交易成功", "2024-11-11 10:00:00", "2024-11-11 10:01:00"),
        # paid, then 20 refunded: stays paid, a −20 row lowers alice's net
        _tb("1234567890123457", "tb_alice", "50.00", "交易成功", "2024-11-20 10:00:00", "2024-11-20 10:01:00", "20.00"),
        _tb("1234567890123458", "tb_bob", "80.00", "交易关闭", "2024-11-21 10:00:00", ""),  # never paid
        _tb("1234567890123459", "tb_bob", "60.00", "交易关闭", "2024-11-22 10:00:00", "2024-11-22 10:05:00", "60.00"),
        _tb("1234567890123460", "tb_carol", "30.00", "等待买家付款", "2024-11-23 10:00:00", ""),  # pending
        _tb("1234567890123461", "tb_carol", "40.00", "卖家已发货，等待买家确认", "2024-11-24 10:00:00",
            "2024-11-24 10:01:00", "无退款申请"),  # paid, in escrow
        _tb("1234567890123462", "tb_dave", "10.00", "奇怪状态", "2024-11-24 10:00:00", "2024-11-24 10:01:00"),
    ]
    path = _csv(tmp_path / "ExportOrderList202412010930.csv", TAOBAO_2017, rows, "gb18030", quote_all=True)
    for ws, converted, results in _both(lakes, path, "taobao-orders"):
        assert results[0].rows == 7 and results[0].rejected == 1  # the unknown status, quarantined
        assert "unknown status" in results[0].samples[0]["reason"]
        assert _paid(ws) == (3, 190.0)
        # alice: last paid 11-20 → R 11, F 2, M 100 + 50 − 20; carol: 11-24 → R 7, F 1, M 40
        assert _rfm(ws) == {"tb_alice": (11, 2, 130.0), "tb_carol": (7, 1, 40.0)}
        classes = {r["user_id"]: r["class"] for r in ws.read("ads_customer_class", AS_OF).to_pylist()}
        assert classes["tb_bob"] == "intent"  # cancelled and refunded: intent, never a browser
        statuses = {r["order_id"]: r["status"] for r in ws.read("dwd_orders").to_pylist()}
        assert statuses["1234567890123459"] == "refunded" and statuses["1234567890123460"] == "pending"
        assert converted.buyerless == 0
    again = ws.import_export(path)[2]
    assert all(r.batch is None for r in again)  # idempotent


def test_taobao_qianniu_xlsx_without_buyer_and_the_items_report(lakes, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["订单编号", "支付单号", "买家应付货款", "买家实付金额", "订单状态", "订单创建时间", "订单付款时间",
                  "商品标题", "退款金额"])
    sheet.append(["3456789012345678", "2024112022001", 99.5, 99.5, "交易成功", "2024-11-20 08:00:00",
                  "2024-11-20 08:00:05", "袜子", 0])
    sheet.append(["3456789012345679", "2024112022002", 10, 10, "交易关闭", "2024-11-21 08:00:00", "", "帽子", 0])
    # 2023+ id cells may carry wrapping: the one digit run is the id; two runs are not exact
    sheet.append(["【3456789012345680】", "2024112022003", 5, 5, "交易成功", "2024-11-22 08:00:00",
                  "2024-11-22 08:00:01", "围巾", 0])
    sheet.append(["T200P3456789012345681", "2024112022004", 5, 5, "交易成功", "2024-11-22 08:00:00",
                  "2024-11-22 08:00:01", "围巾", 0])
    path = tmp_path / "qianniu.xlsx"
    book.save(path)
    items = _csv(tmp_path / "ExportOrderDetailList.csv",
                 ["订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态", "商家编码"],
                 [{"订单编号": '="3456789012345678"', "标题": "袜子", "价格": "49.75", "购买数量": "2",
                   "订单状态": "交易成功", "商家编码": "SOCK-1"}], "gb18030", quote_all=True, trailing_comma=True)
    [(ws, converted, _), _] = _both(lakes, path, "taobao-orders")
    assert converted.buyerless == 3 and _paid(ws) == (2, 104.5) and _rfm(ws) == {}
    assert [b["reason"] for b in converted.broken] == ["order_id: order id not exact ('T200P3456789012345681': 2 digit runs)"]
    assert any("no 买家会员名" in w for w in converted.warnings)
    found, _, results = ws.import_export(items)
    assert found.layout.name == "taobao-items" and results[0].table == "order_items"
    lines = ws.read("dwd_order_items").to_pylist()
    assert [(r["order_id"], r["item_id"], r["qty"], r["price"]) for r in lines] == [
        ("3456789012345678", "SOCK-1", 2.0, 49.75)]


# ---- JD ------------------------------------------------------------------------------------
JD_2015 = ["订单号", "商品ID", "商品名称", "订购数量", "支付方式", "下单时间", "京东价", "订单金额", "结算金额", "余额支付",
           "应付金额", "订单状态", "订单类型", "下单帐号", "客户姓名", "客户地址", "联系电话", "订单备注", "发票类型",
           "发票抬头", "发票内容", "商家备注", "商家备注等级（等级1-5为由高到低）", "运费金额", "付款确认时间",
           "增值税发票", "货号", "订单完成时间", "订单来源", "订单渠道"]


def _jd(oid, item, qty, price, settled, status, account, placed, paid_at, pay="在线支付", note=""):
    return {"订单号": oid, "商品ID": item, "订购数量": qty, "京东价": price, "订单金额": settled, "结算金额": settled,
            "应付金额": settled, "余额支付": "0.00", "订单状态": status, "下单帐号": account, "下单时间": placed,
            "付款确认时间": paid_at, "支付方式": pay, "商家备注": note, "客户姓名": "李四", "联系电话": "13900001111"}


def test_jd_orders_amount_once_per_order(lakes, tmp_path):
    rows = [
        # order 1: two SKU rows repeating the order's 结算金额 150: counted once
        _jd("10000000001", "1000000001", "1", "100.00", "150.00", "完成", "jd_amy", "2024-11-10 09:00:00", "2024-11-10 09:01:00"),
        _jd("10000000001", "1000000002", "1", "60.00", "150.00", "完成", "jd_amy", "2024-11-10 09:00:00", "2024-11-10 09:01:00"),
        _jd("10000000002", "1000000001", "1", "100.00", "100.00", "等待付款", "jd_amy", "2024-11-25 09:00:00", ""),
        _jd("10000000003", "1000000003", "2", "20.00", "40.00", "已取消", "jd_ben", "2024-11-12 09:00:00", "2024-11-12 09:02:00"),
        _jd("10000000004", "1000000003", "1", "20.00", "20.00", "(删除)等待出库", "jd_ben", "2024-11-13 09:00:00",
            "2024-11-13 09:01:00", note="订单拆分为 10000000005"),
        _jd("10000000005", "1000000003", "1", "20.00", "20.00", "等待确认收货", "jd_ben", "2024-11-13 09:00:00", "2024-11-13 09:01:00"),
        # cash on delivery, delivered: paid at 完成 although no payment confirmation time
        _jd("10000000006", "1000000004", "3", "10.00", "30.00", "完成", "jd_cat", "2024-11-29 09:00:00", "", pay="货到付款"),
    ]
    path = _csv(tmp_path / "jd.csv", JD_2015, rows, "gb18030")
    for ws, _, results in _both(lakes, path, "jd-orders"):
        orders = next(r for r in results if r.table == "orders")
        assert orders.rejected == 1 and "split parent" in orders.samples[0]["reason"]
        assert _paid(ws) == (3, 200.0)  # 150 + 20 + 30
        # amy: 11-10 → R 21, F 1, M 150; ben: 11-13 → R 18, F 1, M 20 (the cancelled 40 was refunded)
        assert _rfm(ws) == {"jd_amy": (21, 1, 150.0), "jd_ben": (18, 1, 20.0), "jd_cat": (2, 1, 30.0)}
        assert ws.sql("SELECT count(*) FROM dwd_order_items").column(0)[0].as_py() == 6


# ---- 拼多多 -----------------------------------------------------------------------------------
PDD_2023 = ["商品", "订单号", "订单状态", "商品数量(件)", "支付时间", "发货时间", "确认收货时间", "商品id", "商品规格",
            "售后状态", "订单成交时间", "商品总价(元)", "邮费(元)", "店铺优惠折扣(元)", "平台优惠折扣(元)",
            "用户实付金额(元)", "商家实收金额(元)", "快递单号", "用户购买手机号"]


def _pdd(oid, status, paid_at, amount, after="无售后或售后取消"):
    return {"商品": "纸巾", "订单号": oid, "订单状态": status, "商品数量(件)": "2", "支付时间": paid_at,
            "商品id": "555001", "售后状态": after, "订单成交时间": paid_at or "2024-11-20 10:00:00",
            "商品总价(元)": amount, "用户实付金额(元)": amount, "商家实收金额(元)": amount}


def test_pdd_orders_tab_prefixed_without_buyer(lakes, tmp_path):
    rows = [_pdd("241120-123456789012345", "已收货", "2024-11-20 10:00:00", "17.8"),
            _pdd("241121-123456789012346", "已发货，退款成功", "2024-11-21 10:00:00", "20"),
            _pdd("241122-123456789012347", "待支付", "", "9.9"),
            _pdd("241123-123456789012348", "已签收", "2024-11-23 10:00:00", "30", after="退款成功"),
            _pdd("241124-123456789012349", "已发货，待收货", "2024-11-24 10:00:00", "0")]
    path = _csv(tmp_path / "pdd.csv", PDD_2023, rows, "utf-8-sig",
                tab_prefix=("订单号", "支付时间", "订单成交时间", "商品id", "用户购买手机号"))
    for ws, converted, _ in _both(lakes, path, "pdd-orders"):
        assert converted.buyerless == 5  # no buyer key at all
        assert _paid(ws) == (2, 17.8)  # 17.8 and the $0 order; 售后 退款成功 overrides 已签收
        assert _rfm(ws) == {}
        assert ws.sql("SELECT sum(orders) FROM dws_shop_day").column(0)[0].as_py() == 4  # shop level


# ---- 抖店 ----------------------------------------------------------------------------------
DOUYIN = ["主订单编号", "子订单编号", "选购商品", "商品规格", "商品数量", "商品ID", "商家编码", "商品单价", "订单应付金额",
          "运费", "优惠总金额", "收件人", "收件人手机号", "订单提交时间", "支付完成时间", "订单状态", "售后状态", "取消原因"]


def _dy(order, sub, qty, unit, due, status, paid_at, after="-", reason=""):
    return {"主订单编号": order, "子订单编号": sub, "选购商品": "T恤", "商品数量": qty, "商品ID": "3600000001",
            "商品单价": unit, "订单应付金额": due, "订单提交时间": "2024-11-18 20:00:00", "支付完成时间": paid_at,
            "订单状态": status, "售后状态": after, "取消原因": reason, "收件人": "王**", "收件人手机号": "138****0000"}


def test_douyin_orders_per_line_amounts_and_a_refunded_line(lakes, tmp_path):
    rows = [_dy("6900000000000000001", "6900000000000000011", "1", "59.00", "59.00", "已完成", "2024-11-18 20:00:05"),
            # the second line of order 1 was refunded: the order stays paid, net 59 + 30 − 30
            _dy("6900000000000000001", "6900000000000000012", "1", "30.00", "30.00", "已完成", "2024-11-18 20:00:05",
                after="退款成功"),
            _dy("6900000000000000002", "6900000000000000021", "2", "10.00", "1,000.00", "已关闭", ""),
            _dy("6900000000000000003", "6900000000000000031", "1", "25.00", "25.00", "已关闭", "2024-11-19 09:00:00",
                reason="买家申请退款")]
    path = _csv(tmp_path / "douyin.csv", DOUYIN, rows, "utf-8-sig", tab_prefix=("主订单编号", "子订单编号", "商品ID"))
    for ws, converted, _ in _both(lakes, path, "douyin-orders"):
        assert converted.amount_grain == "line"
        assert _paid(ws) == (1, 89.0)
        net = ws.sql("SELECT sum(amount) FROM dwd_orders WHERE order_id LIKE '6900000000000000001%'").column(0)[0]
        assert net.as_py() == 59.0
        statuses = {r["order_id"]: r["status"] for r in ws.read("dwd_orders").to_pylist()}
        assert statuses["6900000000000000002"] == "cancelled" and statuses["6900000000000000003"] == "refunded"


# ---- 有赞 ----------------------------------------------------------------------------------
YOUZAN_ITEMS = ["订单号", "外部订单号", "订单商品状态", "交易成功时间", "商品名称", "商品类型", "商品类目", "商品规格", "规格编码",
                "商品编码", "商品单价", "商品成本价", "商品优惠方式", "商品优惠后价格", "商品数量", "商品金额小计",
                "店铺优惠（分摊）", "商品实际成交金额", "商品抵用积分数", "商品留言", "收货人/提货人",
                "收货人手机号/提货人手机号", "收货人省份", "收货人城市", "收货人地区", "详细收货地址/提货地址", "买家备注",
                "商品发货状态", "商品发货方式", "商品发货物流公司", "商品发货物流单号", "发货员工", "商品发货时间",
                "商品退款状态", "商品已退款金额", "商家订单备注", "周期购信息", "买家手机号", "买家付款时间"]


def _yz(order, code, qty, unit, paid, status, phone, paid_at, refund_state="", refunded=""):
    return {"订单号": order, "订单商品状态": status, "商品编码": code, "商品单价": unit, "商品数量": qty,
            "商品金额小计": paid, "商品实际成交金额": paid, "商品退款状态": refund_state, "商品已退款金额": refunded,
            "买家手机号": phone, "买家付款时间": paid_at, "收货人/提货人": "赵六"}


def test_youzan_items_buyer_phone_is_pseudonymous(lakes, tmp_path):
    rows = [_yz("E20241101120000123456", "A1", "1", "100.00", "90.00", "交易成功", "13800001111", "2024-11-01 12:00:00"),
            _yz("E20241101120000123456", "B2", "2", "15.00", "30.00", "交易成功", "13800001111", "2024-11-01 12:00:00",
                "退款成功", "30.00"),
            _yz("E20241120080000654321", "A1", "1", "100.00", "100.00", "已发货", "13800001111", "2024-11-20 08:00:00",
                "退款中", ""),
            _yz("E20241125080000777777", "A1", "1", "100.00", "100.00", "待付款", "13900002222", "")]
    path = _csv(tmp_path / "youzan.csv", YOUZAN_ITEMS, rows)
    for ws, _, results in _both(lakes, path, "youzan-items"):
        assert {r.table for r in results} == {"orders", "order_items", "customers"}
        assert _paid(ws) == (2, 220.0)  # 90 + 30 (its refunded line lowers the net) and 100
        phones = {r["user_id"]: r["phone"] for r in ws.read("dwd_customers").to_pylist()}
        assert "13800001111" not in "".join(phones)  # the id is a keyed hash, not the phone
        # 13800001111: last paid 11-20 → R 11, F 2, M 90 + 30 − 30 + 100
        assert _rfm(ws, phones) == {"13800001111": (11, 2, 190.0)}


def test_youzan_orders_report(lakes, tmp_path):
    header = ["订单号", "订单状态", "订单创建时间", "买家付款时间", "全部商品名称", "商品种类数", "订单实付金额", "买家手机号", "买家昵称"]
    rows = [{"订单号": "E20241110100000000001", "订单状态": "交易成功", "订单创建时间": "2024-11-10 10:00:00",
             "买家付款时间": "2024-11-10 10:00:30", "订单实付金额": "¥1,299.00", "买家手机号": "13700003333"},
            {"订单号": "E20241111100000000002", "订单状态": "交易关闭", "订单创建时间": "2024-11-11 10:00:00",
             "买家付款时间": "", "订单实付金额": "50.00", "买家手机号": "13700003333"}]
    path = _csv(tmp_path / "youzan-orders.csv", header, rows)
    for ws, _, _ in _both(lakes, path, "youzan-orders"):
        assert _paid(ws) == (1, 1299.0)


# ---- Shopify -------------------------------------------------------------------------------
SHOPIFY = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
           "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
           "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
           "Lineitem sku", "Billing Zip", "Cancelled at", "Refunded Amount", "Id"]


def test_shopify_order_fields_on_the_first_row_only(lakes, tmp_path):
    rows = [{"Name": "#1001", "Email": "ann@example.com", "Financial Status": "paid", "Paid at": "2024-11-15 10:00:00 +0800",
             "Currency": "USD", "Total": "45.00", "Created at": "2024-11-15 09:59:00 +0800", "Lineitem quantity": "1",
             "Lineitem name": "Mug", "Lineitem price": "25.00", "Lineitem sku": "MUG", "Billing Zip": "'02139",
             "Id": "5001234567890"},
            {"Name": "#1001", "Lineitem quantity": "2", "Lineitem name": "Tea", "Lineitem price": "10.00",
             "Lineitem sku": "TEA", "Created at": "2024-11-15 09:59:00 +0800"},
            {"Name": "#1002", "Email": "ann@example.com", "Financial Status": "partially_refunded",
             "Paid at": "2024-11-28 10:00:00 +0800", "Currency": "USD", "Total": "80.00",
             "Created at": "2024-11-28 09:00:00 +0800", "Lineitem quantity": "1", "Lineitem sku": "POT",
             "Lineitem price": "80.00", "Refunded Amount": "30.00", "Id": "5001234567891"},
            {"Name": "#1003", "Email": "bo@example.com", "Financial Status": "pending", "Currency": "USD",
             "Total": "12.00", "Created at": "2024-11-29 09:00:00 +0800", "Lineitem quantity": "1",
             "Lineitem sku": "MUG", "Lineitem price": "12.00", "Id": "5001234567892"},
            # refunded in full: its second line has no order fields and must not make it paid
            {"Name": "#1004", "Email": "bo@example.com", "Financial Status": "refunded",
             "Paid at": "2024-11-20 10:00:00 +0800", "Total": "20.00", "Created at": "2024-11-20 09:00:00 +0800",
             "Lineitem quantity": "1", "Lineitem sku": "MUG", "Lineitem price": "10.00"},
            {"Name": "#1004", "Lineitem quantity": "1", "Lineitem sku": "TEA", "Lineitem price": "10.00",
             "Created at": "2024-11-20 09:00:00 +0800"},
            {"Name": "#1005", "Email": "bo@example.com", "Financial Status": "paid", "Total": "9.00",
             "Paid at": "2024-11-21 10:00:00 +0800", "Cancelled at": "2024-11-21 11:00:00 +0800",
             "Created at": "2024-11-21 09:00:00 +0800", "Lineitem quantity": "1", "Lineitem sku": "TEA",
             "Lineitem price": "9.00"}]
    path = _csv(tmp_path / "orders_export.csv", SHOPIFY, rows)
    for ws, _, _ in _both(lakes, path, "shopify-orders"):
        assert _paid(ws) == (2, 125.0)
        statuses = {r["order_id"]: r["status"] for r in ws.read("dwd_orders").to_pylist()}
        assert (statuses["#1003"], statuses["#1004"], statuses["#1005"]) == ("pending", "refunded", "cancelled")
        emails = {r["user_id"]: r["email"] for r in ws.read("dwd_customers").to_pylist()}
        # ann: 11-28 (Shanghai) → R 3, F 2, M 45 + 80 − 30
        assert _rfm(ws, emails) == {"ann@example.com": (3, 2, 95.0)}
        assert ws.sql("SELECT count(*) FROM dwd_order_items").column(0)[0].as_py() == 7


# ---- detection, cleaning, errors ---------------------------------------------------------------
def test_an_unknown_header_names_the_closest_layouts(tmp_path):
    path = _csv(tmp_path / "x.csv", ["订单号", "京东价格", "下单账号"], [{"订单号": "1"}])
    with pytest.raises(CustlensError) as err:
        detect(path)
    assert "not a layout custlens knows" in str(err.value) and "jd-orders" in err.value.hint
    assert "custlens import orders" in err.value.hint
    other = _csv(tmp_path / "ks.csv", ["订单号", "订单创建时间", "订单支付时间", "订单状态", "实付款", "成交数量"], [{"订单号": "1"}])
    with pytest.raises(CustlensError, match="快手小店"):
        detect(other)


def test_cells_and_headers_are_cleaned_as_the_platforms_write_them():
    assert clean_cell('="1234567890123456"') == "1234567890123456"
    assert clean_cell('=""') is None
    assert clean_cell("'13812345678") == "13812345678" and clean_cell("'tis") == "'tis"
    assert clean_cell("\t241120-123") == "241120-123" and clean_cell("\t") is None
    assert header_key('"收货地址 "') == "收货地址" and header_key("商品总价（元）") == "商品总价(元)"
    assert header_key("\ufeff下单帐号\u3000") == "下单帐号"
    assert parse_money("¥1,299.00") == (1299, False) and parse_money("１２.５元")[0] == 12.5
    assert parse_money("12.00（系统计算中，该值仅供参考）") == (12, True)
    assert parse_money("-") == (None, False) and float(parse_money("15%")[0]) == pytest.approx(0.15)
    assert parse_time("2016/5/3 9:07") == "2016-05-03 09:07:00"
    assert parse_time("2024-11-15 10:00:00 +0800") == "2024-11-15T10:00:00+08:00"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from(["订单编号", "订单号", "订单状态", "买家实付金额", "商品", "用户实付金额(元)",
                                        "主订单编号", "子订单编号", "选购商品", "订单应付金额", "Name", "Financial Status",
                                        "Lineitem quantity", "京东价", "标题", "价格", "购买数量"])
                       | st.text(max_size=12), max_size=12),
       junk=st.binary(max_size=200))
def test_the_detector_never_crashes(tmp_path, header, junk):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(",".join(h.replace("\n", " ") for h in header).encode("utf-8", "surrogatepass") + b"\n" + junk)
    try:
        found = detect(path)
    except CustlensError as exc:
        assert str(exc)
    else:
        assert found.layout.score(set(found.sheet.keys)) > 0
