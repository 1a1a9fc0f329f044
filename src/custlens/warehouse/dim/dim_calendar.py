"""dim_calendar — one row per local date, covering every whole year the data touches."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from custlens import console
from custlens.analysis import calendar
from custlens.warehouse.context import BuildContext
from custlens.warehouse.model import Column, Model


def run(ctx: BuildContext) -> pa.Table:
    span = ctx.engine.query(
        "SELECT least((SELECT min(dt) FROM dwd_events), (SELECT min(order_date) FROM dwd_orders)),"
        " greatest((SELECT max(dt) FROM dwd_events), (SELECT max(order_date) FROM dwd_orders))"
    )
    first, last = (span.column(i)[0].as_py() for i in range(2))
    today = dt.date.today()
    first, last = first or today, last or today
    start, end = dt.date(first.year, 1, 1), dt.date(last.year, 12, 31)
    table = calendar.calendar_table(start, end, ctx.param("calendar"))
    unknown = unknown_holiday_years(table)
    if unknown:
        ctx.notes["dim_calendar"] = {"holidays_unknown": unknown}
        years = ", ".join(map(str, unknown))
        console.warn(f"public holidays are unknown for {years}: those days count as daily or "
                     "weekend days, and the monitor judges them as such. List them in "
                     "[calendar] holidays (README: Calendar)")
    return table


def unknown_holiday_years(table: pa.Table) -> list[int]:
    """Years of the table in which not one day's holidays are known."""
    rows = zip(table.column("date").to_pylist(), table.column("holiday_known").to_pylist(),
               strict=True)
    years: dict[int, bool] = {}
    for day, known in rows:
        years[day.year] = years.get(day.year, False) or bool(known)
    return sorted(y for y, known in years.items() if not known)


MODEL = Model(
    name="dim_calendar",
    grain="one row per local date",
    description="Campaign periods (with warm-up and peak), promo days, public holidays "
    "(chinese-calendar's and [calendar] holidays) and make-up working days (调休), else daily.",
    depends=("dwd_events", "dwd_orders"),
    run=run,
    params=("calendar",),
    helpers=(calendar,),
    columns=(
        Column("date", "DATE", not_null=True, unique=True),
        Column("kind", "VARCHAR", not_null=True,
               accepted=("campaign", "promo_day", "holiday", "daily")),
        Column("period_name", "VARCHAR", "双十一, 618, 双十二, 11.11 …"),
        Column("period_name_en", "VARCHAR"),
        Column("phase", "VARCHAR", "warmup or peak for campaigns", accepted=("warmup", "peak")),
        Column("is_holiday", "BOOLEAN", not_null=True),
        Column("is_makeup_workday", "BOOLEAN", "a weekend day that is a working day (调休)",
               not_null=True),
        Column("holiday_known", "BOOLEAN", "false in a year neither chinese-calendar nor config knows",
               not_null=True),
        Column("weekday", "BIGINT", "1 = Monday … 7 = Sunday", not_null=True),
        Column("is_weekend", "BOOLEAN", not_null=True),
    ),
)
