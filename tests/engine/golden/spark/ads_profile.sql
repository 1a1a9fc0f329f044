SELECT
  c.user_id,
  c.class,
  c.segment,
  c.segment_en,
  c.is_buyer,
  c.is_lapsed,
  c.is_campaign_only,
  r.recency_days,
  r.frequency,
  r.monetary,
  r.r_score,
  r.f_score,
  r.m_score,
  r.cluster,
  r.tier,
  r.segment_label,
  r.segment_label_en,
  r.borderline,
  r.r_threshold,
  r.f_threshold,
  r.m_threshold,
  r.cluster_recency_days,
  r.cluster_frequency,
  r.cluster_monetary,
  r.last_order_date,
  v.p_alive,
  v.expected_purchases,
  v.expected_value,
  d.next_due_date,
  c.last_active_date,
  c.count_pv,
  c.count_fav,
  c.count_cart,
  c.count_buy,
  m.member_level,
  CAST(FROM_UTC_TIMESTAMP(CAST(m.register_ts AS TIMESTAMP), 'Asia/Shanghai') AS DATE) AS register_date,
  c.as_of_date
FROM ads_customer_class AS c
LEFT JOIN ads_rfm AS r
  USING (user_id)
LEFT JOIN ads_clv AS v
  USING (user_id)
LEFT JOIN ads_purchase_due AS d
  USING (user_id)
LEFT JOIN dwd_customers AS m
  USING (user_id)
