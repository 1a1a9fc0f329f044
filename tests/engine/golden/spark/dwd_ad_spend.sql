SELECT
  date,
  channel,
  ad_campaign,
  impressions,
  clicks,
  cost
FROM (
  SELECT
    date,
    channel,
    COALESCE(ad_campaign, '') AS ad_campaign,
    COALESCE(impressions, 0) AS impressions,
    COALESCE(clicks, 0) AS clicks,
    cost,
    ROW_NUMBER() OVER (
      PARTITION BY date, channel, COALESCE(COALESCE(ad_campaign, ''), '')
      ORDER BY _batch_id DESC, _line DESC
    ) AS _w
  FROM ods_ad_spend
) AS _t
WHERE
  _w = 1
