SELECT
  line_id,
  order_id,
  item_id,
  qty,
  price,
  amount,
  user_id,
  order_ts
FROM (
  SELECT
    line_id,
    order_id,
    item_id,
    qty,
    price,
    qty * price AS amount,
    user_id,
    order_ts,
    ROW_NUMBER() OVER (PARTITION BY line_id ORDER BY _batch_id DESC, _line DESC) AS _w
  FROM ods_order_items
) AS _t
WHERE
  _w = 1
