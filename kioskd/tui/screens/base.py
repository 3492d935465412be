"""What every screen of the console has: the title line, the daemon's status, the keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from kioskd.tui.client import DiagError


class DiagScreen(Screen):
    TITLE_TEXT = ""

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE_TEXT, id="title")
        yield Static("", id="banner")
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    composed = False

    def on_mount(self) -> None:
        self.composed = True
        self.refresh_view()

    def on_show(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        """Called by the app after each refresh of its data, for the screen on top."""
        if not self.composed or not self.is_attached:
            return  # on_mount draws it once its widgets are there
        try:
            self.query_one("#banner", Static).update(self.app.banner())
            self.render_data()
        except NoMatches:
            pass  # the screen is being taken down (the app quits): nothing left to draw

    def render_data(self) -> None:
        pass

    async def fetch_into(self, path: str, selector: str, kind: type):
        """An API answer and the widget to draw it in; None when the daemon failed (said on
        the status line) or the screen closed while the answer was on its way."""
        try:
            data = await self.app.api.get(path)
        except DiagError as exc:
            self.app.report(exc)
            return None
        try:
            return data, self.query_one(selector, kind)
        except NoMatches:
            return None
