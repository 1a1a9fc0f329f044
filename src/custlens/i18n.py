"""What people read, in zh-CN (default) and English: headings, classes, messages."""

from __future__ import annotations

from typing import Any

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
    "tier": ("层级", "tier"),
    "tiers": ("层级数", "tiers"),
    "segment_label": ("分群(层级)", "segment · tier (zh)"),
    "segment_label_en": ("分群层级(英文)", "segment · tier"),
    "borderline": ("临界维度", "borderline"),
    "rule_segment": ("规则分群", "rule segment (zh)"),
    "rule_segment_en": ("规则分群(英文)", "rule segment"),
    "rule_customers": ("规则分群客户数", "customers (rules)"),
    "r_threshold": ("R阈值(均值)", "R threshold (mean)"),
    "f_threshold": ("F阈值(均值)", "F threshold (mean)"),
    "m_threshold": ("M阈值(均值)", "M threshold (mean)"),
    "cluster_recency_days": ("簇平均R", "cluster mean R"),
    "cluster_frequency": ("簇平均F", "cluster mean F"),
    "cluster_monetary": ("簇平均M", "cluster mean M"),
    "k": ("簇数k", "k"),
    "inertia": ("簇内平方和", "inertia"),
    "silhouette": ("轮廓系数", "silhouette"),
    "calinski_harabasz": ("CH指数", "Calinski-Harabasz"),
    "min_share": ("最小簇占比", "smallest cluster"),
    "stability": ("稳定性(ARI)", "stability (ARI)"),
    "chosen": ("选用", "chosen"),
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
    # analyses
    "period": ("时期", "period"),
    "period_id": ("时期ID", "period id"),
    "kind": ("类型", "kind"),
    "period_name": ("时期", "period"),
    "period_name_en": ("时期(英文)", "period"),
    "phase": ("阶段", "phase"),
    "year": ("年", "year"),
    "start_date": ("开始", "start"),
    "end_date": ("结束", "end"),
    "days": ("天数", "days"),
    "calendar_days": ("日历天数", "calendar days"),
    "is_complete": ("完整", "complete"),
    "visitors": ("访客数", "visitors"),
    "buyers": ("购买客户数", "buyers"),
    "new_buyers": ("新客", "new buyers"),
    "returning_buyers": ("老客", "returning"),
    "orders": ("订单数", "orders"),
    "gmv": ("GMV", "GMV"),
    "net_gmv": ("净GMV", "net GMV"),
    "gmv_per_buyer": ("客单价", "GMV per buyer"),
    "gmv_per_order": ("笔单价", "AOV"),
    "conversion": ("转化率", "conversion"),
    "bounce_rate": ("跳失率", "bounce rate"),
    "refund_rate": ("退款率", "refund rate"),
    "visitors_per_day": ("日均访客", "visitors/day"),
    "buyers_per_day": ("日均买家", "buyers/day"),
    "orders_per_day": ("日均订单", "orders/day"),
    "gmv_per_day": ("日均GMV", "GMV/day"),
    "net_gmv_per_day": ("日均净GMV", "net GMV/day"),
    "baseline_gmv_per_day": ("日常基线日均GMV", "baseline GMV/day"),
    "gmv_lift": ("GMV提升(倍)", "GMV lift (×)"),
    "visitors_lift": ("访客提升(倍)", "visitor lift (×)"),
    "gmv_per_day_mom": ("环比", "vs previous"),
    "gmv_per_day_yoy": ("同比", "vs last year"),
    "day_type": ("日类型", "day type"),
    "peak_date": ("爆发日", "peak day"),
    "carters": ("加购客户", "carters"),
    "carted_items": ("加购商品(人×品)", "carted items"),
    "carted_items_bought": ("大促当天购买", "bought at peak"),
    "carters_who_bought": ("加购后购买客户", "carters who bought"),
    "carted_item_conversion": ("加购商品转化率", "carted-item conversion"),
    "carter_conversion": ("加购客户转化率", "carter conversion"),
    "peak_buyers": ("爆发日买家", "peak-day buyers"),
    "share_of_peak_buyers": ("占爆发日买家", "share of peak buyers"),
    "stage": ("环节", "stage"),
    "users": ("用户数", "users"),
    "events": ("事件数", "events"),
    "of_visitors": ("占访客", "of visitors"),
    "of_previous": ("占上一环节", "of previous stage"),
    "users_pv": ("浏览用户", "users pv"),
    "users_fav_or_cart": ("收藏或加购用户", "users fav/cart"),
    "users_buy": ("购买用户", "users buy"),
    "pv_to_fav_or_cart": ("浏览→收藏加购", "pv → fav/cart"),
    "fav_or_cart_to_buy": ("收藏加购→购买", "fav/cart → buy"),
    "median_hours_to_buy": ("浏览到购买(小时,中位)", "hours to buy (median)"),
    "hour": ("小时", "hour"),
    "item": ("商品", "item"),
    "repeat_buyers": ("复购客户", "repeat buyers"),
    "repurchase_rate": ("复购率", "repurchase rate"),
    "median_gap_days": ("购买间隔(天,中位)", "gap days (median)"),
    "returning_share": ("回头客占比", "returning share"),
    "is_daily_use": ("日用品", "daily use"),
    "is_membership_candidate": ("会员候选", "membership candidate"),
    "channel": ("渠道", "channel"),
    "ad_campaign": ("广告计划", "ad campaign"),
    "impressions": ("曝光", "impressions"),
    "clicks": ("点击", "clicks"),
    "cost": ("花费", "cost"),
    "revenue": ("归因收入", "revenue"),
    "roas": ("ROAS", "ROAS"),
    "cpa": ("CPA", "CPA"),
    "new_customer_share": ("新客占比", "new-customer share"),
    "cohort": ("首购队列", "cohort"),
    "category": ("品类", "category"),
    "from_segment": ("原分群", "from"),
    "to_segment": ("现分群", "to"),
    "recency": ("最近购买(单位)", "recency (t_x)"),
    "age": ("客龄(单位)", "age (T)"),
    "mean_repeat_spend": ("复购平均金额", "mean repeat spend"),
    "p_alive": ("存活概率", "P(alive)"),
    "expected_purchases": ("预计购买次数", "expected purchases"),
    "expected_spend": ("预计客单金额", "expected spend"),
    "expected_value": ("预计价值", "expected value"),
    "day": ("日期", "day"),
    "cohort_size": ("队列人数", "cohort size"),
    # actions
    "plan_id": ("计划ID", "plan"),
    "as_of": ("计划日期", "plan date"),
    "action": ("动作", "action"),
    "action_name": ("动作名称", "action name"),
    "contact_channel": ("触达方式", "contact channel"),
    "priority": ("优先级", "priority"),
    "trigger": ("触发条件", "trigger"),
    "classes": ("适用分类", "classes"),
    "segments": ("适用分群", "segments"),
    "operators": ("负责人", "operators"),
    "operator": ("负责人", "operator"),
    "eligible": ("符合条件", "eligible"),
    "opted_out": ("已退订", "opted out"),
    "capped": ("超频次上限", "over the cap"),
    "in_period": ("本周期已触达", "already in a period"),
    "other_action": ("归入其他动作", "other action"),
    "planned": ("计划触达", "planned"),
    "treated": ("实验组", "treated"),
    "holdout": ("对照组", "holdout"),
    "is_holdout": ("对照组", "holdout"),
    "status": ("状态", "status"),
    "why": ("原因", "why"),
    "detail": ("时机", "when / what"),
    "message": ("话术", "message"),
    "phone": ("手机", "phone"),
    "email": ("邮箱", "email"),
    "address": ("地址", "address"),
    "group": ("组别", "group"),
    "converted": ("转化率", "conversion"),
    "orders_per_customer": ("人均订单", "orders per customer"),
    "revenue_per_customer": ("人均收入", "revenue per customer"),
    "metric": ("指标", "metric"),
    "lift": ("提升", "lift"),
    "ci_low": ("区间下限", "CI low"),
    "ci_high": ("区间上限", "CI high"),
    "relative_lift": ("相对提升", "relative lift"),
    "significant": ("显著", "significant"),
    "rough": ("样本偏少", "small groups"),
    "incremental_total": ("增量合计", "incremental total"),
    "actions": ("动作数", "actions"),
    # the operations report (report --period)
    "kpi_name": ("指标", "KPI"),
    "this_period": ("本期", "this period"),
    "previous_period": ("上期", "previous period"),
    "change": ("环比", "change"),
    "anomaly_days": ("异常天数", "anomaly days"),
    "date": ("日期", "date"),
    "scope": ("范围", "scope"),
    "actual": ("实际", "actual"),
    "expected": ("预期", "expected"),
    "direction": ("判断", "verdict"),
    "driver": ("主因", "driver"),
    "segment_name": ("分群", "segment"),
    "at_start": ("期初", "at start"),
    "at_end": ("期末", "at end"),
    "stayed": ("留存", "stayed"),
    "moved_in": ("迁入", "moved in"),
    "moved_out": ("迁出", "moved out"),
    "period_label": ("活动", "period"),
    "complete": ("观察期已满", "window complete"),
    "recommendation": ("建议", "recommendation"),
    "list_size": ("名单人数", "list size"),
    "lift_per_customer": ("人均提升", "lift per customer"),
    "expected_effect": ("预期增收", "expected effect"),
    "effect_low": ("下限", "low"),
    "effect_high": ("上限", "high"),
    "measured_in": ("测量自计划", "measured in plan"),
    # columns the dashboard showed raw before (issue #18's list, and the rest of the ADS)
    "segment_rank": ("分群排序", "segment order"),
    "is_buyer": ("是否购买", "buyer"),
    "count_pv": ("浏览次数", "page views"),
    "count_fav": ("收藏次数", "favourites"),
    "count_cart": ("加购次数", "add-to-carts"),
    "count_buy": ("购买次数", "purchases"),
    "last_active_date": ("最近活跃日", "last active"),
    "last_order_date": ("最近下单日", "last order"),
    "last_purchase_date": ("最近购买日", "last purchase"),
    "next_due_date": ("预计下次购买日", "next purchase due"),
    "days_until_due": ("距预计购买(天)", "days until due"),
    "purchase_days": ("购买天数", "purchase days"),
    "as_of_date": ("统计截止日", "as of"),
    "member_level": ("会员等级", "member level"),
    "register_date": ("注册日", "registered"),
    "previous_period_id": ("上一同类时期", "previous period of its kind"),
    "breakdown": ("维度", "breakdown"),
    "users_fav": ("收藏人数", "users who favourited"),
    "users_cart": ("加购人数", "users who carted"),
    "events_pv": ("浏览量", "page views"),
    "events_fav": ("收藏量", "favourites"),
    "events_cart": ("加购量", "add-to-carts"),
    "events_buy": ("购买量", "purchases"),
    "bounced": ("跳失人数", "bounced visitors"),
    "events_buy_per_pv": ("购买/浏览", "purchases per page view"),
    "unit": ("周期单位", "unit"),
    "periods_since": ("距首购期数", "periods since"),
    "rate": ("留存率", "retention rate"),
    "is_partial": ("未满期", "partial"),
    "level": ("层级", "level"),
    "key": ("类目/商品", "category or item"),
    "rate_rank": ("复购率排名", "rank by repurchase rate"),
    "attribution": ("归因", "attribution"),
    "ctr": ("点击率", "click-through rate"),
    "is_repeat_buyer": ("是否复购", "repeat buyer"),
    "events_per_day": ("日均行为数", "events per day"),
    "buys_per_day": ("日均购买数", "purchases per day"),
    "kpi": ("指标代码", "KPI code"),
    "low": ("区间下限", "interval low"),
    "high": ("区间上限", "interval high"),
    "is_anomaly": ("异常", "anomaly"),
    "note": ("说明", "note"),
    "day_kind": ("日子类型", "kind of day"),
    "volume": ("样本量", "volume"),
}

CLASSES: dict[str, tuple[str, str]] = {
    "core": ("核心复购客户", "core repeat buyers"),
    "low_repurchase": ("低复购客户", "low-repurchase buyers"),
    "intent": ("意向客户(收藏/加购未购买)", "intent (fav/cart, never bought)"),
    "browser": ("仅浏览", "browsers (page views only)"),
}


KINDS: dict[str, tuple[str, str]] = {
    "campaign": ("大促", "campaign"),
    "promo_day": ("促销日", "promo day"),
    "holiday": ("节假日", "holiday"),
    "daily": ("日常", "daily"),
}


CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "GBP": "£", "EUR": "€", "JPY": "JP¥", "HKD": "HK$",
                    "TWD": "NT$", "KRW": "₩", "SGD": "S$", "AUD": "A$", "CAD": "C$", "BRL": "R$"}


def money(value: float | None, lang: str, currency: str = "CNY", decimals: int = 0) -> str:
    """An amount in the shop's currency, the one formatter every output uses: its symbol
    (or code), thousands separators; 万 (10⁴) and 亿 (10⁸) only for CNY read in Chinese."""
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    if currency.upper() == "CNY" and lang == "zh":
        if abs(value) >= 1e8:
            return f"{symbol}{value / 1e8:,.2f}亿"
        if abs(value) >= 1e4:
            return f"{symbol}{value / 1e4:,.1f}万"
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{decimals}f}"


def pick(lang: str, zh: str, en: str) -> str:
    """The Chinese or the English wording of a title or message."""
    return zh if lang == "zh" else en


def kind_name(kind: str, lang: str) -> str:
    pair = KINDS.get(kind)
    return kind if pair is None else pair[0 if lang == "zh" else 1]


def heading(column: str, lang: str) -> str:
    pair = HEADINGS.get(column)
    return column if pair is None else pair[0 if lang == "zh" else 1]


def class_name(cls: str, lang: str) -> str:
    pair = CLASSES.get(cls)
    return cls if pair is None else pair[0 if lang == "zh" else 1]


# ---- monitoring (ads_monitor, custlens monitor, alerts) ---------------------------------
KPI_NAMES: dict[str, tuple[str, str]] = {
    "visitors": ("访客数", "visitors"),
    "buyers": ("买家数", "buyers"),
    "orders": ("订单数", "orders"),
    "gmv": ("成交额", "GMV"),
    "conversion": ("转化率", "conversion"),
    "avg_per_buyer": ("客单价", "spend per buyer"),
    "aov": ("笔单价", "average order value"),
    "bounce_rate": ("跳失率", "bounce rate"),
    "refund_rate": ("退款率", "refund rate"),
    "new_buyers": ("新买家数", "new buyers"),
    "returning_buyers": ("老买家数", "returning buyers"),
}
MONITOR_NOTES: dict[str, tuple[str, str]] = {
    "no_comparable_history": ("无可比历史(首次出现的此类日子)", "no comparable history yet"),
    "low_volume": ("量太小, 不作判断", "too little volume for a verdict"),
    "warming_up": ("历史不足, 不作判断", "not enough history yet"),
    "data_gap": ("数据缺口: 当日无数据", "data gap: nothing arrived that day"),
    "no_base": ("无基数(分母为0)", "no base (denominator 0)"),
    "partial_day": ("当日未结束或数据不全, 不作判断", "the day is not over (or its data is partial)"),
    "closed_day": ("休息日(该星期几通常无数据)", "closed (this weekday usually has no data)"),
}
DIRECTIONS: dict[str, tuple[str, str]] = {
    "up": ("高于预期", "above expected"),
    "down": ("低于预期", "below expected"),
    "gap": ("数据缺口", "data gap"),
}
SCOPE_KINDS: dict[str, tuple[str, str]] = {
    "all": ("全店", "whole shop"),
    "channel": ("渠道", "channel"),
    "class": ("分类", "class"),
    "category": ("类目", "category"),
}
RATE_KPIS = ("conversion", "bounce_rate", "refund_rate")
MONEY_KPIS = ("gmv", "avg_per_buyer", "aov")


def _of(table: dict[str, tuple[str, str]], key: str | None, lang: str) -> str:
    pair = table.get(key or "")
    return (key or "") if pair is None else pair[0 if lang == "zh" else 1]


def kpi_name(kpi: str, lang: str) -> str:
    return _of(KPI_NAMES, kpi, lang)


def monitor_note(note: str | None, lang: str) -> str:
    return _of(MONITOR_NOTES, note, lang)


def direction_name(direction: str | None, lang: str) -> str:
    return _of(DIRECTIONS, direction, lang)


def scope_name(scope: str | None, lang: str) -> str:
    """`channel=search_ad` → 渠道 search_ad; a class value by its class name."""
    if not scope:
        return ""
    kind, _, value = scope.partition("=")
    label = _of(SCOPE_KINDS, kind, lang)
    if not value:
        return label
    return f"{label} {class_name(value, lang) if kind == 'class' else value}"


def kpi_value(kpi: str, value: float | None, lang: str, currency: str = "CNY") -> str:
    """A KPI's figure as people read it: shares in %, money in the shop's currency."""
    if value is None:
        return "—"
    if kpi in RATE_KPIS:
        return f"{value:.2%}"
    if kpi in MONEY_KPIS:
        return money(value, lang, currency, 2 if kpi != "gmv" else 0)
    return f"{value:,.0f}"


def monitor_labels(row: dict[str, Any], lang: str, currency: str = "CNY") -> dict[str, Any]:
    """What a person reads beside an ads_monitor row's codes — KPI, scope, driver, verdict,
    note and the figures in their units — the one labelling the CLI, the API, the
    dashboard, the alerts and the operations report share."""
    kpi = row["kpi"]
    labels = {"kpi_name": kpi_name(kpi, lang), "scope_name": scope_name(row["scope"], lang),
              "driver_name": scope_name(row.get("driver"), lang) or None,
              "direction_name": direction_name(row.get("direction"), lang) or None,
              "note_name": monitor_note(row.get("note"), lang) or None}
    for k in ("actual", "expected", "low", "high"):
        labels[f"{k}_text"] = kpi_value(kpi, row.get(k), lang, currency)
    return labels
