"""A plan's target lists as operators work them: why each customer, the message, and
contact fields (masked by the caller unless the viewer may see them)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from custlens.act.playbook import Action
from custlens.analysis.segments import SEGMENTS
from custlens.engine.base import Engine
from custlens.i18n import class_name, money
from custlens.masking import mask_value
from custlens.warehouse.context import sql_text

SEGMENT_EN = dict(SEGMENTS.values())
CONTACT_FIELDS = ("phone", "email", "address")
# triggers whose `detail` is derived from personal data (the next birthday is the
# birthday's month and day): masked like the field itself unless the viewer may see it
PERSONAL_DETAIL = {"birthday": "birthday"}


def _why(row: dict[str, Any], lang: str, currency: str) -> str:
    seg = row["segment"]
    who = (seg if lang == "zh" else SEGMENT_EN.get(seg, seg)) if seg else class_name(row["class"] or "", lang)
    parts = [who]
    if row["frequency"] is not None:
        days = "天" if lang == "zh" else "d"
        parts.append(f"R {row['recency_days']}{days} F {row['frequency']} "
                     f"M {money(row['monetary'], 'en', currency)}")
    if row["detail"]:
        parts.append(row["detail"])
    return " · ".join(parts)


def _opted_out(engine: Engine) -> set[tuple[str, str]]:
    """(customer, channel) pairs not to contact now — an opt-out after the plan counts."""
    from custlens.act.plans import optouts

    return set(optouts(engine).select("user_id", "contact_channel").iter_rows())


def listing(engine: Engine, plan_id: str, actions: list[Action], lang: str,
            action: str | None = None, operator: str | None = None,
            holdout: bool = False, currency: str = "CNY", show_personal: bool = True) -> pa.Table:
    """Treated contacts of a plan (holdout too when asked), by priority then customer.
    Without `show_personal`, a detail derived from personal data (a birthday) is masked
    before it is written into the reason and the message; contact fields are the caller's
    to mask (mask_table)."""
    where = [f"p.plan_id = {sql_text(plan_id)}"]
    if action:
        where.append(f"p.action = {sql_text(action)}")
    if operator:
        where.append(f"p.operator = {sql_text(operator)}")
    if not holdout:
        where.append("NOT p.is_holdout")
    rows = engine.query(f"""
        SELECT p.plan_id, p.as_of, p.action, p.contact_channel, p.operator, p.user_id,
               p.is_holdout, p.status, p.segment, p.class, p.recency_days, p.frequency,
               p.monetary, p.detail, c.phone, c.email, c.address
        FROM ads_action_plan p LEFT JOIN dwd_customers c USING (user_id)
        WHERE {' AND '.join(where)}
        ORDER BY p.priority, p.action, p.user_id""").to_pylist()
    by_name = {a.name: a for a in actions}
    stopped = _opted_out(engine)
    out = []
    for row in rows:
        if {(row["user_id"], "all"), (row["user_id"], row["contact_channel"])} & stopped:
            continue  # opted out since the plan was made: not on the list any more
        a = by_name.get(row["action"])
        personal = PERSONAL_DETAIL.get(a.trigger) if a else None
        if personal and not show_personal and row["detail"]:
            row["detail"] = mask_value(personal, row["detail"])
        seg = row["segment"]
        values = {"user_id": row["user_id"], "detail": row["detail"] or "",
                  "segment": seg if lang == "zh" or not seg else SEGMENT_EN.get(seg, seg),
                  "class": class_name(row["class"] or "", lang)}
        out.append({**{k: row[k] for k in ("plan_id", "as_of", "action")},
                    "action_name": a.display(lang) if a else row["action"],
                    **{k: row[k] for k in ("contact_channel", "operator", "user_id")},
                    **({"is_holdout": row["is_holdout"]} if holdout else {}),
                    "status": row["status"], "detail": row["detail"], "why": _why(row, lang, currency),
                    "message": a.message(lang, **values) if a else "",
                    **{k: row[k] for k in CONTACT_FIELDS}})
    if not out:
        names = ["plan_id", "as_of", "action", "action_name", "contact_channel", "operator",
                 "user_id", *(["is_holdout"] if holdout else []), "status", "detail", "why", "message",
                 *CONTACT_FIELDS]
        return pa.table({n: pa.array([], pa.bool_() if n == "is_holdout" else
                                     pa.date32() if n == "as_of" else pa.string()) for n in names})
    return pa.Table.from_pylist(out)
