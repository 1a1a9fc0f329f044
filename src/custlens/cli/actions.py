"""`custlens actions …`: the playbook, plans and their lists, receipts, opt-outs, lift."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from custlens import console, output
from custlens.cli.common import (
    STATE,
    AsOfOpt,
    FormatOpt,
    MapOpt,
    OutOpt,
    TzOpt,
    ValueOpt,
    audit_export,
    mapping,
    parse_date,
    report_imports,
)
from custlens.errors import CustlensError
from custlens.i18n import pick
from custlens.masking import mask_table
from custlens.output import Format

actions_app = typer.Typer(help="Act on the analysis: plan contacts by the playbook, export the "
                          "lists, record what happened, measure the lift against the holdout.",
                          no_args_is_help=True)
PlanArg = Annotated[str, typer.Argument(help="a plan id, or latest")]



@actions_app.command("playbook")
def playbook_cmd(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """The playbook in effect: each action's trigger, audience, channel, priority, holdout."""
    ws = STATE.workspace()
    default_share = ws.settings.get("actions.holdout")
    rows = [{"priority": a.priority, "action": a.name, "action_name": a.display(ws.settings.lang),
             "trigger": a.trigger, "days": a.days, "classes": ", ".join(a.classes) or "*",
             "segments": ", ".join(a.segments) or "*", "contact_channel": a.contact_channel,
             "holdout": default_share if a.holdout is None else a.holdout,
             "operators": ", ".join(a.operators or ws.settings.get("actions.operators")) or ""}
            for a in ws.playbook()]
    output.write(pa.Table.from_pylist(rows), fmt, out, ws.settings.lang, percent=("holdout",))


@actions_app.command("plan")
def plan_cmd(
    as_of: AsOfOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="replace this date's earlier plan made on other inputs")] = False,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Plan the contacts for a date: who gets which action, and who is held out."""
    ws = STATE.workspace()
    plan = ws.plan_actions(parse_date(as_of, "--as-of"), replace)
    lang = ws.settings.lang
    if plan.created:
        console.info(f"plan {plan.plan_id} for {plan.as_of} recorded (batch {plan.batch.batch_id})")
    else:
        console.info(f"plan {plan.plan_id} for {plan.as_of} was made before on the same inputs; unchanged")
    console.info(f"lists: custlens actions list {plan.plan_id} --format xlsx --out lists.xlsx")
    output.write(plan.summary, fmt, out, lang,
                 pick(lang, f"触达计划 {plan.plan_id}（{plan.as_of}）", f"Plan {plan.plan_id} ({plan.as_of})"))


@actions_app.command("list")
def list_cmd(
    plan: PlanArg = "latest",
    action: Annotated[str | None, typer.Option("--action", help="only this action")] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="only this operator's contacts")] = None,
    holdout: Annotated[bool, typer.Option("--holdout", help="include the holdout (marked; not to contact)")] = False,
    show_personal: Annotated[bool, typer.Option("--show-personal", help="contact fields unmasked")] = False,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """A plan's target lists: customer, why, message, contact fields (masked unless asked)."""
    ws = STATE.workspace()
    table = mask_table(ws.action_list(plan, action, operator, holdout,
                                      show_personal=show_personal), show_personal)
    output.write(table, fmt, out, ws.settings.lang)
    if show_personal and table.num_rows:
        audit_export(ws, f"actions {plan} {action or '*'} {operator or '*'}", table, fmt)
    if out:
        console.info(f"wrote {table.num_rows:,} contacts to {out}")


@actions_app.command("history")
def history_cmd(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Every plan recorded: for which date, when it was made, how many treated and held out."""
    ws = STATE.workspace()
    output.write(ws.action_plans(), fmt, out, ws.settings.lang)


@actions_app.command("show")
def show_cmd(plan: PlanArg = "latest", fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """A recorded plan's counts per action (eligible → opted out → capped → … → holdout)."""
    ws = STATE.workspace()
    batch, summary = ws.plan_summary(plan)
    output.write(summary, fmt, out, ws.settings.lang, batch.options["plan_id"])


@actions_app.command("record")
def record_cmd(
    file: Path,
    map: MapOpt = None, value: ValueOpt = None, tz: TzOpt = None,
) -> None:
    """Import send receipts and coupon redemptions (CSV/XLSX/JSON): planned → sent → responded."""
    ws = STATE.workspace()
    opts = mapping(map, value)
    if tz:
        opts["tz"] = tz
    report_imports(ws.record_receipts(file, **opts))


@actions_app.command("optout")
def optout_cmd(
    users: Annotated[list[str] | None, typer.Argument(help="customer ids")] = None,
    channel: Annotated[str, typer.Option("--channel", help="all, sms, customer_service, coupon, gift or email")] = "all",
    reason: Annotated[str | None, typer.Option("--reason", help="why (kept with the record)")] = None,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="the customer opts back in")] = False,
    file: Annotated[Path | None, typer.Option("--file", help="a file of opt-outs (user_id, contact_channel, ts[, reason])")] = None,
) -> None:
    """Record do-not-contact requests (退订); every later plan honours them."""
    ws = STATE.workspace()
    if file:
        report_imports(ws.import_file("optouts", file))
    if users:
        batch = ws.opt_out(list(users), channel, reason, withdraw)
        verb = "opted back in to" if withdraw else "opted out of"
        console.info(f"{len(users):,} customer(s) {verb} {channel} (batch {batch.batch_id})")
    if not users and not file:
        raise CustlensError("name customer ids or --file FILE")


@actions_app.command("measure")
def measure_cmd(
    plan: PlanArg = "latest",
    days: Annotated[int | None, typer.Option("--days", help="follow-up window (default actions.follow_up_days)")] = None,
    fmt: FormatOpt = Format.table, out: OutOpt = None,
) -> None:
    """Did it work? Planned (intent to treat) vs holdout: conversion, orders, revenue, 95% CI."""
    ws = STATE.workspace()
    result = ws.measure(plan, days)
    notes, lang = result.notes, ws.settings.lang
    if not notes["complete"]:
        console.warn(f"orders reach {notes['orders_until']} only: the window to {notes['window_end']} "
                     "is not over; measure again later")
    if notes["holdout_contacted"]:
        console.warn(f"{notes['holdout_contacted']} receipts show holdout customers were contacted: "
                     "the comparison understates the lift")
    if fmt is Format.json:
        text = json.dumps({"notes": notes, "groups": result.groups.to_pylist(),
                           "lifts": result.lifts.to_pylist()}, ensure_ascii=False, indent=1,
                          default=str)
        (out.write_text(text + "\n", encoding="utf-8") if out else sys.stdout.write(text + "\n"))
        return
    if fmt is not Format.table:
        output.write(result.lifts, fmt, out, lang)
        return
    window = f"{notes['window_start']} … {notes['window_end']}"
    output.write(result.groups, fmt, out, lang, pick(lang, f"各组结果（{window}）", f"Groups ({window})"),
                 percent=("conversion",))
    output.write(result.lifts, fmt, None if out is None else out.with_suffix(".lift.txt"), lang,
                 pick(lang, "提升（计划组 − 对照组，95% 置信区间）",
                       "Lift (planned − holdout, 95% interval)"))
