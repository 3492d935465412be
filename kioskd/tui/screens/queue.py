"""Queue: waiting per category, and each window with its state, clerk and current ticket."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from kioskd.tui.screens.base import DiagScreen
from kioskd.tui.view import plain


class QueueScreen(DiagScreen):
    TITLE_TEXT = "Queue"

    def body(self) -> ComposeResult:
        cats = DataTable(id="categories", zebra_stripes=True)
        cats.add_columns("category", "name", "waiting", "issued", "open windows")
        yield cats
        wins = DataTable(id="windows", zebra_stripes=True)
        wins.add_columns("window", "state", "clerk", "current", "serves", "awaiting rating")
        yield wins
        yield Static("", id="queue-summary")

    def render_data(self) -> None:
        q = self.app.data.get("queue") or {}
        cats = self.query_one("#categories", DataTable)
        cats.clear()
        for c in q.get("categories", []):
            cats.add_row(*plain(c["code"], c["name"], c["waiting"], c["issued"],
                                c["open_windows"]))
        wins = self.query_one("#windows", DataTable)
        wins.clear()
        for w in q.get("windows", []):
            wins.add_row(*plain(w["number"], w["state"], w["clerk"] or "-", w["current"] or "-",
                                ",".join(w["categories"]) or "-", w["awaiting_rating"] or "-"))
        self.query_one("#queue-summary", Static).update(
            f"day {q.get('day', '?')}   held: {', '.join(q.get('held', [])) or '-'}   "
            f"skipped: {', '.join(q.get('skipped', [])) or '-'}")
