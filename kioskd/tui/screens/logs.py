"""Logs: the daemon's last log lines (ID numbers already masked by the daemon)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.widgets import RichLog

from kioskd.tui.client import DiagError
from kioskd.tui.screens.base import DiagScreen
from kioskd.tui.view import clock


class LogsScreen(DiagScreen):
    TITLE_TEXT = "Logs"

    def body(self) -> ComposeResult:
        yield RichLog(id="log-lines", max_lines=1000, wrap=True, markup=False)

    def render_data(self) -> None:
        self.load()

    @work(exclusive=True, group="logs")
    async def load(self) -> None:
        try:
            lines = (await self.app.api.get("/api/logs?n=500"))["lines"]
        except DiagError as exc:
            self.app.report(exc)
            return
        try:
            log = self.query_one("#log-lines", RichLog)
        except NoMatches:
            return  # the screen closed while the answer was on its way
        if not log.size.width:
            return  # not laid out yet: lines written now would wrap at a guessed width
        seen = getattr(self, "seen", 0.0)
        for ln in lines:
            if ln["at"] > seen:
                log.write(f"{clock(ln['at'])} {ln['level']:<7} {ln['logger']}: {ln['message']}")
        if lines:
            self.seen = max(seen, lines[-1]["at"])
            # wrapped lines grow the log after the write's own scroll: follow to the end again
            self.call_after_refresh(log.scroll_end, animate=False)
