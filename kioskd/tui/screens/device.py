"""One device: what it is, its state and counters, the actions its type has, and a raw view of
the last frames exchanged with it (hex and decoded, personal data masked by the daemon)."""

from __future__ import annotations

import json
import string

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input, Static

from kioskd.tui.client import DiagError
from kioskd.tui.screens.base import DiagScreen
from kioskd.tui.screens.devices import state_text
from kioskd.tui.view import clock, plain, short

# a device's action keys: any letter but the console's own (devices, queue, events, uplink, logs)
KEYS = [k for k in string.ascii_lowercase if k not in "dqeul"]


def actions_for(device: dict) -> list[tuple[str, str, str]]:
    """The device's actions as its family declares them (the daemon lists them with each
    device): key, name, what the footer says."""
    return [(a["key"], a["name"], a["label"]) for a in device.get("actions", [])]


def route_of(device: dict, name: str) -> str:
    """An action's own route ("GET /api/devices/ID/last"), or "" for the common one."""
    return next((a.get("route", "") for a in device.get("actions", []) if a["name"] == name), "")


class DeviceScreen(DiagScreen):
    TITLE_TEXT = "Device"
    AUTO_FOCUS = "#frames"  # not the (hidden) text box: keys are actions here
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"),
                *[Binding(k, f"do('{k}')", "", show=False) for k in KEYS]]

    def __init__(self, dev_id: str):
        super().__init__()
        self.dev_id = dev_id
        self.result_text = ""
        self.busy = False  # an action is waiting for its answer

    def body(self) -> ComposeResult:
        yield Static("", id="device-info")
        yield Static("", id="device-actions")
        yield Static("", id="device-result")
        yield Input(placeholder="text for the board, Enter to show it", id="board-text")
        yield Static("Last frames (newest last; personal data masked)", classes="section")
        table = DataTable(id="frames", zebra_stripes=True)
        table.add_columns("time", "dir", "decoded", "hex")
        yield table

    def on_mount(self) -> None:
        self.query_one("#board-text", Input).display = False
        super().on_mount()

    def device(self) -> dict:
        return next((d for d in self.app.data.get("devices", []) if d["id"] == self.dev_id), {})

    def render_data(self) -> None:
        d = self.device()
        if not d:
            self.query_one("#device-info", Static).update(f"{self.dev_id}: not in this hall")
            return
        where = f"kiosk {d['kiosk']}" if d.get("kiosk") else (
            f"window {d['window']}" if d.get("window") is not None else (
                f"windows {', '.join(map(str, d['windows']))}" if d.get("windows") else "hall"))
        info = (f"[b]{d['id']}[/b]  {d['type']}  at {where}\n"
                f"state {state_text(d)} since {d['since'][11:19]}  "
                f"{escape(short(d.get('detail') or '', 60))}\n"
                f"frames in {d['frames_in']}  out {d['frames_out']}  errors {d['errors']}  "
                f"reconnects {d['reconnects']}\n"
                f"last error: {escape(d.get('last_error') or '-')}")
        if d["type"].startswith("camera."):
            info += "\n" + self.last_page()
        self.query_one("#device-info", Static).update(info)
        self.query_one("#device-actions", Static).update(
            "  ".join(f"[b]{k}[/b] {label}" for k, _, label in actions_for(d)))
        self.query_one("#device-result", Static).update(self.result_text)
        self.load_frames()

    def last_page(self) -> str:
        """The camera's last page, from the event stream (`scan.captured`)."""
        page = next((e["data"] for e in reversed(self.app.events)
                     if e.get("type") == "scan.captured"
                     and e.get("data", {}).get("device") == self.dev_id), None)
        if page is None:
            return "last page: none captured yet (c)"
        return (f"last page: {page['file']}  {page['width']}x{page['height']}  "
                f"{'cropped' if page['cropped'] else 'whole frame'}  {page['codes']} codes")

    @work(exclusive=True, group="frames")
    async def load_frames(self) -> None:
        got = await self.fetch_into(f"/api/devices/{self.dev_id}/frames?n=30", "#frames",
                                    DataTable)
        if got is None:
            return
        answer, table = got
        frames = answer["frames"]
        table.clear()
        for f in frames:
            table.add_row(*plain(clock(f["at"]), f["dir"], short(f["decoded"], 50),
                                 short(f["hex"], 70)))
        if frames:
            table.move_cursor(row=len(frames) - 1)

    def action_do(self, key: str) -> None:
        d = self.device()
        action = next((a for k, a, _ in actions_for(d) if k == key), None)
        if action is None:
            return
        if action == "show":
            box = self.query_one("#board-text", Input)
            box.display = True
            box.focus()
            return
        self.run_action(action, {})

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one("#frames", DataTable).focus()
        self.run_action("show", {"text": event.value})

    @work(group="action")
    async def run_action(self, action: str, args: dict) -> None:
        self.busy = True
        self.result_text = f"{action}: waiting for the device…"
        self.query_one("#device-result", Static).update(self.result_text)
        method, _, path = route_of(self.device(), action).partition(" ")
        try:
            if method == "GET":
                answer = await self.app.api.get(path)
            elif method == "POST":
                answer = await self.app.api.post(path, args)
            else:
                answer = (await self.app.api.post(f"/api/devices/{self.dev_id}/{action}",
                                                  args))["result"]
        except DiagError as exc:
            self.result_text = f"{action}: [b]failed[/b] {exc.code}: {escape(str(exc))}"
        else:
            self.result_text = f"{action}: {escape(describe(action, answer))}"
        self.busy = False
        try:
            self.query_one("#device-result", Static).update(self.result_text)
        except NoMatches:
            return  # the screen closed while the answer was on its way
        await self.app.refresh_data()


def describe(action: str, answer) -> str:
    """An action's answer, as a technician reads it."""
    if action == "status" and isinstance(answer, dict) and "paper" in answer:
        return (f"condition {answer['condition']}, paper {answer['paper']}, "
                f"online {answer['online']}, cover open {answer['cover_open']}, "
                f"cutter error {answer['cutter_error']}")
    if action == "last":
        card, rating, codes = answer.get("card"), answer.get("test_rating"), answer.get("codes")
        if rating is not None:
            return f"the pad answered the test prompt with {rating}"
        if codes:
            return f"{len(codes)} codes: " + ", ".join(
                f"{c['symbology'] or 'bar'} ({c['length']} characters)" for c in codes)
        if card is None:
            return "nothing read yet"
        if card.get("error"):
            return f"card refused: {card['error']}"
        return (f"{card['name']}, age {card['age']}, lane {card['lane'] or 'normal'}, "
                f"token {card['token']} ({card['seconds_ago']} s ago)")
    if action == "enroll":
        return (f"enrollment code {answer['code']} (good for {answer['expires_in_s'] // 60} "
                f"minutes, once): type it on the tablet at /pad/{answer['window']}, or open "
                f"{answer['url']} there")
    if action == "print-test":
        return f"printed {answer.get('bytes')} bytes, condition {answer.get('condition')}"
    return short(json.dumps(answer, ensure_ascii=False), 200)
