"""What people read, in zh-CN (default) and English: headings, classes, messages."""

from __future__ import annotations

HEADINGS: dict[str, tuple[str, str]] = {
    "segment": ("客户分群", "segment (zh)"),
    "segment_en": ("分群(英文)", "segment"),
    "customers": ("客户数", "customers"),
    "share": ("占比", "share"),
    "mean_recency_days": ("平均最近购买(天)", "mean R (days)"),
    "mean_frequency": ("平均购买次数", "mean F (orders)"),
    "mean_monetary": ("平均消费金额", "mean M"),
    "monetary": ("消费金额", "monetary"),
    "monetary_share": ("金额占比", "money share"),
    "clusters": ("聚类", "clusters"),
    "count_core": ("核心客户数", "core customers"),
    "class": ("运营分类", "class"),
    "class_name": ("分类名称", "class name"),
    "user_id": ("用户ID", "user id"),
    "recency_days": ("最近购买(天)", "recency (days)"),
    "frequency": ("购买次数", "frequency"),
    "r_score": ("R分", "R score"),
    "f_score": ("F分", "F score"),
    "m_score": ("M分", "M score"),
    "cluster": ("聚类", "cluster"),
    "is_lapsed": ("已流失", "lapsed"),
    "is_campaign_only": ("只在大促购买", "campaign only"),
    "lapsed": ("已流失", "lapsed"),
    "campaign_only": ("只在大促购买", "campaign only"),
    "batch_id": ("批次", "batch"),
    "table_name": ("表", "table"),
    "source": ("来源", "source"),
    "created": ("时间", "created"),
    "rows": ("行数", "rows"),
    "rejected": ("拒收", "rejected"),
    "line": ("行号", "line"),
    "field": ("字段", "field"),
    "value": ("值", "value"),
    "reason": ("原因", "reason"),
    "name": ("表名", "table"),
    "layer": ("层", "layer"),
    "grain": ("粒度", "grain"),
    "count": ("数量", "count"),
}

CLASSES: dict[str, tuple[str, str]] = {
    "core": ("核心复购客户", "core repeat buyers"),
    "low_repurchase": ("低复购客户", "low-repurchase buyers"),
    "intent": ("意向客户(收藏/加购未购买)", "intent (fav/cart, never bought)"),
    "browser": ("仅浏览", "browsers (page views only)"),
}


def heading(column: str, lang: str) -> str:
    pair = HEADINGS.get(column)
    return column if pair is None else pair[0 if lang == "zh" else 1]


def class_name(cls: str, lang: str) -> str:
    pair = CLASSES.get(cls)
    return cls if pair is None else pair[0 if lang == "zh" else 1]
