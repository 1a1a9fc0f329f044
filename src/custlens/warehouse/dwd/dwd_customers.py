"""dwd_customers — one row per customer; the latest load of a customer wins."""

from custlens.warehouse.model import Column, Model

SQL = """
WITH latest AS (
    SELECT * FROM ods_customers
    {latest_customers}
)
SELECT coalesce(i.person_id, c.user_id) AS user_id, c.register_ts, c.birthday,
       coalesce(c.birthday_is_lunar, false) AS birthday_is_lunar, c.member_level, c.phone,
       c.email, c.address
FROM latest c
LEFT JOIN dim_identity i ON i.source IN ('customer', '*') AND i.source_id = c.user_id
-- one record per person: the one under the person's own id, else the latest loaded
QUALIFY row_number() OVER (PARTITION BY coalesce(i.person_id, c.user_id)
                           ORDER BY c.user_id = coalesce(i.person_id, c.user_id) DESC,
                                    c._batch_id DESC, c._line DESC) = 1
"""

MODEL = Model(
    name="dwd_customers",
    grain="one row per customer",
    description="Customer master data; phone, email, address and birthday are personal.",
    depends=("ods_customers", "dim_identity"),
    sql=SQL,
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("register_ts", "TIMESTAMPTZ"),
        Column("birthday", "DATE", "personal"),
        Column("birthday_is_lunar", "BOOLEAN", "birthday is a 农历 date", not_null=True),
        Column("member_level", "VARCHAR"),
        Column("phone", "VARCHAR", "personal"),
        Column("email", "VARCHAR", "personal"),
        Column("address", "VARCHAR", "personal"),
    ),
)
