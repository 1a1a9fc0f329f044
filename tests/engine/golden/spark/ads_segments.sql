WITH totals AS (
  SELECT
    COUNT(*) AS total_buyers,
    SUM(CAST(monetary AS DECIMAL(38, 6))) AS total_monetary
  FROM ads_rfm
)
SELECT
  segment,
  segment_en,
  tier,
  segment_label,
  segment_label_en,
  COUNT(*) AS customers,
  COUNT(*) / MAX(t.total_buyers) AS share,
  SUM(recency_days) / COUNT(*) AS mean_recency_days,
  SUM(frequency) / COUNT(*) AS mean_frequency,
  CAST(SUM(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) / COUNT(*) AS mean_monetary,
  CAST(SUM(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) AS monetary,
  CASE
    WHEN MAX(t.total_monetary) > 0
    THEN CAST(SUM(CAST(monetary AS DECIMAL(38, 6))) / MAX(t.total_monetary) AS DOUBLE)
    ELSE 0
  END AS monetary_share,
  COALESCE(
    LISTAGG(DISTINCT CAST(cluster AS STRING), ',') WITHIN GROUP (ORDER BY
      CAST(cluster AS STRING) NULLS LAST),
    ''
  ) AS clusters,
  CASE WHEN MIN(borderline) = MAX(borderline) THEN MIN(borderline) ELSE '' END AS borderline,
  COUNT(*) FILTER(WHERE
    class = 'core') AS count_core,
  CAST(CASE segment
    WHEN '重要价值客户'
    THEN 0
    WHEN '重要保持客户'
    THEN 1
    WHEN '重要发展客户'
    THEN 2
    WHEN '重要挽留客户'
    THEN 3
    WHEN '一般价值客户'
    THEN 4
    WHEN '一般保持客户'
    THEN 5
    WHEN '一般发展客户'
    THEN 6
    WHEN '一般挽留客户'
    THEN 7
  END AS INT) AS segment_rank
FROM ads_rfm
CROSS JOIN totals AS t
GROUP BY
  segment,
  segment_en,
  tier,
  segment_label,
  segment_label_en
