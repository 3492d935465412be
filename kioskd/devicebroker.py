"""The hall's own MQTT broker, locked down: one login per networked device and one for the
daemon, and an ACL so that each device publishes only on its own topics (protocols.md §10).

Without it, anything on the hall's network could publish a retained `availability offline`
for a rating pad and keep it absent until someone noticed, or answer for a board. With it, a
device may write only its own availability and answers and read only its own requests; the
daemon reads every device's topics and writes their requests; nobody logs in anonymously.
`kioskd device-acl` prints the file for a hall's devices.toml; `kioskd sim` runs its device
broker with it. Pure: the text, no I/O.
"""

from __future__ import annotations

from kioskd.config import Config, DeviceConfig
from kioskd.drivers.pad.message import BOARD_TO_HOST, PAD_TO_HOST

DAEMON_USER = "kioskd"
# what each family of networked device publishes besides its availability (drivers' kinds)
DEVICE_TO_HOST = {"pad": PAD_TO_HOST, "board": BOARD_TO_HOST}


def networked(cfg: Config) -> list[DeviceConfig]:
    return [d for d in cfg.devices if d.url.scheme in ("mqtt", "mqtts")]


def acl(cfg: Config, daemon_user: str = DAEMON_USER) -> str:
    """A mosquitto acl_file: the daemon's rules, then each device's under its id as user."""
    devices = networked(cfg)
    out = [f"# kioskd device broker ACL for hall {cfg.hall.id} (kioskd device-acl)",
           f"user {daemon_user}"]
    for d in devices:
        t = d.options["topic"]
        out += [f"topic read {t}/#", f"topic write {t}/request"]
    for d in devices:
        t = d.options["topic"]
        out += ["", f"user {d.id}", f"topic write {t}/availability"]
        out += [f"topic write {t}/{kind}" for kind in DEVICE_TO_HOST[d.type.split(".")[0]]]
        out.append(f"topic read {t}/request")
    return "\n".join(out) + "\n"


def mosquitto_lines(password_file: str, acl_file: str) -> str:
    """The mosquitto.conf lines that make a broker check logins and the ACL."""
    return (f"allow_anonymous false\npassword_file {password_file}\n"
            f"acl_file {acl_file}\n")
