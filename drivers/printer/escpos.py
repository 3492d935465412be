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


FIELDS = ("title", "category", "number", "ahead", "wait", "time", "qr", "footer")
GB_ENCODINGS = ("gb18030", "gbk", "gb2312", "cp936")


FOOTER = "请留意叫号，过号将顺延"  # a skipped ticket comes back ([queue] skip_*)


@dataclass(frozen=True)
class TicketText:
    hall: str
    category: str
    number: str
    ahead: int
    issued_at: str  # "2026-11-24 09:30"
    qr: str
    footer: str = FOOTER
    wait_min: int | None = None  # None: no open window serves it now, so no estimate is printed


def build_ticket(t: TicketText, *, profile: str = "default", encoding: str = "gb18030",
                 fields: tuple[str, ...] = FIELDS, qr: str = "auto") -> bytes:
    """`qr`: native (GS ( k), image (raster, for printers without it), or auto (the profile's
    qrCode feature decides)."""
    p = _escpos_dummy(profile)
    text = lambda s: p._raw((s + "\n").encode(encoding, errors="replace"))  # noqa: E731
    normal = dict(align="center", bold=False, normal_textsize=True)
    p.hw("INIT")
    if encoding.lower() in GB_ENCODINGS:
        # Chinese mode is on at power-up on most Chinese-market printers, but python-escpos
        # never sends FS &, and a printer left in another mode would print GB bytes as Latin
        p._raw(b"\x1c\x26")
    for f in fields:
        if f == "title":
            p.set(align="center", bold=True, double_height=True)
            text(t.hall)
        elif f == "category":
            p.set(**normal)
            text(t.category)
        elif f == "number":
            p.set(align="center", bold=True, custom_size=True, width=4, height=4)
            text(t.number)
        elif f == "ahead":
            p.set(**normal)
            text(f"您前面还有 {t.ahead} 人等候")
        elif f == "wait" and t.wait_min is not None:
            p.set(**normal)
            text(f"预计等候约 {t.wait_min} 分钟" if t.wait_min else "即将为您服务")
        elif f == "time":
            p.set(**normal)
            text(t.issued_at)
        elif f == "qr" and t.qr:
            native = p.profile.supports("qrCode") if qr == "auto" else qr == "native"
            if native:
                p.qr(t.qr, native=True, size=6)
            else:
                p.qr(t.qr, native=False, size=6, center=True)
        elif f == "footer" and t.footer:
            p.set(**normal)
            text(t.footer)
    p.set(**normal)
    p.cut()
    return p.output


def status_query(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def status_queries_in(data: bytes) -> int:
    """How many DLE EOT requests hide in `data` (raster bytes can spell them): the printer
    answers each, wherever it appears, so those answers must not be taken for ours."""
    return sum(data.count(DLE_EOT + bytes([n])) for n in (1, 2, 3, 4))


def valid_status(byte: int | None) -> bool:
    """A DLE EOT reply looks like 0xx1xx10 (python-escpos `_check_valid_response`)."""
    return byte is not None and byte & 0x93 == 0x12


STATUS_NAMES = {1: "printer status", 2: "offline cause", 3: "error cause", 4: "paper sensor"}


def describe_status(n: int, byte: int) -> str:
    """One DLE EOT n reply as a technician reads it: `0x12 printer status: online`."""
    head = f"{byte:#04x} {STATUS_NAMES.get(n, f'status {n}')}"
    if not valid_status(byte):
        return f"{head}: not a status byte (0xx1xx10)"
    kw = {1: "printer", 2: "offline", 3: "error", 4: "paper"}.get(n)
    st = PrinterStatus.decode(**{k: (byte if k == kw else None)
                                 for k in ("printer", "offline", "error", "paper")})
    said = {1: lambda: "online" if st.online else "offline",
            2: lambda: ("cover open" if st.cover_open else "cover closed")
            + (", stopped at paper end" if byte & 0x20 else ""),
            3: lambda: ("cutter error" if st.cutter_error else "no cutter error")
            + (", unrecoverable error" if st.unrecoverable else ""),
            4: lambda: f"paper {st.paper}"}
    return f"{head}: {said[n]()}" if n in said else head


CONDITIONS = ("ok", "paper_near_end", "paper_out", "cover_open", "cutter_error", "offline",
              "unknown")
FAULTS = frozenset({"paper_out", "cover_open", "cutter_error", "offline"})  # nothing prints


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said of itself. Every field is None where it did not say (no reply, or
    a reply of the wrong shape); `condition` is the one word the hall acts on."""

    online: bool | None = None
    cover_open: bool | None = None
    paper: str = "unknown"  # ok, near_end, out, unknown (never guessed)
    cutter_error: bool | None = None
    unrecoverable: bool | None = None

    @classmethod
    def decode(cls, printer: int | None, offline: int | None = None, error: int | None = None,
               paper: int | None = None) -> "PrinterStatus":
        """From the replies to DLE EOT 1, 2, 3, 4."""
        ok = valid_status
        paper_state = "unknown"
        if ok(paper):
            paper_state = "out" if paper & 0x60 else "near_end" if paper & 0x0C else "ok"
        if ok(offline) and offline & 0x20:
            paper_state = "out"  # printing stopped at paper end
        return cls(online=not printer & 0x08 if ok(printer) else None,
                   cover_open=bool(offline & 0x04) if ok(offline) else None,
                   paper=paper_state,
                   cutter_error=bool(error & 0x08) if ok(error) else None,
                   unrecoverable=bool(error & 0x20) if ok(error) else None)

    @classmethod
    def from_asb(cls, b: bytes) -> "PrinterStatus":
        """Automatic Status Back: 4 bytes the printer sends by itself on every change."""
        paper = "out" if b[2] & 0x0C else "near_end" if b[2] & 0x03 else "ok"
        return cls(online=not b[0] & 0x08, cover_open=bool(b[0] & 0x20), paper=paper,
                   cutter_error=bool(b[1] & 0x08), unrecoverable=bool(b[1] & 0x20))

    @property
    def condition(self) -> str:
        if self.cover_open:
            return "cover_open"
        if self.paper == "out":
            return "paper_out"
        if self.cutter_error:
            return "cutter_error"
        if self.unrecoverable or self.online is False:
            return "offline"
        if self.paper == "near_end":
            return "paper_near_end"
        if None in (self.online, self.cover_open, self.cutter_error) or self.paper == "unknown":
            return "unknown"
        return "ok"


def status_byte(*bits: int) -> int:
    """A reply byte with the fixed bits set (for the simulator)."""
    b = 0x12
    for bit in bits:
        b |= 1 << bit
    return b


@dataclass(frozen=True)
class Asb:
    data: bytes


class StatusCodec:
    """Printer -> host: each byte is one DLE EOT reply (kept even when malformed, so a garbled
    answer reads as "unknown" at once instead of a timeout), except, with Automatic Status Back
    on, a 0xx1xx00 byte starts a 4-byte ASB frame. XON/XOFF flow control bytes are skipped."""

    def __init__(self, asb: bool = False):
        self.asb = asb
        self._frame = bytearray()

    def feed(self, data: bytes) -> list[int | Asb]:
        out: list[int | Asb] = []
        for b in data:
            if b in (0x11, 0x13):
                continue
            if self._frame:
                if b & 0x90:  # bytes 2-4 are 0xx0xxxx: this is not the rest of a frame
                    self._frame.clear()
                else:
                    self._frame.append(b)
                    if len(self._frame) == 4:
                        out.append(Asb(bytes(self._frame)))
                        self._frame.clear()
                    continue
            if self.asb and b & 0x93 == 0x10:
                self._frame.append(b)
            else:
                out.append(b)
        return out
