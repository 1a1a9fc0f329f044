"""Canonical tables of DESIGN.md's data model, as Arrow schemas.

Column names here are the ones `--map field=column` refers to. Ids are text so that any
shop's ids fit; times are UTC instants; money is DOUBLE in the shop's currency.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its fields, which are required, and its time column (for dt)."""

    name: str
    schema: pa.Schema
    required: tuple[str, ...]
    time_field: str | None  # the instant whose local date is the dt partition
    key: tuple[str, ...]

    @property
    def fields(self) -> list[str]:
        return self.schema.names


BEHAVIORS = ("pv", "fav", "cart", "buy")
# pending: placed, not yet paid — never a purchase (no buyer, F, M or GMV); platform exports have it
ORDER_STATUSES = ("paid", "refunded", "cancelled", "pending")
CONTACT_CHANNELS = ("sms", "customer_service", "coupon", "gift", "email")
# what became of a planned contact, in the order a contact goes through
OUTCOMES = ("sent", "delivered", "failed", "opened", "clicked", "redeemed", "replied", "unsubscribed")
PERSONAL_FIELDS = frozenset({"phone", "email", "address", "birthday"})

TABLES: dict[str, TableSpec] = {
    "events": TableSpec(
        "events",
        pa.schema([
            ("event_id", pa.int64()), ("user_id", pa.string()), ("item_id", pa.string()),
            ("category_id", pa.string()), ("behavior", pa.string()), ("ts", TS),
            ("channel", pa.string()), ("ad_campaign", pa.string()),
            ("session_id", pa.string()), ("shop_id", pa.string()),
        ]),
        required=("user_id", "behavior", "ts"),
        time_field="ts",
        key=("event_id",),
    ),
    "orders": TableSpec(
        "orders",
        pa.schema([
            ("order_id", pa.string()), ("user_id", pa.string()), ("order_ts", TS),
            ("status", pa.string()), ("amount", pa.float64()), ("channel", pa.string()),
        ]),
        required=("order_id", "order_ts"),  # no amount: the sum of its lines' qty × price
        time_field="order_ts",
        key=("order_id",),
    ),
    "order_items": TableSpec(
        "order_items",
        pa.schema([
            ("order_id", pa.string()), ("item_id", pa.string()), ("qty", pa.float64()),
            ("price", pa.float64()), ("user_id", pa.string()), ("order_ts", TS),
            ("line_id", pa.int64()),
        ]),
        required=("order_id", "item_id", "qty", "price"),
        time_field=None,
        key=("line_id",),
    ),
    "customers": TableSpec(
        "customers",
        pa.schema([
            ("user_id", pa.string()), ("register_ts", TS), ("birthday", pa.date32()),
            ("birthday_is_lunar", pa.bool_()), ("member_level", pa.string()),
            ("phone", pa.string()), ("email", pa.string()), ("address", pa.string()),
        ]),
        required=("user_id",),
        time_field=None,
        key=("user_id",),
    ),
    "items": TableSpec(
        "items",
        pa.schema([
            ("item_id", pa.string()), ("category_id", pa.string()), ("title", pa.string()),
            ("price", pa.float64()), ("is_daily_use", pa.bool_()),
        ]),
        required=("item_id",),
        time_field=None,
        key=("item_id",),
    ),
    "ad_spend": TableSpec(
        "ad_spend",
        pa.schema([
            ("date", pa.date32()), ("channel", pa.string()), ("ad_campaign", pa.string()),
            ("impressions", pa.int64()), ("clicks", pa.int64()), ("cost", pa.float64()),
        ]),
        required=("date", "channel", "cost"),
        time_field=None,
        key=("date", "channel", "ad_campaign"),
    ),
    "identity": TableSpec(
        "identity",
        pa.schema([("source", pa.string()), ("source_id", pa.string()), ("user_id", pa.string())]),
        required=("source", "source_id", "user_id"),
        time_field=None,
        key=("source", "source_id"),
    ),
    # what custlens itself records: the contacts a plan decided (one batch per plan) …
    "action_plan": TableSpec(
        "action_plan",
        pa.schema([
            ("plan_id", pa.string()), ("as_of", pa.date32()), ("action", pa.string()),
            ("contact_channel", pa.string()), ("priority", pa.int64()), ("user_id", pa.string()),
            ("is_holdout", pa.bool_()), ("operator", pa.string()), ("segment", pa.string()),
            ("class", pa.string()), ("recency_days", pa.int64()), ("frequency", pa.int64()),
            ("monetary", pa.float64()), ("detail", pa.string()), ("window_end", pa.date32()),
        ]),
        required=("plan_id", "as_of", "action", "user_id", "is_holdout"),
        time_field=None,
        key=("plan_id", "action", "user_id"),
    ),
    # … what the SMS platform, the service desk or the coupon system said happened …
    "action_receipts": TableSpec(
        "action_receipts",
        pa.schema([
            ("user_id", pa.string()), ("outcome", pa.string()), ("ts", TS),
            ("plan_id", pa.string()), ("action", pa.string()), ("contact_channel", pa.string()),
            ("coupon_code", pa.string()),
        ]),
        required=("user_id", "outcome", "ts"),
        time_field=None,
        key=("user_id", "outcome", "ts", "plan_id", "action"),
    ),
    # … and who asked not to be contacted (退订), by channel or on all ("all").
    "optouts": TableSpec(
        "optouts",
        pa.schema([
            ("user_id", pa.string()), ("contact_channel", pa.string()), ("ts", TS),
            ("reason", pa.string()), ("withdrawn", pa.bool_()),
        ]),
        required=("user_id", "contact_channel", "ts"),
        time_field=None,
        key=("user_id", "contact_channel"),
    ),
}

# Load metadata every ODS row carries: which batch, from where, which record.
# `_offset`: the byte offset of the line in its file, for logs read by the agent (else NULL).
LOAD_META = pa.schema([("_batch_id", pa.string()), ("_source", pa.string()), ("_line", pa.int64()),
                       ("_offset", pa.int64())])

# One rejected record: where it was, which field, why, and the raw text.
REJECTED = pa.schema([
    ("_batch_id", pa.string()), ("table_name", pa.string()), ("_source", pa.string()),
    ("_line", pa.int64()), ("_offset", pa.int64()), ("field", pa.string()), ("value", pa.string()),
    ("reason", pa.string()), ("raw", pa.string()),
])


def spec(table: str) -> TableSpec:
    from custlens.errors import CustlensError

    key = table.replace("-", "_")
    if key not in TABLES:
        raise CustlensError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    return TABLES[key]


def ods_schema(table: str) -> pa.Schema:
    """ODS = canonical fields + load metadata (+ dt for time-partitioned tables)."""
    s = spec(table)
    fields = list(s.schema) + list(LOAD_META)
    if s.time_field:
        fields.append(pa.field("dt", pa.date32()))
    return pa.schema(fields)


def arrow_to_sql(t: pa.DataType) -> str:
    """The SQL type for an Arrow type (for typed empty tables)."""
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    return {
        pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.float64(): "DOUBLE",
        pa.string(): "VARCHAR", pa.large_string(): "VARCHAR", pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
    }[t]
