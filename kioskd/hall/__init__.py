"""The hall daemon, split by job: `core` wires config, journal, engine, drivers, uplink and the
local API together (Hall); `lifecycle` starts, reloads and stops it; `path` is the one path
every command takes; `effects` carries out what the engine decides; `inputs` takes what devices
report, by kind; `technician` is the console's device actions and views; `retention` the disk.
The API and central's commands hold it as `HallPort` (port.py): what they may ask of it.
"""

from kioskd.hall.core import Hall
from kioskd.hall.inputs import INPUTS, issued_view

__all__ = ["INPUTS", "Hall", "issued_view"]
