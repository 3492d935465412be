"""What a hall board (综合屏) is given to draw: the latest calls, the waiting per category, the
notice. Owned by the board drivers that draw it; `kioskd.boards` makes it from the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    ticket: str
    window: int
    name: str = ""  # masked (张*), and only where the board shows names


@dataclass(frozen=True)
class Waiting:
    category: str
    name: str
    waiting: int


@dataclass(frozen=True)
class HallView:
    calls: tuple[Call, ...]  # newest first
    waiting: tuple[Waiting, ...]
    notice: str = ""

    def call_lines(self) -> list[str]:
        return [f"{c.ticket} {c.name + ' ' if c.name else ''}请到{c.window}号窗口"
                for c in self.calls]

    def waiting_line(self) -> str:
        return "  ".join(f"{w.name} 等候{w.waiting}人" for w in self.waiting)

    def lines(self) -> list[str]:
        """The whole board as text, top to bottom: what a plain-text board or a log shows."""
        return [*self.call_lines(), self.waiting_line(), *([self.notice] if self.notice else [])]

    def as_json(self) -> dict[str, Any]:
        return {"calls": [{"ticket": c.ticket, "window": c.window,
                           **({"name": c.name} if c.name else {})} for c in self.calls],
                "waiting": [{"category": w.category, "name": w.name, "waiting": w.waiting}
                            for w in self.waiting],
                "notice": self.notice}
