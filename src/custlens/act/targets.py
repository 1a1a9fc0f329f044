"""Who an action reaches on a plan date: its trigger's population within its audience.

Each trigger is a query over warehouse tables built at the plan date (or, for birthdays
and campaigns, a calendar computed here), returning `user_id` and a short `detail` that
says why: the birthday, the campaign and its start, the due date, the carted items, the
membership product.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from custlens.act.playbook import Action
from custlens.analysis import calendar, lunar
from custlens.engine.base import Engine
from custlens.warehouse.context import sql_date, sql_text

# the warehouse tables a plan reads, built at the plan date first
NEEDS = ("ads_customer_class", "ads_rfm", "ads_purchase_due", "ads_membership_invites",
         "dwd_customers", "dwd_events")
COLUMNS = pa.schema([("user_id", pa.string()), ("detail", pa.string())])


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(sql_text(v) for v in values)})" if values else "true"


def audience_sql(action: Action) -> str:
    """The action's audience: customers of its classes and segments (all when unset)."""
    return (f"SELECT user_id FROM ads_customer_class WHERE {_in('class', action.classes)} "
            f"AND {_in('segment', action.segments)}")


def next_campaign(as_of: dt.date, days: int, config: dict[str, Any]) -> tuple[str, dt.date] | None:
    """The first campaign whose first day (warm-up, else peak) lies in [as_of, as_of + days]."""
    shop = calendar.ShopCalendar.from_config(config, config.get("country", "CN"))
    for offset in range(days + 1):
        day = as_of + dt.timedelta(days=offset)
        today = shop.classify(day)
        before = shop.classify(day - dt.timedelta(days=1))
        if today["kind"] == "campaign" and before.get("period_name") != today["period_name"]:
            return today["period_name"], day
    return None


def _birthdays(engine: Engine, action: Action, as_of: dt.date) -> pa.Table:
    rows = engine.query(f"""
        SELECT c.user_id, c.birthday, c.birthday_is_lunar FROM dwd_customers c
        WHERE c.birthday IS NOT NULL AND c.user_id IN ({audience_sql(action)})""").to_pylist()
    end = as_of + dt.timedelta(days=action.days)
    upcoming: dict[tuple[int, int, bool], dt.date | None] = {}
    out: list[dict[str, Any]] = []
    for row in rows:
        day = row["birthday"]
        key = (day.month, day.day, bool(row["birthday_is_lunar"]))
        if key not in upcoming:
            upcoming[key] = lunar.next_birthday(day, key[2], as_of)
        when = upcoming[key]
        if when is not None and when < end:
            out.append({"user_id": row["user_id"],
                        "detail": when.isoformat() + (" (农历)" if key[2] else "")})
    return pa.Table.from_pylist(out, schema=COLUMNS)


def _campaign(engine: Engine, action: Action, as_of: dt.date, calendar_config: dict) -> pa.Table:
    found = next_campaign(as_of, action.days, calendar_config)
    if found is None:
        return COLUMNS.empty_table()
    name, start = found
    return engine.query(f"SELECT user_id, {sql_text(f'{name} {start.isoformat()}')} AS detail "
                        f"FROM ({audience_sql(action)}) a")


def _sql(action: Action, as_of: dt.date) -> str:
    d, day = action.days, sql_date(as_of)
    audience = audience_sql(action)
    if action.trigger == "always":
        return f"SELECT user_id, CAST(NULL AS VARCHAR) AS detail FROM ({audience}) a"
    if action.trigger == "due":
        return f"""SELECT user_id, CAST(next_due_date AS VARCHAR) AS detail FROM ads_purchase_due
                   WHERE days_until_due BETWEEN -{d} AND {d} AND user_id IN ({audience})"""
    if action.trigger == "membership":
        return f"""SELECT user_id, min(key) AS detail FROM (
                     SELECT user_id, key, orders, max(orders) OVER (PARTITION BY user_id) AS top
                     FROM ads_membership_invites WHERE user_id IN ({audience})) m
                   WHERE orders = top GROUP BY user_id"""
    if action.trigger == "carted":
        return f"""WITH wanted AS (
                     SELECT user_id, item_id, max(ts) AS last_ts FROM dwd_events
                     WHERE behavior IN ('cart', 'fav') AND item_id IS NOT NULL
                       AND dt >= CAST({day} - INTERVAL {d} DAY AS DATE) AND dt < {day}
                     GROUP BY user_id, item_id),
                   bought AS (
                     SELECT user_id, item_id, max(ts) AS buy_ts FROM dwd_events
                     WHERE behavior = 'buy' AND dt >= CAST({day} - INTERVAL {d} DAY AS DATE)
                       AND dt < {day} GROUP BY user_id, item_id),
                   open_items AS (
                     SELECT w.user_id, w.item_id, w.last_ts FROM wanted w
                     LEFT JOIN bought b USING (user_id, item_id)
                     WHERE (b.buy_ts IS NULL OR b.buy_ts < w.last_ts)
                       AND w.user_id IN ({audience})
                     QUALIFY row_number() OVER (PARTITION BY w.user_id
                                                ORDER BY w.last_ts DESC, w.item_id) <= 3)
                   SELECT user_id, string_agg(item_id, ', ' ORDER BY last_ts DESC, item_id) AS detail
                   FROM open_items GROUP BY user_id"""
    raise AssertionError(action.trigger)


def candidates(engine: Engine, action: Action, as_of: dt.date, calendar_config: dict) -> pa.Table:
    """user_id, detail: everyone the action's trigger and audience select on the plan date."""
    if action.trigger == "birthday":
        table = _birthdays(engine, action, as_of)
    elif action.trigger == "before_campaign":
        table = _campaign(engine, action, as_of, calendar_config)
    else:
        table = engine.query(_sql(action, as_of))
    return table.select(["user_id", "detail"]).cast(COLUMNS)
