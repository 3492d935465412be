"""A hall board's view laid out in text rows of a fixed-size LED board. Pure.

LED controllers draw text in a font of one row's height; a Chinese character is as wide as it
is high, a Latin letter or digit half that. A row too long for the board scrolls (moves left)
instead of being cut, so that no call and no count is lost off the edge.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from kioskd.drivers.board.view import HallView


@dataclass(frozen=True)
class Row:
    text: str
    scroll: bool


def text_px(text: str, line_px: int) -> int:
    """How wide `text` is drawn in a font line_px high."""
    return sum(line_px if unicodedata.east_asian_width(ch) in "WF" else line_px // 2
               for ch in text)


def hall_rows(view: HallView, *, width_px: int, height_px: int, line_px: int) -> list[Row]:
    """Top to bottom: the newest calls, then at the bottom the waiting counts and the notice
    (always scrolling: a notice is read as it passes). Calls give way first when the board is
    too small."""
    n = max(height_px // line_px, 1)
    tail = [Row(view.waiting_line(), text_px(view.waiting_line(), line_px) > width_px)]
    if view.notice:
        tail.append(Row(view.notice, True))
    tail = tail[:n]
    calls = [Row(t, text_px(t, line_px) > width_px) for t in view.call_lines()[:n - len(tail)]]
    # the counts and the notice keep the bottom rows; blank rows clear what a row showed before
    return calls + [Row("", False)] * (n - len(calls) - len(tail)) + tail
