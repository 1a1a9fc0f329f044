"""What a build knows: settings, the engine, and the analysis date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from custlens.config import Settings
from custlens.engine.base import Engine
from custlens.errors import CustlensError
from custlens.lake import Lake
from custlens.sqltext import literal
from custlens.warehouse.conventions import LATEST_PREFIX, latest


def sql_date(value: dt.date | None) -> str:
    return f"DATE '{value.isoformat()}'" if value else "NULL"


def sql_text(value: str) -> str:
    return literal(str(value))


@dataclass
class BuildContext:
    lake: Lake
    settings: Settings
    engine: Engine
    as_of_arg: dt.date | None = None
    since: dt.date | None = None
    _as_of: dt.date | None = field(default=None, init=False)
    notes: dict[str, Any] = field(default_factory=dict)  # per model, published with it
    _forgets: int | None = field(default=None, init=False)

    @property
    def forgets(self) -> int:
        """The lake's forget count, read once per build (every fingerprint includes it)."""
        if self._forgets is None:
            self._forgets = self.lake.forget_generation()
        return self._forgets

    @property
    def as_of(self) -> dt.date:
        """The analysis date: given, or the day after the last event or order."""
        if self.as_of_arg:
            return self.as_of_arg
        if self._as_of is None:
            row = self.engine.query(
                "SELECT greatest((SELECT max(dt) FROM dwd_events), "
                "(SELECT max(order_date) FROM dwd_orders)) AS last").column(0)[0].as_py()
            if row is None:
                raise CustlensError(
                    "the lake has no events or orders yet",
                    hint="load data first: custlens generate, or custlens import …",
                )
            self._as_of = row + dt.timedelta(days=1)
        return self._as_of

    def param(self, name: str) -> Any:
        s = self.settings
        return {
            "tz": lambda: s.tz,
            "as_of": lambda: self.as_of,
            "since": lambda: self.since,
            "orders_from": lambda: s.get("shop.orders_from"),
            "segment": lambda: dict(s.get("segment")),
            "classes": lambda: dict(s.get("classes")),
            "calendar": lambda: {**dict(s.get("calendar")), "country": s.get("shop.country")},
            "periods": lambda: dict(s.get("periods")),
            "repurchase": lambda: dict(s.get("repurchase")),
            "channels": lambda: dict(s.get("channels")),
            "identity": lambda: dict(s.get("identity")),
            "clv": lambda: dict(s.get("clv")),
            "monitor": lambda: {k: v for k, v in dict(s.get("monitor")).items()
                                if k not in ("alerts", "smtp")},  # delivery is not a figure
        }[name]()

    def sql_params(self) -> dict[str, str]:
        """Literals a model's SQL may use as {name}; evaluated lazily."""
        return _LazyParams(self)


_INT_SETTINGS = {
    "baseline_days": "periods.baseline_days",
    "cart_window_days": "periods.cart_window_days",
    "lookback_days": "channels.lookback_days",
    "min_buyers": "repurchase.min_buyers",
    "max_gap_days": "repurchase.max_median_gap_days",
    "top_categories": "monitor.top_categories",
}
_FLOAT_SETTINGS = {"min_rate": "repurchase.min_rate"}


class _LazyParams(dict):
    def __init__(self, ctx: BuildContext) -> None:
        super().__init__()
        self.ctx = ctx

    def __missing__(self, key: str) -> str:
        c = self.ctx
        if key == "tz":
            return sql_text(c.settings.tz)
        if key == "as_of":
            return sql_date(c.as_of)
        if key == "since":
            return sql_date(c.since)
        if key == "orders_from_events":
            return "true" if c.settings.get("shop.orders_from") == "events" else "false"
        if key == "lapse_days":
            return str(int(c.settings.get("classes.lapse_days")))
        if key == "identity_by_phone":
            return "true" if c.settings.get("identity.by_phone") else "false"
        if key in _INT_SETTINGS:
            return str(int(c.settings.get(_INT_SETTINGS[key])))
        if key.startswith(LATEST_PREFIX):
            return latest(key.removeprefix(LATEST_PREFIX))
        if key in _FLOAT_SETTINGS:
            return repr(float(c.settings.get(_FLOAT_SETTINGS[key])))
        raise KeyError(key)
