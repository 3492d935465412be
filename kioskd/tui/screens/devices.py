"""Devices: every device of the hall with its state, since when, counters and last error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from kioskd.tui.screens.base import DiagScreen
from kioskd.tui.view import plain, since, short

COLUMNS = ("device", "type", "state", "since", "in", "out", "err", "rec", "last error")


class DevicesScreen(DiagScreen):
    TITLE_TEXT = "Devices"
    BINDINGS = [Binding("enter", "open", "Open device", show=True)]

    def body(self) -> ComposeResult:
        table = DataTable(id="devices", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table

    def render_data(self) -> None:
        table = self.query_one("#devices", DataTable)
        devices = self.app.data.get("devices", [])
        keep = table.cursor_row
        table.clear()
        for d in devices:
            table.add_row(*plain(d["id"], d["type"], state_text(d), since(d["since"]),
                                 d["frames_in"], d["frames_out"], d["errors"], d["reconnects"],
                                 short(d.get("last_error") or "", 40)), key=d["id"])
        if devices:
            table.move_cursor(row=min(keep, len(devices) - 1))

    def action_open(self) -> None:
        table = self.query_one("#devices", DataTable)
        if table.row_count:
            dev_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.open_device(dev_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_device(event.row_key.value)


def state_text(d: dict) -> str:
    cond = d.get("condition")
    return d["state"] if cond in (None, "ok") else f"{d['state']} ({cond})"
