"""ads_segments — one row per (segment, tier): size, share, mean R/F/M, clusters.

K-means clusters that share a name are tiers of it (analysis.segments.name_clusters); in
rule mode each name is one tier. Rows are in the customary order of the eight names,
then by tier.
"""

from custlens.analysis import segments
from custlens.warehouse.model import Column, Model

ORDER = segments.rank_cases()

SQL = f"""
WITH totals AS (
    SELECT count(*) AS total_buyers, sum(CAST(monetary AS DECIMAL(38, 6))) AS total_monetary
    FROM ads_rfm
)
SELECT segment, segment_en, tier, segment_label, segment_label_en,
       count(*) AS customers,
       count(*) / max(t.total_buyers) AS share,
       sum(recency_days) / count(*) AS mean_recency_days,
       sum(frequency) / count(*) AS mean_frequency,
       CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) / count(*) AS mean_monetary,
       CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) AS monetary,
       CASE WHEN max(t.total_monetary) > 0
            THEN CAST(sum(CAST(monetary AS DECIMAL(38, 6))) / max(t.total_monetary) AS DOUBLE)
            ELSE 0 END AS monetary_share,
       coalesce(string_agg(DISTINCT CAST(cluster AS VARCHAR), ',' ORDER BY CAST(cluster AS VARCHAR)), '') AS clusters,
       CASE WHEN min(borderline) = max(borderline) THEN min(borderline) ELSE '' END AS borderline,
       count(*) FILTER (WHERE class = 'core') AS count_core,
       CAST(CASE segment {ORDER} END AS INTEGER) AS segment_rank
FROM ads_rfm CROSS JOIN totals t
GROUP BY segment, segment_en, tier, segment_label, segment_label_en
"""

MODEL = Model(
    name="ads_segments",
    grain="one row per (segment, tier) present among the buyers",
    description="The segment table: how many buyers, their share, mean R/F/M and money.",
    depends=("ads_rfm",),
    sql=SQL,
    helpers=(segments,),
    columns=(
        Column("segment", "VARCHAR", not_null=True),
        Column("segment_en", "VARCHAR", not_null=True),
        Column("tier", "INTEGER", "1 = the highest-value cluster of that name", not_null=True),
        Column("segment_label", "VARCHAR", "name · tier when the name has several clusters",
               not_null=True, unique=True),
        Column("segment_label_en", "VARCHAR", not_null=True, unique=True),
        Column("customers", "BIGINT", not_null=True),
        Column("share", "DOUBLE", "of buyers", not_null=True),
        Column("mean_recency_days", "DOUBLE", not_null=True),
        Column("mean_frequency", "DOUBLE", not_null=True),
        Column("mean_monetary", "DOUBLE", not_null=True),
        Column("monetary", "DOUBLE", not_null=True),
        Column("monetary_share", "DOUBLE", not_null=True),
        Column("clusters", "VARCHAR", "K-means clusters named so; '' in rules mode", not_null=True),
        Column("borderline", "VARCHAR", "K-means: the dimensions where the cluster's mean is "
               "within 0.1 std of the buyers' mean; '' in rules mode (it is per customer there)",
               not_null=True),
        Column("count_core", "BIGINT", not_null=True),
        Column("segment_rank", "INTEGER", "the customary order of the eight segments", not_null=True),
    ),
)
