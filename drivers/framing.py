"""What every incremental codec does at the start of a frame: find it, and say what it skipped."""

from __future__ import annotations

from typing import Callable

from kioskd.errors import ChecksumError, FrameError


def skip_to(buf: bytearray, marker: bytes, out: list) -> bool:
    """Drop the bytes before the next `marker`, reporting them as one FrameError in `out`.

    True when `buf` now starts with `marker`; False when it holds none (a tail that may be the
    start of a marker split across reads is kept).
    """
    start = buf.find(marker)
    found = start >= 0
    if not found:
        keep = next((k for k in range(min(len(marker) - 1, len(buf)), 0, -1)
                     if marker.startswith(buf[-k:])), 0)
        start = len(buf) - keep
    if start:
        out.append(FrameError(f"{start} bytes outside any frame skipped"))
        del buf[:start]
    return found


class EndFramed:
    """Frames that start with `marker`, say their length in a header of `header` bytes and end
    with a checksum byte and 16: the rating pad's (68 LEN 68 …) and the keypads' of §9
    (FF 68 N N 68 …). Found, cut and checked here; each codec reads its own fields.

    `body(header)` is the length of what follows the header up to the checksum, or why these
    bytes are no header; the checksum is the byte sum from `summed` to it; `bad_sum(frame)`
    says what is wrong with a frame whose sum differs."""

    def __init__(self, name: str, marker: bytes, header: int,
                 body: Callable[[bytes], int | str], summed: int,
                 bad_sum: Callable[[bytes], str] | None = None) -> None:
        self.name, self.marker, self.header, self.body, self.summed = (name, marker, header,
                                                                        body, summed)
        self.bad_sum = bad_sum or (lambda frame: f"{name} frame checksum mismatch")
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held for a frame not whole yet (bounded: a header says at most 255)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        """Whole, checked frames (and what was wrong, as FrameErrors) in order; one bad byte
        costs only itself: the search starts again right after it."""
        buf = self._buf
        buf += data
        out: list[bytes | FrameError] = []
        while True:
            if not skip_to(buf, self.marker, out) or len(buf) < self.header:
                return out
            n = self.body(bytes(buf[:self.header]))
            if isinstance(n, str):
                out.append(FrameError(n))
                del buf[:1]
                continue
            total = self.header + n + 2
            if len(buf) < total:
                return out
            frame = bytes(buf[:total])
            if frame[-1] != 0x16:
                out.append(FrameError(f"{self.name} frame without its end byte 16"))
                del buf[:1]
                continue
            if sum(frame[self.summed:-2]) & 0xFF != frame[-2]:
                out.append(ChecksumError(self.bad_sum(frame)))
                del buf[:1]
                continue
            del buf[:total]
            out.append(frame)
