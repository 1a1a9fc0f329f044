"""A warehouse model: one table, its grain, its inputs, its contract and its logic.

A model's logic is SQL over other tables by name (written once for every engine), or a
Python step that returns such SQL or an Arrow table (K-means, the calendar).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from custlens.warehouse.conventions import params_of

if TYPE_CHECKING:
    import pyarrow as pa

    from custlens.warehouse.context import BuildContext


@dataclass(frozen=True)
class Column:
    """A column and the checks it must pass (not_null, unique, accepted values)."""

    name: str
    type: str
    description: str = ""
    not_null: bool = False
    unique: bool = False
    accepted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Model:
    name: str
    grain: str
    description: str
    depends: tuple[str, ...]
    columns: tuple[Column, ...]
    sql: str | None = None
    run: Callable[[BuildContext], str | pa.Table] | None = None
    params: tuple[str, ...] = ()
    partition_by: str | None = None
    # (input, its local-date column) pairs: the model is incremental by dt over these
    # inputs (see warehouse/incremental.py); its other inputs are read whole
    incremental: tuple[tuple[str, str], ...] = ()
    # SQL naming the dates (column `dt`) whose rows are exactly the first incremental
    # input's rows of that date, in the model's columns: those dates' input files are
    # hard-linked as the model's partition instead of being rewritten (warehouse/incremental.py)
    unchanged_dates: str | None = None
    helpers: tuple[Any, ...] = field(default=(), compare=False)  # modules whose code counts

    def __post_init__(self) -> None:
        if self.incremental and self.partition_by != "dt":
            raise AssertionError(f"{self.name}: an incremental model is partitioned by dt")
        stray = {n for n, _ in self.incremental} - set(self.depends)
        if stray:
            raise AssertionError(f"{self.name}: incremental over {stray}, not among its inputs")
        if self.sql is not None and params_of(self.sql) != set(self.params):
            raise AssertionError(f"{self.name}: its SQL reads the settings {sorted(params_of(self.sql))}, "
                                 f"it declares {sorted(self.params)} (the fingerprint covers those)")
        if self.unchanged_dates and not (self.incremental and self.incremental[0][0].startswith("ods_")):
            raise AssertionError(f"{self.name}: unchanged dates link the files of an ODS input")

    @property
    def layer(self) -> str:
        return self.name.split("_", 1)[0]

    def code_hash(self, module: Any) -> str:
        digest = hashlib.sha256(inspect.getsource(module).encode())
        for helper in self.helpers:
            digest.update(inspect.getsource(helper).encode())
        return digest.hexdigest()

    def render(self, ctx: BuildContext) -> str | pa.Table:
        if self.run is not None:
            return self.run(ctx)
        assert self.sql is not None
        return self.sql.format_map(ctx.sql_params())
