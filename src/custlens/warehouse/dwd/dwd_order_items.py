"""dwd_order_items — one row per order line (line_id); the latest load of a line wins."""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT line_id, order_id, item_id, qty, price, qty * price AS amount, user_id, order_ts
FROM ods_order_items
{latest_order_items}
"""

MODEL = Model(
    name="dwd_order_items",
    grain="one row per order line",
    description="Order lines; identical lines of one order count once (a line's id is a "
    "hash of its content when the source has none).",
    depends=("ods_order_items",),
    sql=SQL,
    columns=(
        Column("line_id", "BIGINT", not_null=True, unique=True),
        Column("order_id", "VARCHAR", not_null=True),
        Column("item_id", "VARCHAR", not_null=True),
        Column("qty", "DOUBLE", "negative for returns", not_null=True),
        Column("price", "DOUBLE", not_null=True),
        Column("amount", "DOUBLE", "qty × price", not_null=True),
        Column("user_id", "VARCHAR", "when the source puts the buyer on the line"),
        Column("order_ts", "TIMESTAMPTZ", "when the source puts the time on the line"),
    ),
)
