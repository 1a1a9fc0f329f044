"""From an export's cleaned rows to canonical orders and order lines (PLATFORM_EXPORTS.md §5–§9).

Each row is read by its layout: ids checked against the platform's pattern, amounts and
times typed, the status word and the payment-time column turned into one canonical status
(paid / refunded / cancelled / pending), refunds into negative rows. A per-line file
becomes one order per order id — its amount taken once where the amount is per order,
summed where it is per line — plus its lines. What cannot be read goes to the quarantine
with the line, field and reason; the rows around it still load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from custlens.collect.exports.layouts import Layout
from custlens.collect.exports.sniff import DIGITS, Sheet, header_key
from custlens.errors import CustlensError
from custlens.masking import mask_value

__all__ = ["Converted", "convert", "parse_money", "parse_time"]

NULLS = {"-", "--", "null", "NULL", "无", "\\N"}
REMARK = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d%H%M%S", "%Y%m%d")
OFFSET = re.compile(r"^(.*\d)\s*([+-])(\d{2}):?(\d{2})$")


class RowError(ValueError):
    """One cell that cannot be read: the field and what is wrong (the value masked)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name


@dataclass
class Converted:
    orders: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)  # {_line, reason, raw}
    warnings: list[str] = field(default_factory=list)
    buyerless: int = 0
    amount_grain: str | None = None


def parse_money(text: str | None) -> tuple[Decimal | None, bool]:
    """An amount and whether it was marked provisional (a trailing remark such as
    `（系统计算中，该值仅供参考）`). ¥/￥, 元, thousands commas, full-width digits, `%` read."""
    if text is None or text.strip() in NULLS or not text.strip():
        return None, False
    value = text.translate(DIGITS).strip()
    provisional = bool(REMARK.search(value)) and not re.fullmatch(r"[（(]\s*-?[\d.,]+\s*[）)]", value)
    value = REMARK.sub("", value) if provisional else value
    value = re.sub(r"[¥￥$,\s]|元|RMB|CNY", "", value)
    percent = value.endswith("%")
    try:
        number = Decimal(value.rstrip("%"))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return (number / 100 if percent else number), provisional


def parse_time(text: str | None) -> str | None:
    """A time as `YYYY-MM-DD HH:MM:SS` (shop-local) or ISO with its offset (Shopify)."""
    if text is None or text.strip() in NULLS or not text.strip():
        return None
    value = text.strip()
    offset = OFFSET.match(value)
    tail = ""
    if offset and len(value) > 12:
        value, sign, hh, mm = offset.groups()
        tail = f"{sign}{hh}:{mm}"
    for fmt in TIME_FORMATS:
        try:
            parsed = dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        stamp = parsed.strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp.replace(' ', 'T')}{tail}" if tail else stamp
    raise ValueError(f"not a date-time: {text!r}")


class _Reader:
    """One layout over one sheet: which column feeds each field, and the per-row reading."""

    def __init__(self, sheet: Sheet, layout: Layout, values: dict[str, str], secret: bytes,
                 mapped: dict[str, str]) -> None:
        self.sheet, self.layout, self.values, self.secret = sheet, layout, values, secret
        self.col: dict[str, int] = {}
        for name, aliases in layout.fields.items():
            for alias in aliases:
                if (i := sheet.column(alias)) is not None:
                    self.col[name] = i
                    break
        for name, header in mapped.items():  # --map field=COLUMN wins over the preset
            key = sheet.column(header_key(header))
            if key is None:
                raise CustlensError(f"--map {name}={header}: the file has no column {header!r}",
                                    hint=f"its columns: {', '.join(sheet.header)}")
            self.col[name] = key
        self.paid_cols = [i for k in layout.paid_time if (i := sheet.column(k)) is not None]
        self.after_cols = [i for k in layout.after_sale if (i := sheet.column(k)) is not None]
        self.cod_col = sheet.column("支付方式") if layout.name == "jd-orders" else None
        self.id_re = re.compile(layout.id_pattern)
        self.unknown: set[str] = set()
        self.short: set[str] = set()

    def get(self, cells: list, name: str) -> str | None:
        i = self.col.get(name)
        if i is None or i >= len(cells):
            return None
        value = cells[i]
        return None if value is None or value.strip() in NULLS else value

    def order_id(self, cells: list) -> str:
        raw = self.get(cells, "order_id")
        if raw is None:
            raise RowError("order_id", "missing")
        if self.layout.digit_run_ids and not raw.isdigit():
            runs = re.findall(r"[0-9]+", raw)
            if len(runs) != 1:
                raise RowError("order_id", f"order id not exact ({raw!r}: {len(runs)} digit runs)")
            raw = runs[0]
        if not self.id_re.fullmatch(raw) or re.search(r"[eE]\+", raw):
            raise RowError("order_id", f"order id not exact ({raw!r}; a spreadsheet may have "
                           "rounded it: export again as text)")
        return raw

    def buyer(self, cells: list) -> tuple[str | None, dict | None]:
        """The buyer key. Account names are the platform's own customer ids; a phone or an
        e-mail is personal, so the id is a keyed hash of it and the value goes, masked
        wherever shown, to the customer table."""
        raw = self.get(cells, "user_id")
        if raw is None:
            return None, None
        header = self.sheet.keys[self.col["user_id"]]
        kind = "email" if "@" in raw else "phone" if ("手机" in header or header == "Phone") else None
        if kind is None:
            return raw, None
        normal = raw.strip().lower() if kind == "email" else re.sub(r"[^0-9+]", "", raw)
        user = self.pseudonym(kind, normal)
        return user, {"user_id": user, kind: raw.strip()}

    def pseudonym(self, kind: str, value: str) -> str:
        """A customer id for a personal key: `<platform>-` + a keyed hash (HMAC-SHA256 with
        the lake's secret), stable within the lake, not reversible from the id alone."""
        digest = hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
        return f"{self.layout.name.split('-')[0]}-{digest}"

    def paid(self, cells: list) -> bool | None:
        if not self.paid_cols:
            return None
        return any(cells[i] not in (None, "") and cells[i].strip() not in NULLS
                   for i in self.paid_cols if i < len(cells))

    def status(self, cells: list) -> str:
        """One canonical status from the status word, the payment time and the after-sale
        columns (PLATFORM_EXPORTS.md §8 and its last table)."""
        word = self.get(cells, "status")
        paid = self.paid(cells)
        rule = None
        if word is not None:
            rule = self.values.get(word) or self.values.get(word.lower()) or self.layout.statuses.get(word)
            if rule is None and word.lower() in self.layout.statuses:
                rule = self.layout.statuses[word.lower()]
        if rule is None:
            if word is None and paid is not None:
                rule = "paid" if paid else "pending"
            elif word is None:
                raise RowError("status", "missing")
            else:
                self.unknown.add(word)
                raise RowError("status", f'unknown status "{word}" (map it with --value '
                               f"status={word}:paid|refunded|cancelled|pending)")
        if rule.startswith("quarantine:"):
            raise RowError("status", rule.split(":", 1)[1])
        if rule == "paid?":
            self.short.add(word or "")
            rule = "paid"
        if rule == "closed":
            if paid is None:
                raise RowError("status", f'ambiguous status "{word}": the file has no payment time '
                               "to tell cancelled from refunded (map it with --value)")
            rule = "refunded" if paid else "cancelled"
        if self.cod_col is not None and (cells[self.cod_col] or "") == "货到付款":
            return "paid" if word == "完成" else ("cancelled" if rule == "cancelled" else "pending")
        if rule == "paid" and paid is False and word not in self.values and self.layout.time_outranks:
            rule = "pending"  # the payment time outranks the status text
        if rule == "pending" and paid and word not in self.values:
            rule = "paid"
        if rule == "paid" and self._after_sale_refunded(cells):
            rule = "refunded"
        if rule != "refunded" and self.get(cells, "cancelled_at") is not None:
            rule = "cancelled"
        return rule

    def _after_sale_refunded(self, cells: list) -> bool:
        return any(cells[i] and any(w in cells[i] for w in self.layout.refund_words)
                   for i in self.after_cols if i < len(cells))

    def money(self, cells: list, name: str, warn: list[str]) -> Decimal | None:
        raw = self.get(cells, name)
        if raw == "无退款申请":
            return Decimal(0)
        try:
            value, provisional = parse_money(raw)
        except ValueError as exc:
            raise RowError(name, str(exc)) from exc
        if provisional:
            warn.append(f"{name}: provisional values (a remark such as 系统计算中) read as they are")
        return value

    def time(self, cells: list) -> str | None:
        try:
            return parse_time(self.get(cells, "order_ts"))
        except ValueError as exc:
            raise RowError("order_ts", str(exc)) from exc


def _raw(sheet: Sheet, cells: list, personal: set[int]) -> str:
    """The row as text for the quarantine, personal columns masked."""
    shown = [((mask_value("phone", c) or "") if _phone_like(sheet.keys[i]) else "***")
             if i in personal and c else str(c or "") for i, c in enumerate(cells)]
    return ",".join(shown)


def _phone_like(key: str) -> bool:
    return any(p in key for p in ("手机", "电话", "Phone"))


PERSONAL_HEADERS = ("手机", "电话", "地址", "姓名", "收件人", "收货人", "Email", "Phone", "Name",
                    "Address", "身份证", "支付宝账号", "下单帐号", "买家会员", "Billing", "Shipping")


def _personal_columns(sheet: Sheet) -> set[int]:
    return {i for i, k in enumerate(sheet.keys)
            if any(p in k for p in PERSONAL_HEADERS) and k not in ("Name",)}


def convert(sheet: Sheet, layout: Layout, values: dict[str, str], secret: bytes,
            amount_grain: str | None = None, mapped: dict[str, str] | None = None) -> Converted:
    reader = _Reader(sheet, layout, values, secret, mapped or {})
    personal = _personal_columns(sheet)
    out = Converted()
    warn: list[str] = []
    needed = ["order_id"] + (["item_id", "qty"] if layout.name == "taobao-items" else ["amount"])
    missing = [f for f in needed if f not in reader.col]
    if missing:
        raise CustlensError(
            f"{sheet.path}: recognised as {layout.label}, but no column for {', '.join(missing)}",
            hint=f"name it with --map {missing[0]}=COLUMN; the file's columns: {', '.join(sheet.header)}")
    absent = [k for k in layout.expected if k not in sheet.keys]
    if absent:
        warn.append(f"the file has no {', '.join(absent)} column(s): what they tell is not known here")
    rows: list[dict] = []
    for line, cells in sheet.rows:
        if len(cells) > len(sheet.keys) and any(c for c in cells[len(sheet.keys):]):
            out.broken.append({"_line": line, "reason": f"{len(cells)} fields, the header has "
                               f"{len(sheet.keys)}", "raw": _raw(sheet, cells, personal)})
            continue
        try:
            rows.append(_read_row(reader, layout, cells, line, warn))
        except RowError as exc:
            out.broken.append({"_line": line, "reason": str(exc), "raw": _raw(sheet, cells, personal)})
    if layout.name == "taobao-items":
        out.lines = [r["line"] for r in rows]
    elif layout.grain == "order":
        for r in rows:
            _emit(out, r["order"], [r])
    else:
        out.amount_grain = amount_grain or _amount_grain(layout, rows, warn)
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(r["order"]["order_id"], []).append(r)
        for group in groups.values():
            _emit(out, _order_of(group, out.amount_grain, warn), group)
        out.lines = [r["line"] for r in rows if r["line"]]
    if layout.name == "pdd-orders" and len({r["order"]["order_id"] for r in rows}) < len(rows):
        warn.append("some 订单号 repeat: their rows are read as lines of one order")
    if reader.short:
        warn.append(f"unconfirmed status words read as paid: {', '.join(sorted(reader.short))}")
    out.buyerless = sum(1 for o in out.orders if o["user_id"] is None and o["amount"] and
                        not o["order_id"].endswith("#refund"))
    out.warnings = list(dict.fromkeys(warn))
    return out


def _read_row(reader: _Reader, layout: Layout, cells: list, line: int, warn: list[str]) -> dict:
    order_id = reader.order_id(cells)
    user, person = reader.buyer(cells)
    if user is None and reader.col.get("user_id") is None and layout.weak_buyer:
        for key in layout.weak_buyer:
            i = reader.sheet.column(key)
            if i is not None and cells[i]:
                user = reader.pseudonym("name", cells[i])
                warn.append(f"no buyer column: {key} (a weak key, nearer a household than a person) "
                            "identifies buyers")
                break
    line_rec: dict[str, Any] | None = None
    if "item_id" in reader.col:
        qty_text = reader.get(cells, "qty")
        try:
            qty, _ = parse_money(qty_text)
        except ValueError as exc:
            raise RowError("qty", str(exc)) from exc
        price = reader.money(cells, "price", warn) if "price" in reader.col else None
        item = reader.get(cells, "item_id")
        if item is not None:
            line_rec = {"_line": line, "order_id": order_id, "item_id": item,
                        "qty": None if qty is None else str(qty),
                        "price": None if price is None else str(price), "user_id": user,
                        "line_id": reader.get(cells, "line_id")}
    if layout.name == "taobao-items":
        if line_rec is None:
            raise RowError("item_id", "missing")
        return {"line": line_rec}
    worded = reader.get(cells, "status") is not None
    status = reader.status(cells) if worded or (reader.paid_cols and not layout.first_row_only) \
        or layout.grain == "order" else None
    amount = reader.money(cells, "amount", warn)
    if amount is not None and "balance_paid" in reader.col \
            and reader.sheet.keys[reader.col["amount"]] == "应付金额":
        # JD: 应付金额 is what remains after the balance paid (余额支付)
        amount += reader.money(cells, "balance_paid", warn) or Decimal(0)
    refund = reader.money(cells, "refund", warn) if "refund" in reader.col else None
    order_ts = reader.time(cells)
    if order_ts is None and layout.name == "pdd-orders" and re.match(r"\d{6}-", order_id):
        day = dt.datetime.strptime(order_id[:6], "%y%m%d")  # the id's date: local midnight
        order_ts = day.strftime("%Y-%m-%d 00:00:00")
        warn.append("rows without any time take the date in their 订单号 (local midnight)")
    if line_rec is not None:
        line_rec["order_ts"] = order_ts
        if line_rec["price"] is None and amount is not None and line_rec["qty"] not in (None, "0"):
            line_rec["price"] = str(amount / Decimal(str(line_rec["qty"])))
    return {"line": line_rec, "person": person,
            "order": {"_line": line, "order_id": order_id, "user_id": user, "order_ts": order_ts,
                      "status": status, "amount": amount, "refund": refund}}


def _amount_grain(layout: Layout, rows: list[dict], warn: list[str]) -> str:
    """Per layout, but 抖店's is undocumented: when every multi-row order repeats one value
    that exceeds each row's price × qty, the file's amount is per order."""
    if layout.name != "douyin-orders":
        return layout.amount_grain
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["order"]["order_id"], []).append(r)
    multi = [g for g in groups.values() if len(g) > 1]
    if not multi:
        return "line"

    def per_order(g: list[dict]) -> bool:
        amounts = {r["order"]["amount"] for r in g}
        if len(amounts) != 1 or None in amounts:
            return False
        (value,) = amounts
        return all(r["line"] and r["line"]["price"] and r["line"]["qty"] and
                   value > Decimal(r["line"]["price"]) * Decimal(r["line"]["qty"]) for r in g)

    votes = [per_order(g) for g in multi]
    if all(votes):
        warn.append("订单应付金额 repeats one value on each row of an order and exceeds its lines: "
                    "read once per order (override: --amount-grain line)")
        return "order"
    if any(votes):
        warn.append("订单应付金额: the file is ambiguous (some orders repeat it per row, some do not): "
                    "summed per row; choose with --amount-grain order|line")
    return "line"


def _order_of(group: list[dict], grain: str, warn: list[str]) -> dict:
    """One order from its line rows: the first non-empty order-level values; the amount
    taken once or summed; refunded only when every line is."""
    first = dict(group[0]["order"])
    for key in ("user_id", "order_ts"):
        first[key] = next((r["order"][key] for r in group if r["order"][key] is not None), None)
    statuses = [r["order"]["status"] for r in group if r["order"]["status"] is not None]
    amounts = [r["order"]["amount"] for r in group if r["order"]["amount"] is not None]
    if grain == "order":
        if len(set(amounts)) > 1:
            warn.append("some orders' rows disagree on the order amount: the first row's is taken")
        first["amount"] = amounts[0] if amounts else None
        refunds = [r["order"]["refund"] for r in group if r["order"]["refund"]]
        first["refund"] = refunds[0] if refunds else None
    else:
        first["amount"] = sum(amounts, Decimal(0)) if amounts else None
        # a line's refund: the amount the file states, else the whole line when it is refunded
        first["refund"] = sum((r["order"]["refund"] if r["order"]["refund"] else
                               (r["order"]["amount"] or Decimal(0)) if r["order"]["status"] == "refunded"
                               else Decimal(0)) for r in group) or None
    if statuses and all(s == "refunded" for s in statuses):
        first["status"] = "refunded"
    elif "paid" in statuses or "refunded" in statuses:
        first["status"] = "paid"
    else:
        first["status"] = statuses[0] if statuses else "paid"
    return first


def _emit(out: Converted, order: dict, rows: list[dict]) -> None:
    """The order row, and a negative row for a partial refund the file states."""
    if order["amount"] is None:
        out.broken.append({"_line": order["_line"], "reason": "amount: missing", "raw": ""})
        return
    refund = order.get("refund") or Decimal(0)
    status = order["status"] or "paid"
    if status == "paid" and refund > 0 and refund >= order["amount"]:
        status, refund = "refunded", Decimal(0)
    out.orders.append({"_line": order["_line"], "order_id": order["order_id"],
                       "user_id": order["user_id"], "order_ts": order["order_ts"],
                       "status": status, "amount": str(order["amount"])})
    if status == "paid" and refund > 0:
        out.orders.append({"_line": order["_line"], "order_id": f"{order['order_id']}#refund",
                           "user_id": order["user_id"], "order_ts": order["order_ts"],
                           "status": "refunded", "amount": str(-refund)})
    for r in rows:
        if r.get("person"):
            out.customers.append({"_line": r["order"]["_line"], **r["person"]})
