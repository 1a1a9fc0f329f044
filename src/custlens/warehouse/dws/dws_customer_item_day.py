"""dws_customer_item_day — what each customer bought, item by item and day by day.

From the paid order lines; where the shop has no order lines (Taobao UserBehavior, or a
shop that sends only behaviour) from the `buy` events. Repurchase and campaign carts read
it, so both agree on what a purchase of an item is.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH lines AS (
    SELECT o.user_id, l.item_id, o.order_date AS dt, o.order_id, l.qty,
           CAST(l.amount AS DOUBLE) AS amount
    FROM dwd_order_items l JOIN dwd_orders o ON o.order_id = l.order_id
    WHERE o.is_paid AND l.qty > 0 AND o.user_id IS NOT NULL
),
buys AS (
    SELECT user_id, item_id, dt, CAST(event_id AS VARCHAR) AS order_id, 1.0 AS qty,
           CAST(NULL AS DOUBLE) AS amount, category_id
    FROM dwd_events
    WHERE behavior = 'buy' AND item_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM dwd_order_items)
),
purchases AS (
    SELECT user_id, item_id, dt, order_id, qty, amount, CAST(NULL AS VARCHAR) AS category_id
    FROM lines
    UNION ALL
    SELECT * FROM buys
)
SELECT p.user_id, p.item_id, p.dt, coalesce(any_value(i.category_id), any_value(p.category_id))
           AS category_id,
       count(DISTINCT p.order_id) AS orders, sum(p.qty) AS qty, sum(p.amount) AS amount
FROM purchases p LEFT JOIN dwd_items i ON i.item_id = p.item_id
GROUP BY p.user_id, p.item_id, p.dt
"""

MODEL = Model(
    name="dws_customer_item_day",
    grain="one row per customer × item × local date with a purchase",
    description="Items bought per customer and day (paid order lines, else buy events).",
    depends=("dwd_orders", "dwd_order_items", "dwd_items", "dwd_events"),
    sql=SQL,
    columns=(
        Column("user_id", "VARCHAR", not_null=True),
        Column("item_id", "VARCHAR", not_null=True),
        Column("dt", "DATE", not_null=True),
        Column("category_id", "VARCHAR"),
        Column("orders", "BIGINT", "distinct orders holding the item", not_null=True),
        Column("qty", "DOUBLE", not_null=True),
        Column("amount", "DOUBLE", "NULL when the source has no prices"),
    ),
)
