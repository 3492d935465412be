"""Uplink: the central link — connected or not, backlog, central's acknowledged seq, reconnects."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Static

from kioskd.tui.screens.base import DiagScreen

FIELDS = (("connected", "connected"), ("broker", "broker"), ("tls", "TLS"),
          ("prefix", "topic prefix"), ("backlog", "rows not acknowledged"),
          ("journal_seq", "journal at seq"), ("central_upto", "central acknowledged up to"),
          ("delivered_upto", "delivered up to"), ("reconnects", "reconnects"),
          ("retry_s", "reconnect backoff (s)"), ("boot", "boot"), ("last_error", "last error"))


class UplinkScreen(DiagScreen):
    TITLE_TEXT = "Uplink"

    def body(self) -> ComposeResult:
        yield Static("", id="uplink")

    def render_data(self) -> None:
        up = self.app.data.get("uplink") or {}
        rows = []
        for key, label in FIELDS:
            value = up.get(key, "?")
            if key == "connected":
                value = "[b green]yes[/]" if value is True else "[b red]no[/]"
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, list):
                value = " to ".join(f"{v:g}" for v in value)
            elif isinstance(value, str):
                value = escape(value)
            rows.append(f"{label:<28} {value if value not in ('', None) else '-'}")
        self.query_one("#uplink", Static).update("\n".join(rows))
