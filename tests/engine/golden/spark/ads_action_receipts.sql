SELECT
  user_id,
  outcome,
  ts,
  plan_id,
  action,
  contact_channel,
  coupon_code,
  to_holdout
FROM (
  WITH receipts AS (
    SELECT DISTINCT
      user_id,
      outcome,
      ts,
      plan_id,
      action,
      contact_channel,
      coupon_code
    FROM ods_action_receipts
  )
  SELECT
    r.user_id,
    r.outcome,
    r.ts,
    p.plan_id,
    COALESCE(p.action, r.action) AS action,
    COALESCE(r.contact_channel, p.contact_channel) AS contact_channel,
    r.coupon_code,
    COALESCE(p.is_holdout, FALSE) AS to_holdout,
    ROW_NUMBER() OVER (
      PARTITION BY r.user_id, r.outcome, r.ts, r.plan_id, COALESCE(p.action, r.action)
      ORDER BY p.as_of DESC, p.plan_id NULLS LAST, COALESCE(p.action, r.action) NULLS LAST
    ) AS _w
  FROM receipts AS r
  LEFT JOIN ods_action_plan AS p
    ON p.user_id = r.user_id
    AND (
      r.plan_id IS NULL OR p.plan_id = r.plan_id
    )
    AND (
      r.action IS NULL OR p.action = r.action
    )
    AND p.as_of <= CAST(FROM_UTC_TIMESTAMP(CAST(r.ts AS TIMESTAMP), 'Asia/Shanghai') AS DATE)
) AS _t
WHERE
  _w = 1
