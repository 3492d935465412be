"""Events: the live event stream (the envelope central receives), with a filter."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, RichLog

from kioskd.tui.screens.base import DiagScreen
from kioskd.tui.view import short


def line(env: dict) -> str:
    data = json.dumps(env.get("data", {}), ensure_ascii=False, separators=(",", ":"))
    return f"{env.get('seq', '?'):>6} {env.get('ts', '')[11:19]} {env.get('type', '?'):<18} " \
           + short(data, 120)


class EventsScreen(DiagScreen):
    TITLE_TEXT = "Events"
    shown = 0  # events of the app's ring drawn so far
    AUTO_FOCUS = "#event-log"  # keys stay the console's until / asks for the filter
    BINDINGS = [Binding("slash", "filter", "Filter"),
                Binding("escape", "leave_filter", "", show=False)]

    def body(self) -> ComposeResult:
        yield Input(placeholder="filter: part of a type or of the data (e.g. device.state, w1)",
                    id="event-filter")
        yield RichLog(id="event-log", max_lines=1000, wrap=False, markup=False)

    def action_filter(self) -> None:
        self.query_one("#event-filter", Input).focus()

    def action_leave_filter(self) -> None:
        self.query_one("#event-log", RichLog).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.shown = 0
        self.query_one("#event-log", RichLog).clear()
        self.render_data()

    def render_data(self) -> None:
        log = self.query_one("#event-log", RichLog)
        if not log.size.width:
            return  # not laid out yet: lines written now would be cut at a guessed width
        events = self.app.events
        start = self.shown
        if start > len(events):  # the app's ring moved on: draw it again
            log.clear()
            start = 0
        words = self.query_one("#event-filter", Input).value.strip()
        for env in list(events)[start:]:
            text = line(env)
            if not words or words in text:
                log.write(text)
        self.shown = len(events)
