"""Clerks' caller keypads (呼叫器) on an RS-485 bus (protocols.md §9)."""

from __future__ import annotations

from typing import Any

from kioskd.drivers.family import DeviceType, EntryCheck, Role
from kioskd.drivers.options import Option, ms, table


def bus(opts: dict[str, Any], dev: Any, check: EntryCheck) -> None:
    """A keypad bus as address -> window: one keypad (`window`, `address` default 1), or
    `keypads = [{address = 1, window = 1}, …]` for the windows sharing one RS-485 line."""
    if "keypads" not in opts:
        opts["keypads"] = {opts.get("address", 1): dev.window} if dev.window is not None else {}
        return
    if "address" in opts:
        check.bad("address", "a bus gives each keypad's address in keypads, not here")
    out: dict[int, int] = {}
    for j, entry in enumerate(opts["keypads"]):
        where = f"keypads[{j}]"
        if not isinstance(entry, dict) or set(entry) != {"address", "window"}:
            check.bad(where, "expected {address = N, window = N}")
            continue
        addr, win = entry["address"], entry["window"]
        if not isinstance(addr, int) or isinstance(addr, bool) or not 1 <= addr <= 254:
            check.bad(f"{where}.address", f"{addr!r} is not an address 1-254")
        elif addr in out:
            check.bad(f"{where}.address", f"address {addr} is already window {out[addr]}'s")
        elif not isinstance(win, int) or win not in check.windows:
            check.bad(f"{where}.window", f"no [[window]] with number {win!r}")
        elif win in out.values():
            check.bad(f"{where}.window", f"window {win} already has a keypad on this bus")
        else:
            out[addr] = win
    if not opts["keypads"]:
        check.bad("keypads", "lists no keypad")
    opts["keypads"] = out


TYPES = (
    DeviceType(
        "caller.serial", Role.KEYPAD, ("window", "windows"), ("serial", "tcp"),
        table(Option("address", int, 1, "one keypad's bus address", 1, 254),
              Option("keypads", list, None, "a bus: [{address = N, window = N}, …]"),
              ms("timeout_ms", 1000, "an answer's time-out")),
        "kioskd.drivers.caller.driver:KeypadDriver", rules=(bus,),
        places=lambda d: [(Role.KEYPAD, None, w) for w in d.options["keypads"].values()]),
)
