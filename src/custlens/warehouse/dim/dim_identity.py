"""dim_identity — one person, many ids: which id stands for whom.

The same person logs in with a cookie or app id, orders as a database customer, and
sometimes registers twice with one phone number. Two rules, first match wins:
`explicit` mappings imported as `identity` (source, source_id → user_id; source `log`
for behaviour logs, `customer` for database ids, `*` for both), then `phone`: customer
records whose phone numbers agree on their last 11 digits (so +86 138-1234-5678 and
13812345678 agree) are one person, the smallest id (config `identity.by_phone`).
An id without a row here stands for itself. DWD applies it, so every layer above sees
one id per person; mappings resolve one step (a mapped id is not mapped again).
"""

from custlens.warehouse.model import Column, Model

SQL = """
WITH explicit AS (
    SELECT lower(source) AS source, source_id, user_id AS person_id, 'explicit' AS rule
    FROM ods_identity
    {latest_identity}
),
customers AS (
    SELECT user_id, right(regexp_replace(phone, '[^0-9]', '', 'g'), 11) AS phone
    FROM ods_customers
    {latest_customers}
),
by_phone AS (
    SELECT 'customer' AS source, user_id AS source_id,
           min(user_id) OVER (PARTITION BY phone) AS person_id, 'phone' AS rule
    FROM customers
    WHERE {identity_by_phone} AND length(phone) >= 7
)
SELECT source, source_id, person_id, rule FROM explicit
UNION ALL
SELECT p.source, p.source_id, p.person_id, p.rule FROM by_phone p
WHERE p.source_id <> p.person_id
  AND NOT EXISTS (SELECT 1 FROM explicit e
                  WHERE e.source IN ('customer', '*') AND e.source_id = p.source_id)
"""

MODEL = Model(
    name="dim_identity",
    grain="one row per (source, id) that stands for another person id",
    description="Identity resolution: explicit mappings, then customers sharing a phone.",
    depends=("ods_identity", "ods_customers"),
    sql=SQL,
    params=("identity",),
    columns=(
        Column("source", "VARCHAR", "log, customer or * (both)", not_null=True),
        Column("source_id", "VARCHAR", not_null=True),
        Column("person_id", "VARCHAR", "the id every layer above DWD uses", not_null=True),
        Column("rule", "VARCHAR", not_null=True, accepted=("explicit", "phone")),
    ),
)
