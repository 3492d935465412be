"""ESC/POS for ticket printers (protocols.md §2): ticket bytes and status replies. Pure.

The layout commands come from python-escpos's in-memory `Dummy` printer; text goes in as GB18030
bytes of our own, because python-escpos 3.1 turns full-width punctuation and CJK outside
U+4E00-U+9FA5 into `?` (measured; see baselines.md), and a citizen's ticket must print every
character of the hall's and the category's names.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

DLE_EOT = b"\x10\x04"
STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_ERROR_CAUSE, STATUS_PAPER = 1, 2, 3, 4


def _escpos_dummy(profile: str):
    # python-escpos re-parses its printer database and makes a new temporary directory on every
    # import unless told where to cache it; the folder must exist.
    cache = Path(os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR",
                                       str(Path(tempfile.gettempdir()) / "kioskd-escpos")))
    cache.mkdir(parents=True, exist_ok=True)
    from escpos.printer import Dummy

    return Dummy(profile=profile)


@dataclass(frozen=True)
class TicketText:
    hall: str
    category: str
    number: str
    ahead: int
    issued_at: str  # "2026-11-24 09:30"
    qr: str
    footer: str = "请留意叫号，过号将顺延"  # a skipped ticket comes back ([queue] skip_*)
    wait_min: int | None = None  # None: no open window serves it now, so no estimate is printed


def build_ticket(t: TicketText, *, profile: str = "default", encoding: str = "gb18030") -> bytes:
    p = _escpos_dummy(profile)
    text = lambda s: p._raw((s + "\n").encode(encoding, errors="replace"))  # noqa: E731
    p.hw("INIT")
    p.set(align="center", bold=True, double_height=True)
    text(t.hall)
    p.set(align="center", bold=False, normal_textsize=True)
    text(t.category)
    p.set(align="center", bold=True, custom_size=True, width=4, height=4)
    text(t.number)
    p.set(align="center", bold=False, normal_textsize=True)
    text(f"您前面还有 {t.ahead} 人等候")
    if t.wait_min is not None:
        text(f"预计等候约 {t.wait_min} 分钟" if t.wait_min else "即将为您服务")
    text(t.issued_at)
    p.qr(t.qr, native=True, size=6)
    p.set(align="center", normal_textsize=True)
    text(t.footer)
    p.cut()
    return p.output


def status_query(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def valid_status(byte: int) -> bool:
    """A DLE EOT reply looks like 0xx1xx10 (python-escpos `_check_valid_response`)."""
    return byte & 0x93 == 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """What DLE EOT 1 and 4 said; `paper` is ok, near_end, out, or unknown (never guessed)."""

    online: bool | None
    paper: str

    @classmethod
    def decode(cls, printer: int | None, paper: int | None) -> "PrinterStatus":
        online = None if printer is None or not valid_status(printer) else not printer & 0x08
        if paper is None or not valid_status(paper):
            state = "unknown"
        elif paper & 0x60:
            state = "out"
        elif paper & 0x0C:
            state = "near_end"
        else:
            state = "ok"
        return cls(online, state)


def status_byte(*bits: int) -> int:
    """A reply byte with the fixed bits set (for the simulator)."""
    b = 0x12
    for bit in bits:
        b |= 1 << bit
    return b


class StatusCodec:
    """Printer -> host: each byte is one status reply."""

    def feed(self, data: bytes) -> list[int]:
        return list(data)
