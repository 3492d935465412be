"""取号机's thermal ticket printer, ESC/POS (protocols.md §3)."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from kioskd.drivers.family import Action, DeviceType, EntryCheck, Role
from kioskd.drivers.options import Option, ms, table


def profile_known(opts: dict[str, Any], dev: Any, check: EntryCheck) -> None:
    """python-escpos's printer database is a JSON file: read it, without importing escpos."""
    name = opts.get("profile")
    spec = find_spec("escpos")
    if name is None or spec is None or not spec.submodule_search_locations:
        return  # cannot check here; the driver says so when it builds a ticket
    db = Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"
    try:
        profiles = json.loads(db.read_text(encoding="utf-8"))["profiles"]
    except (OSError, ValueError, KeyError):
        return
    if name not in profiles:
        check.bad("profile", f"unknown python-escpos profile {name!r} (58 mm: POS-5890; 80 mm: "
                             "TM-T20II; any: default)")


TYPES = (
    DeviceType(
        "printer.escpos", Role.PRINTER, ("kiosk", "zone"), ("serial", "usb", "tcp"),
        table(Option("profile", str, "default", "python-escpos profile (58 mm: POS-5890)"),
              Option("encoding", str, "gb18030", "the printer's code page for Chinese",
                     encoding=True),
              ms("timeout_ms", 1000, "an answer's time-out"),
              Option("qr", str, "auto", "QR as the printer's own command or as an image",
                     choices=("auto", "native", "image")),
              Option("asb", bool, False, "the printer reports its status by itself (ASB)"),
              ms("status_ms", 5000, "how often the status is asked for")),
        "kioskd.drivers.printer.driver:EscposPrinterDriver",
        rules=(profile_known,),
        actions=(Action("p", "print-test", "Print test ticket"), Action("s", "status", "Status"))),
)
