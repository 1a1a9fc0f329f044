"""dwd_quarantine — one row per rejected record: where it was, the field, the reason."""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT _batch_id AS batch_id, table_name, _source AS source, _line AS line,
       _offset AS byte_offset, field, value, reason, raw
FROM ods_rejected
"""

MODEL = Model(
    name="dwd_quarantine",
    grain="one row per rejected record",
    description="Records that could not be loaded, with the reason; raw text may hold "
    "personal data (admins only in the web app, masked on the command line).",
    depends=("ods_rejected",),
    sql=SQL,
    columns=(
        Column("batch_id", "VARCHAR", not_null=True),
        Column("table_name", "VARCHAR", not_null=True),
        Column("source", "VARCHAR", not_null=True),
        Column("line", "BIGINT", "line (or record) number in the source"),
        Column("byte_offset", "BIGINT", "byte offset of the line, for collected logs"),
        Column("field", "VARCHAR", "the first field that failed; NULL if the line could not be split"),
        Column("value", "VARCHAR"),
        Column("reason", "VARCHAR", not_null=True),
        Column("raw", "VARCHAR", "the record as received"),
    ),
)
