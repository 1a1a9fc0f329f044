"""dwd_customers — one row per customer; the latest load of a customer wins."""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT user_id, register_ts, birthday, coalesce(birthday_is_lunar, false) AS birthday_is_lunar,
       member_level, phone, email, address
FROM ods_customers
QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY _batch_id DESC, _line DESC) = 1
"""

MODEL = Model(
    name="dwd_customers",
    grain="one row per customer",
    description="Customer master data; phone, email, address and birthday are personal.",
    depends=("ods_customers",),
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
