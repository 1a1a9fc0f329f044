"""dwd_items — one row per item; the latest load of an item wins."""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT item_id, category_id, title, price, coalesce(is_daily_use, false) AS is_daily_use
FROM ods_items
{latest_items}
"""

MODEL = Model(
    name="dwd_items",
    grain="one row per item",
    description="Item master data.",
    depends=("ods_items",),
    sql=SQL,
    columns=(
        Column("item_id", "VARCHAR", not_null=True, unique=True),
        Column("category_id", "VARCHAR"),
        Column("title", "VARCHAR"),
        Column("price", "DOUBLE"),
        Column("is_daily_use", "BOOLEAN", "bought again and again (generator/shop flag)",
               not_null=True),
    ),
)
