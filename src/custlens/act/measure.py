"""Did a plan work? Planned (intent to treat) against the holdout, in a follow-up window.

Every planned customer counts in the treated group whether or not the message reached
them (intent to treat): that is the comparison the random holdout makes fair. Those a
receipt shows reached are reported apart — they chose to open, they are not a random
group, so their figures describe, they do not prove.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import polars as pl
import pyarrow as pa

from custlens.act.stats import difference
from custlens.engine.base import Engine
from custlens.warehouse.context import sql_text

METRICS = ("converted", "orders", "revenue")
# the groups table names each metric's mean for what it is
GROUP_COLUMNS = {"converted": "conversion", "orders": "orders_per_customer",
                 "revenue": "revenue_per_customer"}
REACHED = ("sent", "delivered", "responded")


@dataclass
class Measured:
    groups: pa.Table  # action × group: customers and the mean of each metric
    lifts: pa.Table  # action × metric: treated, holdout, lift and its interval
    notes: dict[str, Any]


def outcomes(engine: Engine, plan_id: str, days: int) -> pl.DataFrame:
    """Per planned customer: paid orders and revenue from the plan date for `days` days."""
    return pl.DataFrame(engine.query(f"""
        WITH plan AS (SELECT * FROM ads_action_plan WHERE plan_id = {sql_text(plan_id)})
        SELECT p.action, p.user_id, p.is_holdout, p.status,
               count(o.order_id) AS orders, coalesce(sum(o.amount), 0) AS revenue
        FROM plan p
        LEFT JOIN dwd_orders o ON o.user_id = p.user_id AND o.is_paid
             AND o.order_date >= p.as_of AND o.order_date < CAST(p.as_of + INTERVAL {int(days)} DAY AS DATE)
        GROUP BY p.action, p.user_id, p.is_holdout, p.status""")).with_columns(
        converted=(pl.col("orders") > 0).cast(pl.Float64),
        orders=pl.col("orders").cast(pl.Float64), revenue=pl.col("revenue").cast(pl.Float64))


def _mean(column: pl.Series) -> float:
    """A numeric column's mean as a float (polars types the mean of any column widely)."""
    return float(cast(float, column.mean()))


def _groups(frame: pl.DataFrame, action: str) -> list[dict[str, Any]]:
    parts = {"treated": frame.filter(~pl.col("is_holdout")),
             "holdout": frame.filter(pl.col("is_holdout")),
             "reached": frame.filter(~pl.col("is_holdout") & pl.col("status").is_in(REACHED))}
    return [{"action": action, "group": name, "customers": part.height,
             **{GROUP_COLUMNS[m]: (_mean(part[m]) if part.height else None) for m in METRICS}}
            for name, part in parts.items()]


def _lifts(frame: pl.DataFrame, action: str) -> list[dict[str, Any]]:
    treated = frame.filter(~pl.col("is_holdout"))
    held = frame.filter(pl.col("is_holdout"))
    out = []
    for metric in METRICS:
        d = difference(treated[metric].to_numpy(), held[metric].to_numpy())
        out.append({"action": action, "metric": metric, "treated": d and d.treated_mean,
                    "holdout": d and d.control_mean, "lift": d and d.lift,
                    "ci_low": d and d.low, "ci_high": d and d.high,
                    "relative_lift": d and d.relative,
                    "significant": None if d is None else d.significant,
                    "rough": None if d is None else d.small,
                    "incremental_total": d and d.lift * treated.height})
    return out


def measure(engine: Engine, plan_id: str, as_of: dt.date, days: int) -> Measured:
    frame = outcomes(engine, plan_id, days)
    groups: list[dict[str, Any]] = []
    lifts: list[dict[str, Any]] = []
    for action in sorted(frame["action"].unique().to_list()):
        part = frame.filter(pl.col("action") == action)
        groups += _groups(part, action)
        lifts += _lifts(part, action)
    if frame["action"].n_unique() > 1:
        groups += _groups(frame, "(all)")
        lifts += _lifts(frame, "(all)")
    last = engine.query("SELECT max(order_date) AS d FROM dwd_orders").column(0)[0].as_py()
    end = as_of + dt.timedelta(days=days)
    contacted = engine.query(f"""SELECT count(*) AS n FROM ads_action_receipts
        WHERE plan_id = {sql_text(plan_id)} AND to_holdout AND outcome <> 'failed'""").column(0)[0].as_py()
    notes = {"plan_id": plan_id, "window_start": as_of.isoformat(),
             "window_end": (end - dt.timedelta(days=1)).isoformat(),
             "orders_until": last.isoformat() if last else None,
             "complete": bool(last and last >= end - dt.timedelta(days=1)),
             "holdout_contacted": int(contacted), "level": 0.95}
    lift_schema = pa.schema([("action", pa.string()), ("metric", pa.string())]
                            + [(c, pa.float64()) for c in ("treated", "holdout", "lift", "ci_low",
                                                           "ci_high", "relative_lift")]
                            + [("significant", pa.bool_()), ("rough", pa.bool_()),
                               ("incremental_total", pa.float64())])
    group_schema = pa.schema([("action", pa.string()), ("group", pa.string()),
                              ("customers", pa.int64())]
                             + [(GROUP_COLUMNS[m], pa.float64()) for m in METRICS])
    return Measured(pa.Table.from_pylist(groups, schema=group_schema),
                    pa.Table.from_pylist(lifts, schema=lift_schema), notes)
