"""Personal data (phone, email, address, birthday) is masked unless the viewer may see it."""

from __future__ import annotations

import re

import pyarrow as pa

from custlens.schema import PERSONAL_FIELDS


def mask_value(field: str, value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    if field == "phone":  # 138****5678: at most 7 of 11 digits; a short number shows 4 at most
        if len(text) >= 11:
            return text[:3] + "****" + text[-4:]
        return text[:2] + "****" + text[-2:] if len(text) >= 8 else "****"
    if field == "email":
        user, _, domain = text.partition("@")
        return (user[:1] + "***@" + domain) if domain else "***"
    if field == "birthday":
        return re.sub(r"\d", "*", text[:4]) + text[4:7] + "-**" if len(text) >= 7 else "****"
    if field == "address":
        return text[:6] + "***"
    return "***"


def is_personal(column: str) -> bool:
    return column in PERSONAL_FIELDS or column.split(".")[-1] in PERSONAL_FIELDS


def mask_table(table: pa.Table, show_personal: bool = False) -> pa.Table:
    """Mask every personal column (by canonical name); raw quarantine text too."""
    if show_personal:
        return table
    for i, name in enumerate(table.column_names):
        if is_personal(name):
            values = [mask_value(name, v) for v in table.column(i).to_pylist()]
            table = table.set_column(i, name, pa.array(values, pa.string()))
    return table
