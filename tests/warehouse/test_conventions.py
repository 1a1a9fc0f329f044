"""Warehouse conventions as code: `latest()` from TableSpec.key, and a model's declared
settings checked against the placeholders of its SQL."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from custlens import schema
from custlens.warehouse import conventions, registry
from custlens.warehouse.conventions import latest, params_of
from custlens.warehouse.model import Column, Model

SRC = Path(__file__).resolve().parents[2] / "src" / "custlens"


def test_latest_keys_by_the_table_spec_and_keeps_the_latest_load() -> None:
    assert latest("ods_orders") == ("QUALIFY row_number() OVER (PARTITION BY order_id "
                                    "ORDER BY _batch_id DESC, _line DESC) = 1")
    for name, spec in schema.TABLES.items():
        clause = latest(name)
        for column in spec.key:
            assert column in clause, (name, column)


def test_events_keep_their_first_copy_within_a_day() -> None:
    assert latest("events") == ("QUALIFY row_number() OVER (PARTITION BY event_id, dt "
                                "ORDER BY _batch_id, _line) = 1")


def test_key_columns_compare_as_the_convention_says() -> None:
    assert "PARTITION BY lower(source), source_id" in latest("identity")
    assert "coalesce(ad_campaign, '')" in latest("ad_spend")
    assert latest("optouts", order="ts DESC, _batch_id DESC", alias="o") == (
        "QUALIFY row_number() OVER (PARTITION BY o.user_id, o.contact_channel "
        "ORDER BY o.ts DESC, o._batch_id DESC) = 1")


def test_no_model_writes_the_latest_load_rule_out_by_hand() -> None:
    """The rule lives in conventions.py; a model asks for it as {latest_<table>}."""
    written = [p.relative_to(SRC) for p in SRC.rglob("*.py")
               if p.name != "conventions.py" and "_batch_id DESC, _line DESC) = 1" in p.read_text("utf-8")]
    assert not written, written


def test_a_model_must_declare_the_settings_its_sql_reads() -> None:
    columns = (Column("x", "BIGINT"),)
    sql = "SELECT {lookback_days} AS x"
    with pytest.raises(AssertionError, match="reads the settings \\['channels'\\]"):
        Model("ads_planted", "one row", "", (), columns, sql=sql)
    assert Model("ads_planted", "one row", "", (), columns, sql=sql, params=("channels",))
    with pytest.raises(AssertionError, match="declares \\['as_of'\\]"):  # a stale declaration too
        Model("ads_planted", "one row", "", (), columns, sql="SELECT 1 AS x", params=("as_of",))
    with pytest.raises(AssertionError, match="unknown placeholder \\{lookback_dayz\\}"):
        Model("ads_planted", "one row", "", (), columns, sql="SELECT {lookback_dayz} AS x")


def test_python_models_declare_what_their_sql_templates_read() -> None:
    """A Python model's own SQL templates (filled the same way) read only declared settings."""
    for name, (model, module) in registry.models().items():
        if model.run is None:
            continue
        source = importlib.import_module(module.__name__)
        for value in vars(source).values():
            if isinstance(value, str) and "SELECT" in value and "{" in value:
                try:
                    needed = params_of(value)
                except (AssertionError, KeyError):
                    continue  # an f-string body, not a template filled with the settings
                assert needed <= set(model.params), (name, needed, model.params)


def test_every_placeholder_names_a_setting_the_build_can_fill() -> None:
    from custlens.config import load_settings
    from custlens.warehouse.context import BuildContext

    ctx = BuildContext(lake=None, settings=load_settings(environ={}), engine=None)  # type: ignore[arg-type]
    params = ctx.sql_params()
    for placeholder, param in conventions.PLACEHOLDER_PARAMS.items():
        if param in ("as_of",):
            continue  # needs a lake to find the last day
        assert params[placeholder] is not None
        ctx.param(param)  # a known group
