WITH peaks AS (
  SELECT
    period_name,
    period_name_en,
    year,
    date AS peak_date
  FROM dws_shop_day
  WHERE
    kind = 'campaign' AND phase = 'peak' AND in_span
), carts AS (
  SELECT DISTINCT
    p.period_name,
    p.year,
    e.user_id,
    e.item_id
  FROM dwd_events AS e
  JOIN peaks AS p
    ON e.dt >= p.peak_date - INTERVAL '30' DAY AND e.dt < p.peak_date
  WHERE
    e.behavior = 'cart' AND NOT e.item_id IS NULL
), matched AS (
  SELECT
    c.period_name,
    c.year,
    c.user_id,
    c.item_id,
    NOT b.user_id IS NULL AS bought
  FROM carts AS c
  JOIN peaks AS p
    ON p.period_name = c.period_name AND p.year = c.year
  LEFT JOIN dws_customer_item_day AS b
    ON b.user_id = c.user_id AND b.item_id = c.item_id AND b.dt = p.peak_date
), peak_buyers AS (
  SELECT
    p.period_name,
    p.year,
    COUNT(DISTINCT b.user_id) AS peak_buyers
  FROM peaks AS p
  JOIN dws_customer_item_day AS b
    ON b.dt = p.peak_date
  GROUP BY
    p.period_name,
    p.year
), summary AS (
  SELECT
    period_name,
    year,
    COUNT(DISTINCT user_id) AS carters,
    COUNT(*) AS carted_items,
    COUNT(*) FILTER(WHERE
      bought) AS carted_items_bought,
    COUNT(DISTINCT user_id) FILTER(WHERE
      bought) AS carters_who_bought
  FROM matched
  GROUP BY
    period_name,
    year
)
SELECT
  p.period_name,
  p.period_name_en,
  p.year,
  p.peak_date,
  COALESCE(s.carters, 0) AS carters,
  COALESCE(s.carted_items, 0) AS carted_items,
  COALESCE(s.carted_items_bought, 0) AS carted_items_bought,
  COALESCE(s.carters_who_bought, 0) AS carters_who_bought,
  CAST(s.carted_items_bought AS DOUBLE) / NULLIF(s.carted_items, 0) AS carted_item_conversion,
  CAST(s.carters_who_bought AS DOUBLE) / NULLIF(s.carters, 0) AS carter_conversion,
  COALESCE(b.peak_buyers, 0) AS peak_buyers,
  CAST(s.carters_who_bought AS DOUBLE) / NULLIF(b.peak_buyers, 0) AS share_of_peak_buyers
FROM peaks AS p
LEFT JOIN summary AS s
  ON s.period_name = p.period_name AND s.year = p.year
LEFT JOIN peak_buyers AS b
  ON b.period_name = p.period_name AND b.year = p.year
