"""dwd_orders — one row per order.

Orders come from order rows (latest load wins); an order row without an amount takes the
sum of its lines' qty × price (one with neither waits for its lines); an order that arrived only as lines
(UCI Online Retail) takes its header from its lines: buyer, first time, and the sum of
qty × price, which is negative for a return (status `refunded`). Where the shop's data
has no orders at all (Taobao UserBehavior, shop.orders_from = "events") each `buy` event
is an order of amount 1, so M counts items bought.

GMV counts every order that was paid, refunded later or not (DESIGN.md: GMV before
refunds, net GMV after); F counts only orders still paid. A paid order is an order
whatever its amount: a $0 order (a free sample, a fully discounted order) counts for R, F,
GMV and order counts; only negative rows (returns) are never orders.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH latest AS (
    SELECT order_id, user_id, order_ts, coalesce(status, 'paid') AS status, amount, channel
    FROM ods_orders
    {latest_orders}
),
line_totals AS (
    SELECT order_id, sum(amount) AS amount FROM dwd_order_items GROUP BY order_id
),
headers AS (
    SELECT h.order_id, h.user_id, h.order_ts, h.status, coalesce(h.amount, l.amount) AS amount,
           h.channel
    FROM latest h LEFT JOIN line_totals l ON l.order_id = h.order_id
    WHERE coalesce(h.amount, l.amount) IS NOT NULL
),
from_lines AS (
    SELECT order_id, min(user_id) AS user_id, min(order_ts) AS order_ts,
           CASE WHEN sum(amount) < 0 THEN 'refunded' ELSE 'paid' END AS status,
           sum(amount) AS amount, CAST(NULL AS VARCHAR) AS channel
    FROM dwd_order_items
    WHERE order_id NOT IN (SELECT order_id FROM headers) AND order_ts IS NOT NULL
    GROUP BY order_id
),
from_events AS (
    SELECT CAST(event_id AS VARCHAR) AS order_id, user_id, ts AS order_ts,
           'paid' AS status, 1.0 AS amount, channel
    FROM dwd_events
    WHERE behavior = 'buy' AND {orders_from_events}
),
orders AS (
    SELECT o.order_id, coalesce(i.person_id, o.user_id) AS user_id, o.order_ts, o.status,
           o.amount, o.channel
    FROM (SELECT * FROM headers UNION ALL SELECT * FROM from_lines) o
    LEFT JOIN dim_identity i ON i.source IN ('customer', '*') AND i.source_id = o.user_id
    UNION ALL
    SELECT * FROM from_events
)
SELECT order_id, user_id, order_ts, status, amount, channel,
       CAST(timezone({tz}, order_ts) AS DATE) AS order_date,
       (status = 'paid' AND amount >= 0) AS is_paid,
       (status IN ('paid', 'refunded') AND amount >= 0) AS in_gmv,
       (status IN ('paid', 'refunded') AND amount >= 0 AND user_id IS NOT NULL
        AND row_number() OVER (PARTITION BY user_id, status IN ('paid', 'refunded') AND amount >= 0
                               ORDER BY order_ts, order_id) = 1) AS is_first_order
FROM orders
"""

MODEL = Model(
    name="dwd_orders",
    grain="one row per order",
    description="Orders with status and amount; negative amounts are returns.",
    depends=("ods_orders", "dwd_order_items", "dwd_events", "dim_identity"),
    sql=SQL,
    params=("tz", "orders_from"),
    columns=(
        Column("order_id", "VARCHAR", not_null=True, unique=True),
        Column("user_id", "VARCHAR", "NULL for anonymous orders (outside RFM)"),
        Column("order_ts", "TIMESTAMPTZ", not_null=True),
        Column("status", "VARCHAR", not_null=True, accepted=("paid", "refunded", "cancelled", "pending")),
        Column("amount", "DOUBLE", "in the shop's currency; items when orders_from=events",
               not_null=True),
        Column("channel", "VARCHAR"),
        Column("order_date", "DATE", "local date", not_null=True),
        Column("is_paid", "BOOLEAN", "status paid and amount ≥ 0: counts as an order in F",
               not_null=True),
        Column("in_gmv", "BOOLEAN", "paid, even if refunded later (amount ≥ 0): counts in GMV",
               not_null=True),
        Column("is_first_order", "BOOLEAN", "the customer's first order counted in GMV",
               not_null=True),
    ),
)
