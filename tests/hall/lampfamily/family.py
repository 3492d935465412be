from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.options import Option, ms, table

TYPES = (
    DeviceType("lamp.serial", Role.BOARD, ("window",), ("serial", "tcp"),
               table(Option("brightness", int, 8, "how bright the lamp is", 1, 15),
                     ms("timeout_ms", 500, "an answer's time-out")),
               "lampfamily.driver:LampDriver",
               actions=(Action("b", "blink", "Blink"),)),
)
