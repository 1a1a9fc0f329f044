WITH got AS (
  SELECT
    plan_id,
    user_id,
    action,
    MIN(ts) FILTER(WHERE
      outcome IN ('sent', 'delivered', 'opened')) AS sent_ts,
    MIN(ts) FILTER(WHERE
      outcome IN ('clicked', 'redeemed', 'replied')) AS responded_ts,
    COUNT(*) FILTER(WHERE
      outcome IN ('delivered', 'opened')) > 0 AS delivered,
    COUNT(*) FILTER(WHERE
      outcome = 'failed') > 0 AS failed,
    COUNT(*) FILTER(WHERE
      outcome = 'unsubscribed') > 0 AS unsubscribed
  FROM ads_action_receipts
  WHERE
    NOT plan_id IS NULL
  GROUP BY
    plan_id,
    user_id,
    action
)
SELECT
  p.plan_id,
  p.as_of,
  p.action,
  p.contact_channel,
  p.priority,
  p.user_id,
  p.is_holdout,
  p.operator,
  p.segment,
  p.class,
  p.recency_days,
  p.frequency,
  p.monetary,
  p.detail,
  p.window_end,
  g.sent_ts,
  g.responded_ts,
  CASE
    WHEN g.unsubscribed
    THEN 'unsubscribed'
    WHEN NOT g.responded_ts IS NULL
    THEN 'responded'
    WHEN g.delivered
    THEN 'delivered'
    WHEN NOT g.sent_ts IS NULL
    THEN 'sent'
    WHEN g.failed
    THEN 'failed'
    ELSE 'planned'
  END AS status
FROM ods_action_plan AS p
LEFT JOIN got AS g
  ON g.plan_id = p.plan_id AND g.user_id = p.user_id AND g.action = p.action
