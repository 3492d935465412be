"""The device families this version drives: one line each. A family is a folder of drivers/
with a `family.py` declaring its types (drivers/family.py says what a type declares).

Plain data so that `check-config` can validate without importing any driver (python-escpos
alone costs ~100-200 ms and touches the root logger on import).
"""

from __future__ import annotations

import importlib

from kioskd.drivers.family import Action, DeviceType, Role

__all__ = ["FAMILIES", "TYPES", "Action", "DeviceType", "Role", "load", "register"]

FAMILIES = [
    "kioskd.drivers.idcard.family",
    "kioskd.drivers.printer.family",
    "kioskd.drivers.board.family",
    "kioskd.drivers.pad.family",
    "kioskd.drivers.camera.family",
    "kioskd.drivers.scanner.family",
    "kioskd.drivers.caller.family",
    "kioskd.drivers.cardreader.family",
    "kioskd.drivers.gate.family",
    "kioskd.drivers.locker.family",
]

TYPES: dict[str, DeviceType] = {}


def register(module: str) -> None:
    """Add a family's types (a module with TYPES); a type's name is taken once."""
    for t in importlib.import_module(module).TYPES:
        if t.name in TYPES and TYPES[t.name] != t:
            raise ValueError(f"device type {t.name!r} is declared twice")
        TYPES[t.name] = t


for _family in FAMILIES:
    register(_family)


def load(ref: str):
    """Import "module:Attr" on demand."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
