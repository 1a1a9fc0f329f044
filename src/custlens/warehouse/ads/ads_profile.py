"""ads_profile — one row per customer: everything a look-up or a profile page shows.

The per-customer store of the classic design (HBase's role): class and flags, RFM and
scores, cluster and segment, CLV, next purchase due, last activity, behaviour counts and
member level, all at one analysis date. Personal contact fields stay in dwd_customers:
whoever serves a profile joins them only for a viewer allowed to see them.
"""

from custlens.warehouse.model import Column, Model

SQL = """
SELECT c.user_id, c.class, c.segment, c.segment_en, c.is_buyer, c.is_lapsed, c.is_campaign_only,
       r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score, r.cluster,
       r.tier, r.segment_label, r.segment_label_en, r.borderline,
       r.r_threshold, r.f_threshold, r.m_threshold,
       r.cluster_recency_days, r.cluster_frequency, r.cluster_monetary,
       r.last_order_date, v.p_alive, v.expected_purchases, v.expected_value,
       d.next_due_date, c.last_active_date, c.count_pv, c.count_fav, c.count_cart, c.count_buy,
       m.member_level, CAST(timezone({tz}, m.register_ts) AS DATE) AS register_date, c.as_of_date
FROM ads_customer_class c
LEFT JOIN ads_rfm r USING (user_id)
LEFT JOIN ads_clv v USING (user_id)
LEFT JOIN ads_purchase_due d USING (user_id)
LEFT JOIN dwd_customers m USING (user_id)
"""

MODEL = Model(
    name="ads_profile",
    grain="one row per customer (buyers or not) at the analysis date",
    description="The customer profile: classes, RFM, segment, CLV, due date, activity.",
    depends=("ads_customer_class", "ads_rfm", "ads_clv", "ads_purchase_due", "dwd_customers"),
    sql=SQL,
    params=("tz",),
    columns=(
        Column("user_id", "VARCHAR", not_null=True, unique=True),
        Column("class", "VARCHAR", not_null=True,
               accepted=("core", "low_repurchase", "intent", "browser")),
        Column("segment", "VARCHAR", "buyers only"),
        Column("segment_en", "VARCHAR"),
        Column("is_buyer", "BOOLEAN", not_null=True),
        Column("is_lapsed", "BOOLEAN", not_null=True),
        Column("is_campaign_only", "BOOLEAN", not_null=True),
        Column("recency_days", "BIGINT"),
        Column("frequency", "BIGINT"),
        Column("monetary", "DOUBLE"),
        Column("r_score", "INTEGER"),
        Column("f_score", "INTEGER"),
        Column("m_score", "INTEGER"),
        Column("cluster", "INTEGER"),
        Column("tier", "INTEGER", "1 = the highest-value cluster of the segment's name"),
        Column("segment_label", "VARCHAR", "segment · tier when the name has several clusters"),
        Column("segment_label_en", "VARCHAR"),
        Column("borderline", "VARCHAR", "dimensions where the name could go either way"),
        Column("r_threshold", "DOUBLE", "why the name: the buyers' mean R (fewer days is 高)"),
        Column("f_threshold", "DOUBLE", "the buyers' mean F"),
        Column("m_threshold", "DOUBLE", "the buyers' mean M"),
        Column("cluster_recency_days", "DOUBLE", "the cluster's mean R, compared with r_threshold"),
        Column("cluster_frequency", "DOUBLE"),
        Column("cluster_monetary", "DOUBLE"),
        Column("last_order_date", "DATE"),
        Column("p_alive", "DOUBLE", "BG/NBD; NULL when the fit was not possible"),
        Column("expected_purchases", "DOUBLE", "within clv.horizon_days"),
        Column("expected_value", "DOUBLE", "within clv.horizon_days"),
        Column("next_due_date", "DATE", "repeat buyers: by their own rhythm"),
        Column("last_active_date", "DATE", not_null=True),
        Column("count_pv", "BIGINT", not_null=True),
        Column("count_fav", "BIGINT", not_null=True),
        Column("count_cart", "BIGINT", not_null=True),
        Column("count_buy", "BIGINT", not_null=True),
        Column("member_level", "VARCHAR"),
        Column("register_date", "DATE", "local date"),
        Column("as_of_date", "DATE", not_null=True),
    ),
)
