"""Logs: the daemon's last log lines (ID numbers already masked by the daemon)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import RichLog

from kioskd.tui.screens.base import DiagScreen
from kioskd.tui.view import clock


class LogsScreen(DiagScreen):
    TITLE_TEXT = "Logs"
    seen = 0.0  # the newest line drawn (its time)

    def body(self) -> ComposeResult:
        yield RichLog(id="log-lines", max_lines=1000, wrap=True, markup=False)

    def render_data(self) -> None:
        self.load()

    @work(exclusive=True, group="logs")
    async def load(self) -> None:
        got = await self.fetch_into("/api/logs?n=500", "#log-lines", RichLog)
        if got is None:
            return
        answer, log = got
        lines = answer["lines"]
        if not log.size.width:
            return  # not laid out yet: lines written now would wrap at a guessed width
        seen = self.seen
        for ln in lines:
            if ln["at"] > seen:
                log.write(f"{clock(ln['at'])} {ln['level']:<7} {ln['logger']}: {ln['message']}")
        if lines:
            self.seen = max(seen, lines[-1]["at"])
            # wrapped lines grow the log after the write's own scroll: follow to the end again
            self.call_after_refresh(log.scroll_end, animate=False)
