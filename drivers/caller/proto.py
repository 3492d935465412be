"""caller.serial: the clerk's keypad (呼叫器) bus, shared/protocols.md §9. Pure.

    FF 68 | LEN | LEN | 68 | ADDR | FUNC | DATA (LEN-2 bytes) | CHK | 16

LEN (sent twice; LEN1 = LEN2 or the frame is refused) counts ADDR, FUNC and DATA; CHK is
(ADDR + FUNC + every DATA byte) mod 256 — the second 68 is not summed: that is how the deployed
host of §9 builds its own frames (the byte vectors in tests/vectors/keypad.toml). The host
acknowledges a frame by echoing it. The key pressed is the last DATA byte; a digit before
confirm (0F) makes the command. Keypads of many windows share one RS-485 bus, each at its own
address.

FUNC: 11 is a keypad's own rating keys (kioskd refuses them: only a window's sealed pad
rates); every other FUNC carries keys, as the deployed host reads them. The host sends 01
(start a rating), 02 (digits for the keypad's displays) and 03 (a beep).

Transfer (13) takes the window it sends the citizen to: 13, the window's digits, confirm
(`13 01 02 0F`: to window 12). §9 names the key but not its digits; this order (the key, then
the number, then confirm) is the one the other digit commands use, read the other way round so
that `13 06 0F` cannot be taken for skip.
"""

from __future__ import annotations

from dataclasses import dataclass

from kioskd.drivers.framing import EndFramed
from kioskd.errors import FrameError

HEAD = b"\xff\x68"
END = 0x16
FUNC_KEY, FUNC_DISPLAY, FUNC_BEEP, FUNC_RATING = 0x01, 0x02, 0x03, 0x11
BLANK = 0x0A  # a display position left dark

# single keys
CALL_NEXT, RECALL, ASK_RATING, CANCEL, CONFIRM, PAUSE, TRANSFER = (
    0x0C, 0x0D, 0x0B, 0x0E, 0x0F, 0x12, 0x13)
# digit + confirm
DIGIT_ACTIONS = {0x06: "skip", 0x00: "hold", 0x03: "call-back"}
KEY_ACTIONS = {CALL_NEXT: "call-next", RECALL: "recall", ASK_RATING: "ask-rating",
               PAUSE: "pause"}


@dataclass(frozen=True)
class KeyCommand:
    action: str  # a window action of the queue engine (call-next, skip, transfer...)
    to_window: int | None = None  # transfer


@dataclass(frozen=True)
class KeyFrame:
    addr: int
    func: int
    data: bytes
    raw: bytes  # the frame as sent: the acknowledgement echoes it

    @property
    def keys(self) -> bytes:
        return self.data


def checksum(addr: int, func: int, data: bytes) -> int:
    return (addr + func + sum(data)) & 0xFF


def encode(addr: int, data: bytes, func: int = FUNC_KEY) -> bytes:
    n = len(data) + 2
    return (HEAD + bytes([n, n, 0x68, addr, func]) + data
            + bytes([checksum(addr, func, data), END]))


def beep(addr: int) -> bytes:
    return encode(addr, b"", FUNC_BEEP)


def show_digits(addr: int, left: str = "", right: str = "") -> bytes:
    """The keypad's two 3-digit displays: the deployed host puts the ticket just called on the
    right (the last 3 digits of A007 -> `007`) and the waiting count on the left."""
    def three(digits: str) -> list[int]:
        digits = "".join(d for d in digits if d.isdigit())[-3:]
        return [BLANK] * (3 - len(digits)) + [int(d) for d in digits]
    return encode(addr, bytes(three(left) + three(right)), FUNC_DISPLAY)


def rating_echo(frame: "KeyFrame") -> bytes:
    """What the deployed host answers to a FUNC 11 frame: the same keys as FUNC 01 (its
    checksum 10 less), which the keypad takes as heard. kioskd echoes so and counts nothing."""
    return encode(frame.addr, frame.data, FUNC_KEY)


def command_of(keys: bytes) -> KeyCommand | None:
    """What a key frame asks the queue to do; None for keys that are no command (a digit
    still waiting for confirm, cancel, a transfer without a window, or a sequence this keypad
    does not define)."""
    if not keys or rating_attempt(keys) is not None:
        return None
    if keys[0] == TRANSFER and len(keys) >= 3 and keys[-1] == CONFIRM:
        digits = keys[1:-1]
        if len(digits) > 3 or any(d > 9 for d in digits):
            return None
        return KeyCommand("transfer", int("".join(str(d) for d in digits)))
    if keys[-1] in KEY_ACTIONS:
        return KeyCommand(KEY_ACTIONS[keys[-1]])
    if keys[-1] == CONFIRM and len(keys) >= 2 and keys[-2] in DIGIT_ACTIONS:
        return KeyCommand(DIGIT_ACTIONS[keys[-2]])
    return None


def transfer_keys(window: int) -> bytes:
    """The keys a clerk types to send the citizen to `window`."""
    return bytes([TRANSFER, *(int(d) for d in str(window)), CONFIRM])


def rating_attempt(keys: bytes) -> int | None:
    """A level typed before the rating key (some vendors' keypads let staff rate "for" the
    citizen, 代评, this way): the level tried, for the audit trail. kioskd never accepts it."""
    if len(keys) >= 2 and keys[-1] == ASK_RATING and 1 <= keys[-2] <= 5:
        return keys[-2]
    return None


def _keypad_body(header: bytes) -> int | str:
    n = header[2]
    if header[3] != n:
        return f"keypad frame lengths {n} and {header[3]} differ"
    if header[4] != 0x68 or n < 2:
        return "not a keypad frame header"
    return n


def _keypad_bad_sum(frame: bytes) -> str:
    # a frame summed with the second 68 is not accepted "to be tolerant": it is a device or
    # twin built on the old, wrong reading of §9, and says so
    old = sum(frame[4:-2]) & 0xFF == frame[-2]
    return "keypad frame checksum mismatch" + (
        " (it sums the 68 too: the old, wrong reading of the protocol)" if old else "")


class KeypadCodec:
    def __init__(self) -> None:
        self._frames = EndFramed("keypad", HEAD, 5, _keypad_body, 5, _keypad_bad_sum)

    @property
    def pending(self) -> int:
        return self._frames.pending

    def feed(self, data: bytes) -> list[KeyFrame | FrameError]:
        return [f if isinstance(f, FrameError) else KeyFrame(f[5], f[6], f[7:-2], f)
                for f in self._frames.feed(data)]
