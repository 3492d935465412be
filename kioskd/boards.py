"""What the boards show (窗口屏, 综合屏). Pure: texts and views from the queue's state, no I/O.

A window board shows one line: the call ("A001 请到3号窗口"), its idle text, or "暂停服务". The
hall board shows the latest calls, the waiting count of each category and, when the hall sets
one, a scrolling notice. Citizens' names appear only where a hall board asks for them, and then
only masked (张*): the board is read by everybody in the hall.
"""

from __future__ import annotations

from typing import Any

from kioskd.drivers.board.view import Call, HallView, Waiting  # noqa: F401 (drawn there)
from kioskd.engine.state import HallState

IDLE_TEXT = "{window}号窗口 欢迎您"
PAUSED_TEXT = "暂停服务"
CALL_TEXT = "{ticket} 请到{window}号窗口"


def window_text(window: int, ticket: str | None, state: str = "open",
                options: dict[str, Any] | None = None) -> str:
    """The line a window board shows; `options` are the board's own (idle_text, paused_text)."""
    options = options or {}
    if ticket:
        return CALL_TEXT.format(ticket=ticket, window=window)
    if state in ("paused", "closed"):
        return options.get("paused_text", PAUSED_TEXT)
    return options.get("idle_text", IDLE_TEXT).format(window=window)


def hall_view(state: HallState, *, calls: int = 5, names: dict[str, str] | None = None,
              notice: str = "") -> HallView:
    """The last `calls` tickets called today (a recall counts as the newest call), and how many
    wait in each category. `names` maps tickets to masked names; None shows no names."""
    # a called or served ticket is its window's current one, with a last call (evolve sets
    # them with the call): found from the windows, not from the day's tickets
    now = (state.tickets.get(w.current) for w in state.windows.values() if w.current)
    called = sorted((t for t in now if t is not None and t.status in ("called", "serving")),
                    key=lambda t: (t.last_called_at, t.order), reverse=True)
    return HallView(
        tuple(Call(t.number, t.window, (names or {}).get(t.number, ""))
              for t in called[:calls]),
        tuple(Waiting(code, cat.name, state.waiting_count(code))
              for code, cat in state.categories.items()),
        notice)
