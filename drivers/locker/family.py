"""自助寄取柜 / 智能文件柜: a bank of compartments on a Modbus lock board (protocols.md §12),
each a lock relay and a door sensor: compartment N is coil first_coil+N-1 and input
first_input+N-1."""

from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.gate.family import BOARD
from kioskd.drivers.options import Option, table

SIZES = ("S", "M", "L")


def _sizes(opts: dict, dev, check) -> None:
    sizes = opts.get("sizes")
    if sizes is None:
        return
    n = opts.get("compartments", 12)
    if len(sizes) != n or any(s not in SIZES for s in sizes):
        check.bad("sizes", f"give one of {'/'.join(SIZES)} for each of the {n} compartments")


TYPES = (
    DeviceType(
        "locker.modbus", Role.LOCKER, ("zone", "hall"), ("serial", "tcp"),
        BOARD | table(
            Option("compartments", int, 12, "how many compartments the bank has", 1, 128),
            Option("first_coil", int, 0, "compartment 1's lock relay", 0, 9999),
            Option("first_input", int, 0, "compartment 1's door sensor", 0, 9999),
            Option("sizes", list, None, 'each compartment\'s size, "S", "M" or "L" (all M)'),
            Option("reader", str, None, "the card reader beside it (a [[device]] id): a card "
                   "a case was registered to opens its compartments", device=True),
            Option("printer", str, None, "the ticket printer beside it (a [[device]] id): "
                   "a drop-off's receipt is printed", device=True),
            Option("code_hours", int, 72, "how long a pickup code is good", 1, 720, "h"),
            Option("open_wait_ms", int, 3000,
                   "a door that has not opened this long after its relay is jammed",
                   500, 30_000, "ms")),
        "kioskd.drivers.locker.driver:ModbusLockerDriver",
        rules=(_sizes,),
        actions=(Action("o", "open", "Open compartment 1"), Action("s", "sensors", "Sensors")),
        places=lambda dev: []),  # a hall may stand several banks side by side
)
