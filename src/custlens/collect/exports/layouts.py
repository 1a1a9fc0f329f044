"""The seller back-ends' export layouts, as data (PLATFORM_EXPORTS.md, one entry each).

A layout says how to recognise a file (header keys it must have, may have, must not
have), its grain (a row per order or per line), which columns feed which canonical field
(aliases in order of preference: old → new layouts), what each status word means, and
what the reference leaves uncertain — said once per import, overridable with --value.

Status rules (`STATUS_RULES`): a canonical status (`paid`, `pending`, `cancelled`,
`refunded`), `closed` (cancelled when never paid, refunded when paid; decided by the
payment-time column, quarantined as ambiguous without one), `paid?` (paid, with a
warning: an unconfirmed short form or a frozen order) and `quarantine:<reason>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Layout", "LAYOUTS", "by_name", "STATUS_RULES"]

STATUS_RULES = ("paid", "pending", "cancelled", "refunded", "closed", "paid?")


@dataclass(frozen=True)
class Layout:
    name: str  # the preset's command name
    label: str  # what the one-line recognition message calls it
    grain: str  # "order": one row per order; "line": one row per order line
    must: tuple[str, ...]  # header keys that must all be present …
    any_of: tuple[tuple[str, ...], ...] = ()  # … and one of each group …
    must_not: tuple[str, ...] = ()  # … and none of these
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # canonical → header keys
    paid_time: tuple[str, ...] = ()  # non-empty ⇔ paid (outranks the status text)
    statuses: dict[str, str] = field(default_factory=dict)  # status value → rule
    after_sale: tuple[str, ...] = ()  # columns whose refund words override a paid status
    refund_words: tuple[str, ...] = ("退款成功",)
    amount_grain: str = "order"  # line files: the amount is per "order" (taken once) or "line"
    buyer_note: str = ""  # said when the file has no usable buyer key
    weak_buyer: tuple[str, ...] = ()  # buyer-key fallbacks that deserve a warning
    id_pattern: str = r"[0-9A-Za-z][0-9A-Za-z\-_#]*"  # a clean order id
    digit_run_ids: bool = False  # ids may carry non-digit wrapping: keep the one digit run
    expected: tuple[str, ...] = ()  # optional columns whose absence is said once
    first_row_only: bool = False  # order-level fields only on an order's first row (Shopify)
    time_outranks: bool = True  # an empty payment time makes a "paid" status word pending
    notes: tuple[str, ...] = ()  # the reference's uncertain readings, said once per import

    def score(self, keys: set[str]) -> int:
        """How well a header matches: the number of rules it meets (each required key, each
        group), or 0 when it misses one or holds a must-not key."""
        if any(k in keys for k in self.must_not) or not all(k in keys for k in self.must):
            return 0
        if not all(any(k in keys for k in group) for group in self.any_of):
            return 0
        return len(self.must) + len(self.any_of)


NO_BUYER = ("this platform exports no usable buyer key: the orders load without a buyer, "
            "so shop-level analyses (periods, channels) count them and customer-level "
            "analyses (RFM, segments, classes) cannot see them unless --map user_id=COLUMN "
            "or an identity rule supplies one")

TAOBAO_STATUS = {
    "等待买家付款": "pending", "买家已付款，等待卖家发货": "paid", "卖家已发货，等待买家确认": "paid",
    "交易成功": "paid", "交易关闭": "closed",
    "买家已付款": "paid?", "等待卖家发货": "paid?", "卖家已发货": "paid?", "等待买家确认": "paid?",
}

LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "taobao-orders", "淘宝/天猫 订单报表 (Taobao/Tmall orders)", "order",
        must=("订单编号",), any_of=(("订单状态", "订单付款时间"), ("买家应付货款", "买家实付金额", "买家实际支付金额")),
        must_not=("子订单编号", "选购商品"),
        fields={"order_id": ("订单编号",), "user_id": ("买家会员名", "买家会员昵称"),
                "order_ts": ("订单创建时间",), "status": ("订单状态",),
                "amount": ("买家实际支付金额", "买家实付金额"), "refund": ("退款金额",)},
        paid_time=("订单付款时间",), statuses=TAOBAO_STATUS, id_pattern=r"[0-9]{6,20}",
        digit_run_ids=True, expected=("买家会员名", "订单状态", "订单付款时间", "订单创建时间", "退款金额"),
        notes=("交易关闭 reads as cancelled when 订单付款时间 is empty, refunded when it is set",
               "the short status forms 买家已付款, 等待卖家发货, 卖家已发货, 等待买家确认 read as paid (unconfirmed)"),
        buyer_note=NO_BUYER.replace("this platform exports", "this file has no 买家会员名: it has"),
    ),
    Layout(
        "taobao-items", "淘宝/天猫 宝贝报表 (Taobao/Tmall order lines)", "line",
        must=(), any_of=(("订单编号", "主订单编号"), ("标题", "商品标题"), ("价格", "商品价格"), ("购买数量",)),
        must_not=("买家应付货款", "选购商品", "订单应付金额"),
        fields={"order_id": ("主订单编号", "订单编号"), "line_id": ("子订单编号",),
                "item_id": ("商品ID", "商家编码", "外部系统编号", "标题", "商品标题"),
                "qty": ("购买数量",), "price": ("价格", "商品价格")},
        id_pattern=r"[0-9]{6,20}", digit_run_ids=True,
        notes=("宝贝报表 has no per-line paid amount: 价格 is the unit list price, so the lines go to "
               "order_items only and the orders' amounts come from the 订单报表",),
    ),
    Layout(
        "jd-orders", "京东 POP 订单导出 (JD orders)", "line",
        must=("订单号",), any_of=(("京东价", "商家应收"),), must_not=("用户实付金额(元)", "订单商品状态"),
        fields={"order_id": ("订单号",), "user_id": ("下单帐号",), "order_ts": ("下单时间",),
                "status": ("订单状态",), "amount": ("结算金额", "实付金额", "应付金额"),
                "balance_paid": ("余额支付",),
                "item_id": ("商品ID", "商家SKUID"), "qty": ("订购数量",), "price": ("京东价",)},
        paid_time=("付款确认时间",),
        statuses={"等待付款": "pending", "等待出库": "paid", "等待确认收货": "paid", "完成": "paid",
                  "锁定": "paid?", "(锁定)等待出库": "paid?", "已取消": "closed",
                  "(删除)等待出库": "quarantine:JD (删除) row: probable split parent order",
                  "(删除)等待确认收货": "quarantine:JD (删除) row: probable split parent order",
                  "(删除)等待付款": "quarantine:JD (删除) row: probable split parent order"},
        amount_grain="order", weak_buyer=("客户姓名",), id_pattern=r"[0-9]{6,20}",
        notes=("结算金额 is the order's amount, repeated on each of its rows: taken once per order",
               "(删除) rows are taken as split parent orders and quarantined (override: --value status=VALUE:paid)",
               "锁定 orders read as paid (frozen by an after-sale request)",
               "cash on delivery (支付方式 货到付款) is paid only at 完成"),
    ),
    Layout(
        "pdd-orders", "拼多多 订单导出 (Pinduoduo orders)", "line",
        must=("订单号", "订单状态", "商品", "用户实付金额(元)"),
        fields={"order_id": ("订单号",), "order_ts": ("订单成交时间", "支付时间", "拼单成功时间"),
                "status": ("订单状态",), "amount": ("用户实付金额(元)",), "item_id": ("商品id", "商品ID"),
                "qty": ("商品数量(件)",)},
        paid_time=("支付时间",), after_sale=("售后状态",), amount_grain="line",
        statuses={"待支付": "pending", "待发货": "paid", "已发货，待签收": "paid", "已发货，待收货": "paid",
                  "已签收": "paid", "已收货": "paid", "未发货，退款成功": "refunded",
                  "未发货退款成功": "refunded", "已发货，退款成功": "refunded", "已收货，退款成功": "refunded",
                  "已取消": "cancelled"},
        buyer_note=NO_BUYER, id_pattern=r"[0-9]{6}-[0-9]{6,20}|[0-9A-Za-z\-]+",
        notes=("an order is paid when 支付时间 is set and the status is neither 待支付 nor 已取消",),
    ),
    Layout(
        "douyin-orders", "抖店 订单导出 (Douyin shop orders)", "line",
        must=("主订单编号", "子订单编号", "选购商品", "订单应付金额"),
        fields={"order_id": ("主订单编号",), "line_id": ("子订单编号",), "order_ts": ("订单提交时间",),
                "status": ("订单状态",), "amount": ("订单应付金额",), "item_id": ("商品ID",),
                "qty": ("商品数量",), "price": ("商品单价", "商品金额")},
        paid_time=("支付完成时间",), after_sale=("售后状态", "取消原因"), refund_words=("退款成功", "退款"),
        amount_grain="line",
        statuses={"待支付": "pending", "备货中": "paid", "待发货": "paid", "已发货": "paid",
                  "已完成": "paid", "已关闭": "closed"},
        buyer_note=NO_BUYER,
        notes=("订单应付金额 is read per 子订单 and summed per 主订单编号, unless the file shows it is "
               "per order (override: --amount-grain order|line)",),
    ),
    Layout(
        "youzan-items", "有赞 订单导出·商品维度 (Youzan order lines)", "line",
        must=("订单号", "订单商品状态", "商品实际成交金额"),
        fields={"order_id": ("订单号",), "user_id": ("买家手机号",), "order_ts": ("买家付款时间", "交易成功时间"),
                "status": ("订单商品状态",), "amount": ("商品实际成交金额",),
                "refund": ("商品已退款金额",), "item_id": ("商品ID", "商品编码", "规格编码", "商品名称"),
                "qty": ("商品数量",), "price": ("商品单价",)},
        paid_time=("买家付款时间",), after_sale=("商品退款状态",), amount_grain="line",
        statuses={"待付款": "pending", "待发货": "paid", "已发货": "paid", "交易成功": "paid",
                  "交易关闭": "closed", "退款中": "paid", "退款成功": "refunded"},
        weak_buyer=("收货人手机号/提货人手机号",), buyer_note=NO_BUYER.replace(
            "this platform exports", "this file has no 买家手机号: it has"),
        id_pattern=r"E?[0-9]{6,30}",
        notes=("有赞's status words are not verified: 待付款, 待发货, 已发货, 交易成功, 交易关闭, 退款中, 退款成功 "
               "are read as the reference infers",),
    ),
    Layout(
        "youzan-orders", "有赞 订单导出·订单维度 (Youzan orders)", "order",
        must=("订单号", "订单实付金额", "买家付款时间"),
        fields={"order_id": ("订单号",), "user_id": ("买家手机号",), "order_ts": ("订单创建时间", "买家付款时间"),
                "status": ("订单状态",), "amount": ("订单实付金额",)},
        paid_time=("买家付款时间",),
        statuses={"待付款": "pending", "待发货": "paid", "已发货": "paid", "交易成功": "paid",
                  "交易关闭": "closed", "退款中": "paid", "退款成功": "refunded"},
        weak_buyer=("收货人手机号/提货人手机号",), buyer_note=NO_BUYER.replace(
            "this platform exports", "this file has no 买家手机号: it has"),
        id_pattern=r"E?[0-9]{6,30}",
        notes=("有赞's status words are not verified: they are read as the reference infers",),
    ),
    Layout(
        "shopify-orders", "Shopify orders_export.csv", "line",
        must=("Name", "Financial Status", "Lineitem quantity"),
        fields={"order_id": ("Name",), "user_id": ("Email", "Phone"), "order_ts": ("Created at",),
                "status": ("Financial Status",), "amount": ("Total",), "refund": ("Refunded Amount",),
                "item_id": ("Lineitem sku", "Lineitem name"), "qty": ("Lineitem quantity",),
                "price": ("Lineitem price",), "currency": ("Currency",), "cancelled_at": ("Cancelled at",)},
        paid_time=("Paid at",), amount_grain="order", first_row_only=True, time_outranks=False,
        statuses={"pending": "pending", "authorized": "pending", "partially_paid": "pending",
                  "paid": "paid", "partially_refunded": "paid", "refunded": "refunded",
                  "voided": "cancelled"},
        id_pattern=r"#?[0-9A-Za-z\-]+",
        notes=("order-level fields (Financial Status, Total, Email) are read from an order's first row",
               "pending, authorized and partially_paid orders count as paid only when Paid at is set",
               "Cancelled at set means cancelled (refunded when Financial Status is refunded)"),
    ),
)


def by_name(name: str) -> Layout:
    for layout in LAYOUTS:
        if layout.name == name:
            return layout
    raise KeyError(name)
