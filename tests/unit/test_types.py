"""The annotations of the pure modules are real types, not only text.

Under `from __future__ import annotations` nothing evaluates an annotation at run time, so
`int & None` where `int | None` was meant would sit there unnoticed (mutation testing showed
it: dozens of such mutants lived). Tools that read the types do evaluate them (typing's
get_type_hints, dataclass-to-JSON, documentation): every class and function of the pure code
must resolve."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing

import pytest

PURE = ["kioskd.engine.commands", "kioskd.engine.decide",
        "kioskd.engine.evolve", "kioskd.engine.views", "kioskd.engine.effects",
        "kioskd.engine.rules", "kioskd.engine.events", "kioskd.engine.state",
        "kioskd.engine.order", "kioskd.engine.stats",
        "kioskd.privacy", "kioskd.journal", "kioskd.drivers.board.bx", "kioskd.drivers.idcard.sam",
        "kioskd.drivers.printer.escpos", "kioskd.drivers.caller.proto"]


def own_members(module):
    for _, obj in inspect.getmembers(module):
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            yield obj
            yield from (f for _, f in inspect.getmembers(obj, inspect.isfunction)
                        if f.__qualname__.startswith(obj.__qualname__ + "."))
        elif inspect.isfunction(obj):
            yield obj


@pytest.mark.parametrize("name", PURE)
def test_every_annotation_of_the_pure_code_resolves(name):
    module = importlib.import_module(name)
    typing.get_type_hints(module)  # module-level annotations too
    checked = 0
    for obj in own_members(module):
        try:
            typing.get_type_hints(obj)
        except Exception as e:  # noqa: BLE001 - any failure to resolve is the finding
            pytest.fail(f"{obj.__qualname__} in {name}: {type(e).__name__}: {e}")
        checked += 1
    assert checked, f"{name} has no classes or functions?"


def test_the_engines_dataclasses_are_among_them():
    from kioskd.engine import state

    assert {c.__name__ for c in own_members(state) if dataclasses.is_dataclass(c)} >= {
        "Ticket", "WindowState", "Appointment", "Rating", "HallState"}


# Values that cross a boundary (commands and effects of the engine, frames and answers of the
# codecs, the card holder, a journal row) cannot be changed by whoever holds them: a driver's
# answer or a command is logged, compared and replayed as it was. Only the engine's state is
# changed, and only by evolve.
MUTABLE = {"kioskd.engine.state": {"Ticket", "WindowState", "Appointment", "HallState"}}


@pytest.mark.parametrize("name", PURE)
def test_values_at_the_boundaries_are_frozen_and_only_the_state_changes(name):
    module = importlib.import_module(name)
    classes = [c for c in own_members(module) if inspect.isclass(c) and dataclasses.is_dataclass(c)]
    mutable = {c.__name__ for c in classes if not c.__dataclass_params__.frozen}
    assert mutable == MUTABLE.get(name, set())
