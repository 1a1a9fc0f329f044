"""All models, found by walking the layer packages; ordered by their dependencies."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from custlens.errors import CustlensError
from custlens.warehouse.model import Model

LAYER_PACKAGES = ("dwd", "dim", "dws", "ads")
SOURCES = ("ods_events", "ods_orders", "ods_order_items", "ods_customers", "ods_items",
           "ods_ad_spend", "ods_identity", "ods_action_plan", "ods_action_receipts",
           "ods_optouts", "ods_rejected")


@cache
def models() -> dict[str, tuple[Model, ModuleType]]:
    found: dict[str, tuple[Model, ModuleType]] = {}
    for layer in LAYER_PACKAGES:
        package = importlib.import_module(f"custlens.warehouse.{layer}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            model = getattr(module, "MODEL", None)
            if isinstance(model, Model):
                if model.name != info.name:
                    raise AssertionError(f"{module.__name__} defines {model.name}")
                found[model.name] = (model, module)
    return found


def get(name: str) -> Model:
    if name not in models():
        raise CustlensError(f"no model {name!r}", hint=f"models: {', '.join(sorted(models()))}")
    return models()[name][0]


def order(targets: list[str] | None = None) -> list[Model]:
    """Models needed for the targets (all when None), each after its inputs."""
    every = models()
    wanted = targets or list(every)
    out: list[Model] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen or name in SOURCES:
            return
        if name in path:
            raise AssertionError(f"dependency cycle: {' -> '.join(path + (name,))}")
        model = get(name)
        for dep in model.depends:
            visit(dep, path + (name,))
        seen.add(name)
        out.append(model)

    for name in sorted(wanted, key=lambda n: (LAYER_PACKAGES.index(n.split('_')[0]), n)):
        visit(name, ())
    return out


def comments() -> dict[str, tuple[str, dict[str, str]]]:
    """Each model's description (with its grain) and column notes, for catalogues."""
    out = {}
    for name, (model, _) in models().items():
        about = f"{model.description} Grain: {model.grain}."
        out[name] = (about, {c.name: c.description for c in model.columns if c.description})
    return out
