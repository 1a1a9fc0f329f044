"""A plan: for one date, every action's customers, with a holdout, recorded for good.

Steps, in this order, each counted per action so the summary says who went where:
eligible (trigger × audience) → minus opted out of the action's contact channel (or of
all) → minus over the frequency cap of that channel (treated contacts in previous plans
within `cap_days`) → minus already in a previous plan's period (one action per customer
per period) → one action per customer by priority → holdout drawn → operators assigned.

The plan is stored as one batch of the lake table `action_plan` (so `custlens batches
undo` can withdraw it and `forget` reaches it); planning the same date with the same
inputs again returns the same plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from custlens import schema
from custlens.act import playbook, targets
from custlens.act.playbook import Action
from custlens.engine.base import Engine
from custlens.errors import CustlensError
from custlens.lake import Batch, Lake
from custlens.warehouse.conventions import LATEST_FIRST, latest

TABLE = "action_plan"
COUNTS = ("eligible", "opted_out", "capped", "in_period", "other_action", "planned", "treated",
          "holdout")


@dataclass
class Plan:
    plan_id: str
    as_of: dt.date
    batch: Batch
    created: bool
    summary: pa.Table  # one row per action: its counts


def unit_draw(*parts: str) -> float:
    """A uniform number in [0, 1) from text: the same parts give the same draw anywhere."""
    digest = hashlib.blake2b("|".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def is_holdout(seed: int, plan_date: dt.date, action: str, user_id: str, share: float) -> bool:
    return unit_draw(str(seed), plan_date.isoformat(), action, user_id) < share


def _operator(operators: tuple[str, ...], action: str, user_id: str) -> str | None:
    if not operators:
        return None
    return operators[int(unit_draw("operator", action, user_id) * len(operators))]


# ---- what earlier plans, opt-outs and receipts say ------------------------------------------
def optouts(engine: Engine) -> pl.DataFrame:
    """(user_id, contact_channel) pairs not to contact; 'all' means every channel. An
    `unsubscribed` receipt counts as an opt-out of the channel it came through."""
    return pl.DataFrame(engine.query(f"""
        WITH latest AS (
            SELECT user_id, contact_channel, coalesce(withdrawn, false) AS withdrawn
            FROM ods_optouts
            {latest("optouts", order="ts DESC, " + LATEST_FIRST)})
        SELECT user_id, contact_channel FROM latest WHERE NOT withdrawn
        UNION
        SELECT r.user_id, coalesce(r.contact_channel, p.contact_channel, 'all')
        FROM ods_action_receipts r
        LEFT JOIN ods_action_plan p ON p.plan_id = r.plan_id AND p.user_id = r.user_id
             AND (r.action IS NULL OR p.action = r.action)
        WHERE r.outcome = 'unsubscribed'"""))


def _earlier(engine: Engine, as_of: dt.date) -> pl.DataFrame:
    """Rows of plans made for earlier dates: user, channel, plan date, period end, holdout."""
    return pl.DataFrame(engine.query(f"""
        SELECT user_id, contact_channel, as_of, window_end, is_holdout FROM ods_action_plan
        WHERE as_of < DATE '{as_of.isoformat()}'"""))


# ---- the steps --------------------------------------------------------------------------------
def _eligible(engine: Engine, actions: list[Action], as_of: dt.date, calendar_config: dict) -> pl.DataFrame:
    frames = []
    for rank, action in enumerate(actions):
        found = pl.DataFrame(targets.candidates(engine, action, as_of, calendar_config))
        frames.append(found.unique("user_id", keep="first").with_columns(
            action=pl.lit(action.name), contact_channel=pl.lit(action.contact_channel),
            priority=pl.lit(action.priority, pl.Int64), rank=pl.lit(rank)))
    return pl.concat(frames) if frames else pl.DataFrame()


def _select(eligible: pl.DataFrame, optouts: pl.DataFrame, earlier: pl.DataFrame, as_of: dt.date,
            rules: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, dict[str, int]]]:
    counts: dict[str, dict[str, int]] = {}

    def count(stage: str, frame: pl.DataFrame) -> None:
        for action, n in frame.group_by("action").len().iter_rows():
            counts.setdefault(action, {})[stage] = n

    count("eligible", eligible)
    everywhere = optouts.filter(pl.col("contact_channel") == "all").select("user_id")
    by_channel = optouts.filter(pl.col("contact_channel") != "all")
    out = eligible.join(everywhere, on="user_id", how="anti") \
        .join(by_channel, on=["user_id", "contact_channel"], how="anti")
    count("opted_out", eligible.join(out, on=["user_id", "action"], how="anti"))

    since = as_of - dt.timedelta(days=int(rules["cap_days"]))
    caps = pl.DataFrame({"contact_channel": list(rules["caps"]),
                         "cap": [int(v) for v in rules["caps"].values()]},
                        schema={"contact_channel": pl.Utf8, "cap": pl.Int64})
    recent = earlier.filter(~pl.col("is_holdout") & (pl.col("as_of") >= since)) \
        .group_by("user_id", "contact_channel").len("contacts")
    full = recent.join(caps, on="contact_channel").filter(pl.col("contacts") >= pl.col("cap"))
    capped = out.join(full.select("user_id", "contact_channel"), on=["user_id", "contact_channel"],
                      how="anti")
    count("capped", out.join(capped, on=["user_id", "action"], how="anti"))

    busy = earlier.filter(pl.col("window_end") > as_of).select("user_id").unique()
    free = capped.join(busy, on="user_id", how="anti")
    count("in_period", capped.join(free, on=["user_id", "action"], how="anti"))

    chosen = free.sort("user_id", "priority", "rank").unique("user_id", keep="first")
    count("other_action", free.join(chosen, on=["user_id", "action"], how="anti"))
    count("planned", chosen)
    return chosen, counts


def _finish(chosen: pl.DataFrame, actions: list[Action], plan_date: dt.date,
            rules: dict[str, Any], engine: Engine) -> pl.DataFrame:
    by_name = {a.name: a for a in actions}
    seed, default_share = int(rules["seed"]), float(rules["holdout"])
    operators = tuple(rules.get("operators") or ())
    period_end = plan_date + dt.timedelta(days=int(rules["period_days"]))
    holdout, operator = [], []
    for action, user in chosen.select("action", "user_id").iter_rows():
        a = by_name[action]
        share = default_share if a.holdout is None else a.holdout
        held = is_holdout(seed, plan_date, action, user, share)
        holdout.append(held)
        operator.append(None if held else _operator(a.operators or operators, action, user))
    people = pl.DataFrame(engine.query("""
        SELECT c.user_id, c.segment, c.class, r.recency_days, r.frequency, r.monetary
        FROM ads_customer_class c LEFT JOIN ads_rfm r USING (user_id)"""))
    return chosen.with_columns(
        is_holdout=pl.Series(holdout, dtype=pl.Boolean),
        operator=pl.Series(operator, dtype=pl.Utf8),
        as_of=pl.lit(plan_date), window_end=pl.lit(period_end),
    ).join(people, on="user_id", how="left")


def _summary(actions: list[Action], counts: dict[str, dict[str, int]], rows: pl.DataFrame,
             lang: str) -> pa.Table:
    held = dict(rows.filter(pl.col("is_holdout")).group_by("action").len().iter_rows())
    out = []
    for a in actions:
        c = counts.get(a.name, {})
        planned = c.get("planned", 0)
        out.append({"action": a.name, "action_name": a.display(lang),
                    "contact_channel": a.contact_channel, "priority": a.priority,
                    **{k: c.get(k, 0) for k in COUNTS[:-2]},
                    "treated": planned - held.get(a.name, 0), "holdout": held.get(a.name, 0)})
    return pa.Table.from_pylist(out)


# ---- making and reading plans -------------------------------------------------------------------
def make(lake: Lake, engine: Engine, settings: Any, as_of: dt.date, replace: bool = False) -> Plan:
    """Plan `as_of` (the warehouse must be built at that date); recorded in the lake."""
    rules = dict(settings.get("actions"))
    actions = playbook.load(rules)
    eligible = _eligible(engine, actions, as_of, {**dict(settings.get("calendar")),
                                                  "country": settings.get("shop.country")})
    if eligible.is_empty():
        eligible = pl.DataFrame(schema={"user_id": pl.Utf8, "detail": pl.Utf8, "action": pl.Utf8,
                                        "contact_channel": pl.Utf8, "priority": pl.Int64,
                                        "rank": pl.Int32})
    chosen, counts = _select(eligible, optouts(engine), _earlier(engine, as_of), as_of, rules)
    rows = _finish(chosen, actions, as_of, rules, engine).sort("priority", "action", "user_id")
    digest = hashlib.sha256(rows.drop("rank").write_csv().encode()).hexdigest()
    plan_id = f"{as_of:%Y%m%d}-{digest[:6]}"
    stored = pa.Table.from_pylist(
        rows.with_columns(plan_id=pl.lit(plan_id)).to_dicts(), schema=schema.spec(TABLE).schema)
    summary = _summary(actions, counts, rows, settings.lang)
    same_day = [b for b in lake.batches(TABLE) if b.options.get("as_of") == as_of.isoformat()
                and b.options.get("plan_id") != plan_id]
    if same_day and not replace:
        raise CustlensError(
            f"{as_of} already has plan {same_day[-1].options['plan_id']} and the inputs changed "
            "since", hint="custlens actions plan --replace makes a new one in its place "
                          "(receipts recorded against the old plan stay unmatched)")
    options = {"kind": "plan", "plan_id": plan_id, "as_of": as_of.isoformat(),
               "summary": summary.to_pylist(),
               "rules": {k: v for k, v in rules.items() if k != "playbook"}}
    batch, created = lake.commit_arrow(TABLE, stored, f"plan {plan_id}", digest, options)
    if created:
        for old in same_day:
            lake.undo_batch(old.batch_id)
    return Plan(plan_id, as_of, batch, created, pa.Table.from_pylist(batch.options["summary"]))


def history(lake: Lake) -> pa.Table:
    """Every plan recorded, oldest first: when it was made, for which date, its counts."""
    rows = []
    for b in lake.batches(TABLE):
        s = b.options.get("summary", [])
        rows.append({"plan_id": b.options["plan_id"], "as_of": dt.date.fromisoformat(b.options["as_of"]),
                     "created": b.created[:19].replace("T", " "), "actions": sum(1 for r in s if r["planned"]),
                     "treated": sum(r["treated"] for r in s), "holdout": sum(r["holdout"] for r in s),
                     "batch_id": b.batch_id})
    cols = pa.schema([("plan_id", pa.string()), ("as_of", pa.date32()), ("created", pa.string()),
                      ("actions", pa.int64()), ("treated", pa.int64()), ("holdout", pa.int64()),
                      ("batch_id", pa.string())])
    return pa.Table.from_pylist(rows, schema=cols)


def find(lake: Lake, plan: str) -> Batch:
    """A plan by id, or `latest` (the newest plan date)."""
    plans = lake.batches(TABLE)
    if not plans:
        raise CustlensError("no plan yet", hint="custlens actions plan --as-of DATE")
    if plan == "latest":
        return max(plans, key=lambda b: (b.options["as_of"], b.created))
    for b in plans:
        if b.options.get("plan_id") == plan:
            return b
    known = ", ".join(b.options["plan_id"] for b in plans[-5:])
    raise CustlensError(f"no plan {plan!r}", hint=f"recent plans: {known}; or say latest")


def summary_of(batch: Batch) -> pa.Table:
    return pa.Table.from_pylist(batch.options.get("summary", []))


