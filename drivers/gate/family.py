"""门禁: a door or turnstile of the 24-hour zone on a Modbus relay board (protocols.md §12):
an "open" relay pulsed, a door sensor and, where fitted, a pass beam and an exit sensor."""

from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.options import Option, ms, table

# a relay board on Modbus: RTU on serial://, Modbus TCP on tcp://
BOARD = table(
    Option("unit", int, 1, "the board's Modbus unit (slave address)", 1, 247),
    ms("timeout_ms", 500, "how long a request waits for the board's answer"),
    ms("poll_ms", 200, "how often the sensors are read"),
    Option("pulse_ms", int, 300, "how long an open relay is held on", 50, 5000, "ms"),
    Option("open_is_on", bool, True, "a door sensor's input is on while the door is open"),
)

NOT_FITTED = -1

TYPES = (
    DeviceType(
        "gate.modbus", Role.GATE, ("zone",), ("serial", "tcp"),
        BOARD | table(
            Option("open_coil", int, 0, "the coil of the open relay", 0, 9999),
            Option("door_input", int, 0, "the discrete input of the door sensor", 0, 9999),
            Option("pass_input", int, NOT_FITTED, "a pass beam's input (-1: none)", -1, 9999),
            Option("exit_input", int, NOT_FITTED,
                   "an exit sensor's input, for the zone's count (-1: none)", -1, 9999)),
        "kioskd.drivers.gate.driver:ModbusGateDriver",
        actions=(Action("o", "pulse", "Pulse open"), Action("s", "sensors", "Sensors")),
        places=lambda dev: []),  # a zone has as many doors as it has
)
