SELECT
  dt
FROM ods_events
WHERE
  NOT EXISTS(
    SELECT
      1
    FROM dim_identity
    WHERE
      source IN ('log', '*')
  )
GROUP BY
  dt
HAVING
  COUNT(*) = COUNT(DISTINCT event_id)
