"""Warehouse conventions kept as code rather than written out in each model.

- `latest(table)`: one row per key of an ODS table, the latest load winning (batch, then
  line in the file) — the rule DESIGN.md gives every re-imported record. The key is the
  table's `TableSpec.key`; events keep their *first* copy instead (a re-sent event is the
  same event, and its content-hash id puts every copy in the same `dt`).
- The placeholders a model's SQL may use (`{as_of}`, `{lookback_days}` …) and the setting
  group each one reads, so a model's declared `params` (what its fingerprint covers) are
  checked against the SQL it runs: a placeholder whose setting is not declared would leave
  the table stale when that setting changes.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from custlens import schema

LATEST_FIRST = "_batch_id DESC, _line DESC"  # the latest load wins
FIRST_COPY = "_batch_id, _line"  # the first copy stays
# how a key column compares where its raw value would not: a source named in any case,
# an ad without a campaign as ''
KEY_EXPRESSIONS: dict[tuple[str, str], str] = {
    ("identity", "source"): "lower(source)",
    ("ad_spend", "ad_campaign"): "coalesce(ad_campaign, '')",
}
FIRST_WINS = {"events": ("dt",)}  # table → the columns added to its key (dedup per day)


def latest(table: str, key: Sequence[str] | None = None, order: str | None = None,
           alias: str | None = None) -> str:
    """The QUALIFY clause keeping one row per key of `table` (ods_… or its canonical
    name): the latest load by default, the first copy for events; `key`/`order` override
    (opt-outs order by their own time first), `alias` qualifies the columns."""
    name = table.removeprefix("ods_")
    spec = schema.TABLES[name]
    prefix = f"{alias}." if alias else ""
    columns = list(key) if key is not None else [
        KEY_EXPRESSIONS.get((name, c), c) for c in spec.key]
    columns += list(FIRST_WINS.get(name, ())) if key is None else []
    keep = order or (FIRST_COPY if name in FIRST_WINS else LATEST_FIRST)
    if alias:
        columns = [c if "(" in c else prefix + c for c in columns]
        keep = ", ".join(prefix + part.strip() for part in keep.split(","))
    return f"QUALIFY row_number() OVER (PARTITION BY {', '.join(columns)} ORDER BY {keep}) = 1"


# ---- placeholders -------------------------------------------------------------------------
# placeholder → the BuildContext.param its value comes from
PLACEHOLDER_PARAMS: dict[str, str] = {
    "tz": "tz", "as_of": "as_of", "since": "since", "orders_from_events": "orders_from",
    "lapse_days": "classes", "identity_by_phone": "identity", "baseline_days": "periods",
    "cart_window_days": "periods", "lookback_days": "channels", "min_buyers": "repurchase",
    "max_gap_days": "repurchase", "min_rate": "repurchase", "top_categories": "monitor",
}
LATEST_PREFIX = "latest_"  # {latest_orders}: latest("orders")


def placeholders(sql: str) -> set[str]:
    """The `{name}` fields of a SQL template."""
    return {name for _, name, _, _ in string.Formatter().parse(sql) if name}


def params_of(sql: str) -> set[str]:
    """The settings a SQL template reads, by its placeholders; an unknown one is an error
    (a typo would otherwise fail only when the model is built)."""
    out = set()
    for name in placeholders(sql):
        if name.startswith(LATEST_PREFIX):
            schema.TABLES[name.removeprefix(LATEST_PREFIX)]  # a table that exists
            continue
        if name not in PLACEHOLDER_PARAMS:
            raise AssertionError(f"unknown placeholder {{{name}}}: one of {', '.join(PLACEHOLDER_PARAMS)}")
        out.add(PLACEHOLDER_PARAMS[name])
    return out
