WITH span_days AS (
  SELECT
    weekday,
    COUNT(*) AS days
  FROM dws_shop_day
  WHERE
    in_span AND (
      NULL IS NULL OR date >= NULL
    )
  GROUP BY
    weekday
), cells AS (
  SELECT
    w.weekday,
    h.hour
  FROM span_days AS w
  CROSS JOIN (
    SELECT
      CAST(hour AS BIGINT) AS hour
    FROM VALUES
      (0),
      (1),
      (2),
      (3),
      (4),
      (5),
      (6),
      (7),
      (8),
      (9),
      (10),
      (11),
      (12),
      (13),
      (14),
      (15),
      (16),
      (17),
      (18),
      (19),
      (20),
      (21),
      (22),
      (23) AS hours(hour)
  ) AS h
), counts AS (
  SELECT
    CAST((
      WEEKDAY(dt) + 1
    ) AS BIGINT) AS weekday,
    hour,
    CAST(SUM(events) AS BIGINT) AS events,
    CAST(SUM(events_pv) AS BIGINT) AS events_pv,
    CAST(SUM(events_fav) AS BIGINT) AS events_fav,
    CAST(SUM(events_cart) AS BIGINT) AS events_cart,
    CAST(SUM(events_buy) AS BIGINT) AS events_buy
  FROM dws_shop_hour
  WHERE
    dt < CAST('2025-01-01' AS DATE) AND (
      NULL IS NULL OR dt >= NULL
    )
  GROUP BY
    1,
    hour
)
SELECT
  c.weekday,
  c.hour,
  d.days,
  COALESCE(n.events, 0) AS events,
  COALESCE(n.events_pv, 0) AS events_pv,
  COALESCE(n.events_fav, 0) AS events_fav,
  COALESCE(n.events_cart, 0) AS events_cart,
  COALESCE(n.events_buy, 0) AS events_buy,
  CAST(COALESCE(n.events, 0) AS DOUBLE) / d.days AS events_per_day,
  CAST(COALESCE(n.events_buy, 0) AS DOUBLE) / d.days AS buys_per_day
FROM cells AS c
JOIN span_days AS d
  ON d.weekday = c.weekday
LEFT JOIN counts AS n
  ON n.weekday = c.weekday AND n.hour = c.hour
