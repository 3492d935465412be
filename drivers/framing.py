"""What every incremental codec does at the start of a frame: find it, and say what it skipped."""

from __future__ import annotations

from kioskd.errors import FrameError


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
