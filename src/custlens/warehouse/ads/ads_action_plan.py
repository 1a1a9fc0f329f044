"""ads_action_plan — one row per planned contact of every recorded plan, holdout marked,
with how far it got: planned → sent → delivered → responded (or failed, unsubscribed).

`responded` means clicked, redeemed or replied; an unsubscribe outranks it.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH got AS (
    SELECT plan_id, user_id, action,
           min(ts) FILTER (WHERE outcome IN ('sent', 'delivered', 'opened')) AS sent_ts,
           min(ts) FILTER (WHERE outcome IN ('clicked', 'redeemed', 'replied')) AS responded_ts,
           count(*) FILTER (WHERE outcome IN ('delivered', 'opened')) > 0 AS delivered,
           count(*) FILTER (WHERE outcome = 'failed') > 0 AS failed,
           count(*) FILTER (WHERE outcome = 'unsubscribed') > 0 AS unsubscribed
    FROM ads_action_receipts WHERE plan_id IS NOT NULL
    GROUP BY plan_id, user_id, action
)
SELECT p.plan_id, p.as_of, p.action, p.contact_channel, p.priority, p.user_id, p.is_holdout,
       p.operator, p.segment, p.class, p.recency_days, p.frequency, p.monetary, p.detail,
       p.window_end, g.sent_ts, g.responded_ts,
       CASE WHEN g.unsubscribed THEN 'unsubscribed'
            WHEN g.responded_ts IS NOT NULL THEN 'responded'
            WHEN g.delivered THEN 'delivered'
            WHEN g.sent_ts IS NOT NULL THEN 'sent'
            WHEN g.failed THEN 'failed'
            ELSE 'planned' END AS status
FROM ods_action_plan p
LEFT JOIN got g ON g.plan_id = p.plan_id AND g.user_id = p.user_id AND g.action = p.action
"""

MODEL = Model(
    name="ads_action_plan",
    grain="one row per plan × action × customer",
    description="Planned contacts (treated and holdout) and what became of them.",
    depends=("ods_action_plan", "ads_action_receipts"),
    sql=SQL,
    columns=(
        Column("plan_id", "VARCHAR", not_null=True),
        Column("as_of", "DATE", "the plan date", not_null=True),
        Column("action", "VARCHAR", not_null=True),
        Column("contact_channel", "VARCHAR", not_null=True),
        Column("priority", "BIGINT", not_null=True),
        Column("user_id", "VARCHAR", not_null=True),
        Column("is_holdout", "BOOLEAN", "kept out of the contact, to measure against",
               not_null=True),
        Column("operator", "VARCHAR", "who works this contact; NULL for holdout"),
        Column("segment", "VARCHAR"),
        Column("class", "VARCHAR"),
        Column("recency_days", "BIGINT"),
        Column("frequency", "BIGINT"),
        Column("monetary", "DOUBLE"),
        Column("detail", "VARCHAR", "why now: the birthday, campaign, due date or items"),
        Column("window_end", "DATE", "the plan's period ends before this date", not_null=True),
        Column("sent_ts", "TIMESTAMPTZ"),
        Column("responded_ts", "TIMESTAMPTZ"),
        Column("status", "VARCHAR", not_null=True,
               accepted=("planned", "sent", "delivered", "responded", "failed", "unsubscribed")),
    ),
)
