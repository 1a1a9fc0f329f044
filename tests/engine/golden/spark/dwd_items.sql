SELECT
  item_id,
  category_id,
  title,
  price,
  is_daily_use
FROM (
  SELECT
    item_id,
    category_id,
    title,
    price,
    COALESCE(is_daily_use, FALSE) AS is_daily_use,
    ROW_NUMBER() OVER (PARTITION BY item_id ORDER BY _batch_id DESC, _line DESC) AS _w
  FROM ods_items
) AS _t
WHERE
  _w = 1
