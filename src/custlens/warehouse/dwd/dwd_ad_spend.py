"""dwd_ad_spend — one row per date, channel and ad campaign; the latest load wins."""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT date, channel, coalesce(ad_campaign, '') AS ad_campaign,
       coalesce(impressions, 0) AS impressions, coalesce(clicks, 0) AS clicks, cost
FROM ods_ad_spend
{latest_ad_spend}
"""

MODEL = Model(
    name="dwd_ad_spend",
    grain="one row per date × channel × ad campaign",
    description="Advertising spend.",
    depends=("ods_ad_spend",),
    sql=SQL,
    columns=(
        Column("date", "DATE", not_null=True),
        Column("channel", "VARCHAR", not_null=True),
        Column("ad_campaign", "VARCHAR", "'' when none", not_null=True),
        Column("impressions", "BIGINT", not_null=True),
        Column("clicks", "BIGINT", not_null=True),
        Column("cost", "DOUBLE", not_null=True),
    ),
)
