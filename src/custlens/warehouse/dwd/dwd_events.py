"""dwd_events — one row per event (event_id), partitioned by local date dt."""

from custlens.warehouse.model import Column, Model

# Duplicates are rare (a re-sent log, a copytruncate copy): rows whose id is unique pass
# straight through, and only the few repeated ids are collapsed, keeping the first copy
# loaded. This keeps the step a single streaming pass over ODS. A copy is a copy within
# its local date — a re-sent record carries the same instant, and a content-hash id
# includes it — so each day is deduplicated on its own and an incremental build reads
# only the days that received events (an own id reused on another day is another event).
SQL = """
WITH src AS (
    SELECT event_id, user_id, item_id, category_id, behavior, ts, channel, ad_campaign,
           session_id, shop_id, dt, _batch_id, _line
    FROM ods_events
),
repeated AS (
    SELECT event_id FROM src GROUP BY event_id HAVING count(*) > 1
),
unique_rows AS (
    SELECT * FROM src WHERE event_id NOT IN (SELECT event_id FROM repeated)
),
first_copies AS (
    SELECT * FROM src WHERE event_id IN (SELECT event_id FROM repeated)
    {latest_events}
)
SELECT e.event_id, coalesce(i.person_id, e.user_id) AS user_id, e.item_id, e.category_id,
       e.behavior, e.ts, e.channel, e.ad_campaign, e.session_id, e.shop_id, e.dt
FROM (SELECT * FROM unique_rows UNION ALL SELECT * FROM first_copies) e
LEFT JOIN dim_identity i ON i.source IN ('log', '*') AND i.source_id = e.user_id
"""

# Most days have no repeated id and no identity to apply: their ODS files are the table's
# partition as they are, and are linked rather than written again (warehouse/incremental.py)
UNCHANGED_DATES = """
SELECT dt FROM ods_events
WHERE NOT EXISTS (SELECT 1 FROM dim_identity WHERE source IN ('log', '*'))
GROUP BY dt
HAVING count(*) = count(DISTINCT event_id)
"""

MODEL = Model(
    name="dwd_events",
    grain="one row per event",
    description="Behaviour events (pv, fav, cart, buy), deduplicated by event_id.",
    depends=("ods_events", "dim_identity"),
    sql=SQL,
    partition_by="dt",
    incremental=(("ods_events", "dt"),),
    unchanged_dates=UNCHANGED_DATES,
    columns=(
        Column("event_id", "BIGINT", "own id, or a hash of the content", not_null=True, unique=True),
        Column("user_id", "VARCHAR", "the person's id (dim_identity applied)", not_null=True),
        Column("item_id", "VARCHAR"),
        Column("category_id", "VARCHAR"),
        Column("behavior", "VARCHAR", not_null=True, accepted=("pv", "fav", "cart", "buy")),
        Column("ts", "TIMESTAMPTZ", "UTC instant", not_null=True),
        Column("channel", "VARCHAR", "traffic source"),
        Column("ad_campaign", "VARCHAR"),
        Column("session_id", "VARCHAR"),
        Column("shop_id", "VARCHAR"),
        Column("dt", "DATE", "local date in the shop's time zone", not_null=True),
    ),
)
