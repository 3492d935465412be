"""One error tree with stable codes: callers and tests tell errors apart by `code`, never by text."""

from __future__ import annotations


class KioskdError(Exception):
    """Every kioskd error has a stable `code` (the class's, or one given for this instance):
    code and tests tell errors apart by it, never by the message."""

    code = "kioskd"

    def __init__(self, message: str = "", code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


# --- configuration -------------------------------------------------------------------------
class ConfigError(KioskdError):
    """devices.toml is unusable; `problems` holds one `PATH[:LINE]: key.path: what` line each."""

    code = "config.invalid"

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class PrivacyError(KioskdError):
    """Personal data would be at risk (a readable key file): the daemon refuses to go on."""

    code = "privacy"


# --- device protocols (codecs) -------------------------------------------------------------
class ProtocolError(KioskdError):
    code = "protocol"


class FrameError(ProtocolError):
    code = "protocol.frame"


class ChecksumError(FrameError):
    code = "protocol.checksum"


class FrameTooLong(FrameError):
    code = "protocol.too_long"


class UnsupportedProtocol(FrameError):
    """The device answers in a framing kioskd does not speak (another family of the same
    maker): named, so a technician is not sent chasing checksum errors. A request waiting for
    an answer fails with it at once."""

    code = "protocol.unsupported"


# --- devices (drivers) ---------------------------------------------------------------------
class DeviceError(KioskdError):
    code = "device"


class DeviceAbsent(DeviceError):
    """The port or endpoint is not there (unplugged, wrong path)."""

    code = "device.absent"


class DeviceTimeout(DeviceError):
    code = "device.timeout"


class DeviceNotReady(DeviceError):
    """A command for a device that is not `ready` right now."""

    code = "device.not_ready"


class DeviceFault(DeviceError):
    """The device answered, and what it said is a fault (paper out, SAM self-test failed...)."""

    code = "device.fault"


class BoardError(DeviceFault):
    """A BX controller's answer carried an error code (protocols.md §5.1): `status` is the byte,
    `code` its stable name (board.busy, board.crc, board.no_font, ...)."""

    code = "board.error"

    def __init__(self, message: str, code: str, status: int):
        super().__init__(message, code)
        self.status = status


# --- queue and rating (engine) -------------------------------------------------------------
class Refused(KioskdError):
    """A command the engine refuses; `code` says which rule."""

    code = "refused"

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class DiskFull(KioskdError):
    """The journal's disk is full, its reserve given up already: nothing more can be made
    durable, so nothing more is done (journal first). The hall says so and goes on serving
    what needs no new row."""

    code = "disk.full"
