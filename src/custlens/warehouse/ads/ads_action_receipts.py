"""ads_action_receipts — one row per receipt (a send, a delivery, a redemption, a 退订 …),
matched to the plan row it answers.

A receipt names its plan and action when the sender knew them; otherwise it belongs to
the customer's newest plan made on or before the receipt's local date. Holdout rows
match too, so a contact that should not have happened shows up (and `actions measure`
warns). Unmatched receipts stay, with plan_id NULL.
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH receipts AS (
    SELECT DISTINCT user_id, outcome, ts, plan_id, action, contact_channel, coupon_code
    FROM ods_action_receipts
)
SELECT r.user_id, r.outcome, r.ts, p.plan_id, coalesce(p.action, r.action) AS action,
       coalesce(r.contact_channel, p.contact_channel) AS contact_channel, r.coupon_code,
       coalesce(p.is_holdout, false) AS to_holdout
FROM receipts r
LEFT JOIN ods_action_plan p
       ON p.user_id = r.user_id
      AND (r.plan_id IS NULL OR p.plan_id = r.plan_id)
      AND (r.action IS NULL OR p.action = r.action)
      AND p.as_of <= CAST(timezone({tz}, r.ts) AS DATE)
QUALIFY row_number() OVER (PARTITION BY r.user_id, r.outcome, r.ts, r.plan_id, r.action
                           ORDER BY p.as_of DESC NULLS LAST, p.plan_id, p.action) = 1
"""

MODEL = Model(
    name="ads_action_receipts",
    grain="one row per distinct receipt",
    description="What happened to planned contacts, matched to their plan.",
    depends=("ods_action_receipts", "ods_action_plan"),
    sql=SQL,
    params=("tz",),
    columns=(
        Column("user_id", "VARCHAR", not_null=True),
        Column("outcome", "VARCHAR", not_null=True,
               accepted=("sent", "delivered", "failed", "opened", "clicked", "redeemed",
                         "replied", "unsubscribed")),
        Column("ts", "TIMESTAMPTZ", not_null=True),
        Column("plan_id", "VARCHAR", "NULL when no plan row matches"),
        Column("action", "VARCHAR"),
        Column("contact_channel", "VARCHAR"),
        Column("coupon_code", "VARCHAR"),
        Column("to_holdout", "BOOLEAN", "the customer was held out: should not have been contacted",
               not_null=True),
    ),
)
