"""From a source's columns to canonical fields: which column, how to parse, what is wrong.

Every canonical field gets a SQL expression over the source's text value. A row whose
required field is missing, or whose non-empty value does not parse, is rejected with
the field, the value and the reason; the rest of the file still loads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

from custlens.errors import CustlensError
from custlens.schema import BEHAVIORS, CONTACT_CHANNELS, ORDER_STATUSES, OUTCOMES, TableSpec
from custlens.sqltext import ident, literal

# Headers that shop exports (Taobao/Tmall, JD, Youzan) and common CSVs use for each field.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "event_id": ("id", "事件ID", "日志ID"),
    "user_id": ("userid", "user", "customer_id", "customerid", "用户ID", "用户id", "会员ID",
                "买家ID", "买家会员名", "客户ID", "客户编号"),
    "item_id": ("itemid", "sku", "sku_id", "product_id", "stockcode", "商品ID", "商品id",
                "商品编号", "宝贝ID"),
    "category_id": ("categoryid", "category", "类目ID", "类目", "品类"),
    "behavior": ("behavior_type", "action", "event", "event_type", "行为", "行为类型"),
    "ts": ("timestamp", "time", "event_time", "datetime", "时间", "行为时间"),
    "channel": ("source", "utm_source", "渠道", "来源", "流量来源"),
    "ad_campaign": ("campaign", "utm_campaign", "广告计划", "推广计划"),
    "session_id": ("session", "会话ID"),
    "shop_id": ("shop", "store_id", "店铺ID"),
    "order_id": ("orderid", "invoiceno", "invoice", "订单号", "订单编号", "主订单编号"),
    "order_ts": ("order_time", "created_at", "invoicedate", "下单时间", "订单创建时间",
                 "付款时间", "支付时间"),
    "status": ("order_status", "订单状态", "交易状态"),
    "amount": ("total", "payment", "order_amount", "实付金额", "买家实际支付金额", "订单金额",
               "支付金额", "实收款"),
    "qty": ("quantity", "数量", "购买数量", "宝贝数量"),
    "price": ("unitprice", "unit_price", "单价", "价格", "商品价格"),
    "register_ts": ("registered_at", "signup_time", "注册时间"),
    "birthday": ("birth_date", "dob", "生日", "出生日期"),
    "member_level": ("level", "vip_level", "会员等级"),
    "phone": ("mobile", "tel", "手机", "手机号", "手机号码", "联系电话"),
    "email": ("mail", "邮箱", "电子邮箱"),
    "address": ("addr", "地址", "收货地址"),
    "title": ("name", "description", "商品名称", "标题", "宝贝标题"),
    "is_daily_use": ("daily_use", "日用品"),
    "date": ("day", "日期"),
    "impressions": ("展现量", "曝光"),
    "clicks": ("点击量", "点击"),
    "cost": ("spend", "花费", "消耗"),
    "source": ("来源系统",),
    "source_id": ("来源ID",),
    "birthday_is_lunar": ("is_lunar", "农历"),
    "outcome": ("status", "result", "receipt_status", "发送状态", "回执", "结果", "状态"),
    "contact_channel": ("触达渠道", "联系方式"),
    "coupon_code": ("coupon", "优惠券码", "券码"),
    "plan_id": ("计划ID",),
    "reason": ("原因",),
}

DEFAULT_VALUES: dict[str, dict[str, str]] = {
    "behavior": {
        **{b: b for b in BEHAVIORS}, "1": "pv", "2": "fav", "3": "cart", "4": "buy",
        "view": "pv", "click": "pv", "favorite": "fav", "favourite": "fav", "collect": "fav",
        "add_to_cart": "cart", "purchase": "buy", "order": "buy",
        "浏览": "pv", "点击": "pv", "收藏": "fav", "加购": "cart", "加入购物车": "cart",
        "购买": "buy", "下单": "buy",
    },
    "status": {
        **{s: s for s in ORDER_STATUSES}, "success": "paid", "completed": "paid",
        "refund": "refunded", "canceled": "cancelled", "closed": "cancelled",
        "交易成功": "paid", "已付款": "paid", "已完成": "paid", "买家已付款": "paid",
        "卖家已发货": "paid", "已发货": "paid", "退款中": "refunded", "已退款": "refunded",
        "退款成功": "refunded", "交易关闭": "cancelled", "已取消": "cancelled",
        "unpaid": "pending", "待付款": "pending", "待支付": "pending", "等待付款": "pending",
        "等待买家付款": "pending",
    },
    "outcome": {
        **{o: o for o in OUTCOMES}, "success": "delivered", "fail": "failed", "error": "failed",
        "unsubscribe": "unsubscribed", "td": "unsubscribed", "used": "redeemed",
        "已发送": "sent", "发送成功": "delivered", "已送达": "delivered", "发送失败": "failed",
        "失败": "failed", "已读": "opened", "已点击": "clicked", "已核销": "redeemed",
        "已使用": "redeemed", "已回复": "replied", "回复": "replied", "退订": "unsubscribed",
        "已退订": "unsubscribed",
    },
    "contact_channel": {
        **{c: c for c in CONTACT_CHANNELS}, "all": "all", "全部": "all", "短信": "sms",
        "客服": "customer_service", "电话": "customer_service", "优惠券": "coupon",
        "礼品": "gift", "赠品": "gift", "邮件": "email",
    },
}

TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
MONEY_NOISE = r"[¥￥$€£,\s]|元|RMB|CNY|USD|GBP|EUR"
EDGES = "' \t\r\n\u3000'"  # what trim() strips around a cell
EDGE_CHARS = ("' '", "chr(9)", "chr(13)", "chr(10)", "chr(12288)")  # the same, one by one
GUARD_FIRST = "(61, 39, 32, 9, 13, 10, 12288)"  # = ' and the edges: a cell may need cleaning
FULL_WIDTH_DIGITS = ("'０１２３４５６７８９．，－＋'", "'0123456789.,-+'")


OWN_IDS = ("event_id", "line_id")  # BIGINT keys that a source may give in any text form


def norm_header(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "").replace("_", "")


def parse_pairs(text: str | None, what: str) -> list[tuple[str, str]]:
    """'a=b,c=d' → [(a, b), (c, d)] with a clear error for a malformed pair."""
    out = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise CustlensError(f"{what}: expected field=value, got {part!r}")
        key, value = part.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


def parse_values(text: str | None) -> dict[str, dict[str, str]]:
    """'status=交易成功:paid,status=交易关闭:cancelled' → {status: {交易成功: paid, …}}."""
    out: dict[str, dict[str, str]] = {}
    for fld, pair in parse_pairs(text, "--value"):
        if ":" not in pair:
            raise CustlensError(f"--value {fld}={pair}: expected raw:canonical")
        raw, canonical = pair.rsplit(":", 1)
        out.setdefault(fld, {})[raw] = canonical
    return out


@dataclass
class FieldPlan:
    name: str
    column: str | None  # source column, None when the source lacks it
    kind: str
    required: bool


@dataclass
class Mapping:
    """Which source column feeds which canonical field, and how values are read."""

    spec: TableSpec
    columns: list[str]
    explicit: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    tz: str = "Asia/Shanghai"
    time_format: str | None = None  # "epoch", "epoch_ms" or a strptime format
    constants: dict[str, str] = field(default_factory=dict)  # field → fixed value
    types: dict[str, str] = field(default_factory=dict)  # source column → SQL type
    window: tuple[str, str] | None = None  # local dates the data may hold (a dataset's range)
    absent: frozenset[str] = frozenset()  # readers.MARKS no cell holds: their cleaning is skipped

    def plan(self) -> list[FieldPlan]:
        by_norm = {norm_header(c): c for c in self.columns}
        for fld, col in self.explicit.items():
            if fld not in self.spec.fields:
                raise CustlensError(
                    f"--map {fld}={col}: {self.spec.name} has no field {fld!r}",
                    hint=f"fields: {', '.join(self.spec.fields)}",
                )
            if col not in self.columns:
                spaced = [c for c in self.columns if c.strip(" \t\u3000\ufeff") == col.strip()]
                if len(spaced) == 1:  # Taobao writes "收货地址 ", "订单付款时间 "
                    self.explicit[fld] = col = spaced[0]
                    continue
                raise CustlensError(
                    f"--map {fld}={col}: the source has no column {col!r}",
                    hint=f"its columns: {', '.join(self.columns)}",
                )
        plans = []
        for f in self.spec.schema:
            column: str | None = self.explicit.get(f.name)
            if column is None:
                for cand in (f.name, *SYNONYMS.get(f.name, ())):
                    if norm_header(cand) in by_norm:
                        column = by_norm[norm_header(cand)]
                        break
            plans.append(FieldPlan(f.name, column, _kind(f), f.name in self.spec.required))
        missing = [p.name for p in plans if p.required and p.column is None
                   and p.name not in self.constants]
        if missing:
            raise CustlensError(
                f"{self.spec.name}: no column for required field(s) {', '.join(missing)}",
                hint=f"the source's columns are {', '.join(self.columns)}; "
                f"name them with --map {missing[0]}=COLUMN",
            )
        return plans

    # ---- expressions ---------------------------------------------------------------
    def raw_expr(self, p: FieldPlan) -> str:
        """The field's text: Excel's guards (`="…"`, a leading `'` before digits) and TAB or
        full-width space padding removed, as shop exports write ids and phones."""
        if p.name in self.constants:
            return literal(self.constants[p.name])
        if p.column is None:
            return "CAST(NULL AS VARCHAR)"
        cell = f"CAST({ident(p.column)} AS VARCHAR)"
        if "edges" in self.absent:  # no cell has padding or a guard (readers.census)
            return f"NULLIF({cell}, '')"
        text = f"trim({cell}, {EDGES})"
        unguarded = (f"regexp_replace(regexp_replace({text}, '^=\"(.*)\"$', '\\1'), "
                     f"'^''([0-9 +-]+|[=+@\t\r-].*)$', '\\1')")  # also our own neutralised cells
        # Most cells need none of it: a first and last character test (cheap) sends only
        # the others through the regular expressions, which cost five times the whole read.
        # (suffix() compares bytes; a slice `[-1:]` decodes characters and cost 4× as much)
        last = " OR ".join(f"suffix({cell}, {c})" for c in EDGE_CHARS)
        suspect = f"ord({cell}) IN {GUARD_FIRST} OR {last}"
        return f"NULLIF(CASE WHEN {suspect} THEN trim({unguarded}, {EDGES}) ELSE {cell} END, '')"

    def parse_expr(self, p: FieldPlan, raw: str) -> str:
        native = self._native_expr(p)
        if native is not None:
            return native
        if p.name in DEFAULT_VALUES or p.name in self.values:
            table = {**DEFAULT_VALUES.get(p.name, {}), **self.values.get(p.name, {})}
            lowered = {k.lower(): v for k, v in table.items()}
            cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in lowered.items())
            # canonical values, as most files write them, skip lower() and the long list
            same = ", ".join(literal(k) for k, v in lowered.items() if k == v)
            fast = f"WHEN {raw} IN ({same}) THEN {raw} " if same else ""
            return f"(CASE {fast}ELSE (CASE lower({raw}) {cases} END) END)"
        if p.kind == "text":
            if (p.name.endswith("_id") or p.name == "user_id") and "dot" not in self.absent:
                return (f"(CASE WHEN contains({raw}, '.') "
                        f"THEN regexp_replace({raw}, '^(-?[0-9]+)\\.0+$', '\\1') ELSE {raw} END)")
            return raw
        if p.kind == "number":
            half = f"translate({raw}, {FULL_WIDTH_DIGITS[0]}, {FULL_WIDTH_DIGITS[1]})"
            # a plain number casts at once; only the others lose their noise first
            return (f"COALESCE(TRY_CAST({raw} AS DOUBLE), "
                    f"TRY_CAST(regexp_replace({half}, {literal(MONEY_NOISE)}, '', 'g') AS DOUBLE))")
        if p.name in OWN_IDS:  # an own id of any text form: as it is, or hashed to 64 bits
            return f"COALESCE(TRY_CAST({raw} AS BIGINT), (hash({raw}) >> 1)::BIGINT)"
        if p.kind == "integer":
            return f"TRY_CAST(TRY_CAST(replace({raw}, ',', '') AS DOUBLE) AS BIGINT)"
        if p.kind == "bool":
            return (f"(CASE WHEN lower({raw}) IN ('1','true','yes','y','是','t') THEN true "
                    f"WHEN lower({raw}) IN ('0','false','no','n','否','f') THEN false END)")
        if p.kind == "date":
            fmts = "[" + ", ".join(literal(f) for f in DATE_FORMATS) + "]"
            return f"CAST(try_strptime(regexp_replace({raw}, '^农历', ''), {fmts}) AS DATE)"
        if p.kind == "time":
            return self._time_expr(raw)
        raise AssertionError(p.kind)

    def _native_expr(self, p: FieldPlan) -> str | None:
        """A typed source column (Parquet) is used as it is, without a text round trip."""
        if p.column is None or p.name in self.constants or p.column not in self.types:
            return None  # text sources (CSV, XLSX, JSON) go through raw_expr's cleaning
        source_type = self.types[p.column].upper()
        col = ident(p.column or "")
        if p.kind == "time" and source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return col
        if p.kind == "time" and source_type.startswith("TIMESTAMP"):
            return f"timezone({literal(self.tz)}, {col})"
        if p.kind == "date" and source_type == "DATE":
            return col
        numeric = source_type in {"DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT",
                                  "HUGEINT", "UBIGINT", "UINTEGER"} or source_type.startswith("DECIMAL")
        if p.kind == "number" and numeric:
            return f"CAST({col} AS DOUBLE)"
        if p.kind == "bool" and source_type == "BOOLEAN":
            return col
        if p.kind == "text" and source_type == "VARCHAR" and p.name not in DEFAULT_VALUES \
                and p.name not in self.values and not p.name.endswith("_id"):
            return f"NULLIF(trim({col}), '')"
        return None

    def _time_expr(self, raw: str) -> str:
        tz = literal(self.tz)
        if self.time_format == "epoch":
            return f"to_timestamp(TRY_CAST({raw} AS BIGINT))"
        if self.time_format == "epoch_ms":
            return f"make_timestamp(TRY_CAST({raw} AS BIGINT) * 1000)::TIMESTAMPTZ"
        if self.time_format:
            return f"timezone({tz}, try_strptime({raw}, {literal(self.time_format)}))"
        fmts = "[" + ", ".join(literal(f) for f in TIME_FORMATS) + "]"
        return (
            f"(CASE WHEN regexp_full_match({raw}, '[0-9]{{10}}') "
            f"THEN to_timestamp(TRY_CAST({raw} AS BIGINT)) "
            f"WHEN regexp_full_match({raw}, '[0-9]{{13}}') "
            f"THEN make_timestamp(TRY_CAST({raw} AS BIGINT) * 1000)::TIMESTAMPTZ "
            f"WHEN regexp_matches({raw}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
            f"THEN TRY_CAST({raw} AS TIMESTAMPTZ) "
            f"ELSE timezone({tz}, try_strptime({raw}, {fmts})) END)"
        )

    def reason_expr(self, p: FieldPlan, raw: str, parsed: str) -> str:
        """The first problem of this field, or NULL."""
        checks = []
        if p.required:
            checks.append(f"WHEN {raw} IS NULL THEN 'missing'")
        if "bad_text" not in self.absent:
            checks.append(f"WHEN contains({raw}, chr(65533)) THEN 'not valid text in the file''s encoding'")
        allowed = None
        if p.name in DEFAULT_VALUES or p.name in self.values:
            allowed = sorted(set({**DEFAULT_VALUES.get(p.name, {}), **self.values.get(p.name, {})}.values()))
            checks.append(
                f"WHEN {raw} IS NOT NULL AND {parsed} IS NULL "
                f"THEN 'unknown value (expected one of {', '.join(allowed)}; map others with --value {p.name}=RAW:CANONICAL)'"
            )
        elif p.kind == "text" and self._native_expr(p) is None:
            pass  # parse_expr keeps any text that is there: nothing to reject
        else:
            what = {"number": "a number", "integer": "a whole number", "time": "a date-time",
                    "date": "a date", "bool": "true/false", "text": "text"}[p.kind]
            checks.append(f"WHEN {raw} IS NOT NULL AND {parsed} IS NULL THEN 'not {what}'")
        if self.window and p.name == self.spec.time_field:
            lo, hi = self.window
            start, end = _local_day_bounds(self.tz, lo, hi)  # instants: no per-row zone lookup
            checks.append(
                f"WHEN {parsed} < TIMESTAMPTZ '{start}' OR {parsed} >= TIMESTAMPTZ '{end}' "
                f"THEN 'outside the dataset''s dates {lo}..{hi}'")
        return f"(CASE {' '.join(checks)} END)" if checks else "CAST(NULL AS VARCHAR)"


def _local_day_bounds(tz: str, first: str, last: str) -> tuple[str, str]:
    """The UTC instants where local day `first` begins and local day `last` ends."""
    from zoneinfo import ZoneInfo

    zone, utc = ZoneInfo(tz), dt.UTC
    start = dt.datetime.combine(dt.date.fromisoformat(first), dt.time(), zone)
    end = dt.datetime.combine(dt.date.fromisoformat(last) + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(utc).isoformat(sep=" "), end.astimezone(utc).isoformat(sep=" ")


def _kind(f: pa.Field) -> str:
    t = f.type
    if pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_boolean(t):
        return "bool"
    return "text"


def fields_help(table: str) -> str:
    """The canonical fields of a table for `custlens import TABLE --help`: required ones
    marked, accepted values listed, the headers recognised without --map."""
    from custlens.schema import spec

    t = spec(table)
    lines = []
    for f in t.schema:
        need = "required" if f.name in t.required else "optional"
        kind = _kind(f)
        accepted = sorted(set(DEFAULT_VALUES[f.name].values())) if f.name in DEFAULT_VALUES else []
        extra = f"; one of {', '.join(accepted)}" if accepted else ""
        also = SYNONYMS.get(f.name, ())[:6]
        known = f"; also read from {', '.join(also)}" if also else ""
        lines.append(f"{f.name} ({kind}, {need}{extra}{known})")
    # Typer keeps blank-line separated paragraphs: one per field
    return "Fields (--map field=column, --set field=VALUE, --value field=raw:canonical):\n\n" + \
        "\n\n".join(lines)
