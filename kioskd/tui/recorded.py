"""A hall recorded from a real simulated one — its API's answers and its event stream — played
back to the console. Snapshot tests and the screenshots in docs/ need screens that do not move
(a live hall's clocks and counters always do); everything else tests against the live hall.

    python -m kioskd.tui.recorded record tests/fixtures/diag-hall.json   # from a SimHall
    python -m kioskd.tui.recorded shots tests/fixtures/diag-hall.json docs/   # SVG per screen
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
from pathlib import Path
from typing import Any, AsyncIterator

from kioskd.tui.client import DiagError

GETS = ["/api/devices", "/api/queue", "/api/uplink", "/api/logs"]
SCREENS = [("devices", []), ("device", ["down", "enter", "s"]), ("queue", ["q"]), ("events", ["e"]),
           ("uplink", ["u"]), ("logs", ["l"]), ("help", ["question_mark"])]


class RecordedApi:
    """The console's ApiClient, answering from a recording."""

    def __init__(self, recording: dict[str, Any]):
        self.rec = recording
        self.base = recording["base"]
        self.token = ""

    async def get(self, path: str) -> Any:
        key = path.split("?", 1)[0]
        if key not in self.rec["get"]:
            raise DiagError(f"not in the recording: {key}", "recorded.missing")
        return copy.deepcopy(self.rec["get"][key])

    async def post(self, path: str, body: dict | None = None) -> Any:
        return copy.deepcopy(self.rec["post"].get(path, {"result": {"recorded": True}}))

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        for env in self.rec["events"]:
            yield env
        await asyncio.Event().wait()  # a recording says nothing more

    async def close(self) -> None:
        pass


def load(path: Path | str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


async def record(out: Path) -> None:
    """A demo hall on a test clock: a few citizens, a card read, a test ticket; then every
    answer the console asks for, and the event stream, written to `out`."""
    import logging
    import tempfile
    from datetime import date

    import aiohttp

    from kioskd import config
    from kioskd.sim.hall import SimHall
    from kioskd.sim.idcard import make_card
    from kioskd.sim.scenario import token

    logging.basicConfig(level=logging.INFO)  # the Logs screen shows what the daemon said
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as d:
        sim = SimHall(config.load(repo / "devices.toml"), Path(d), broker="auto", api_port=0)
        hall = await sim.start()
        events: list[dict] = []
        hall.listeners.add(lambda env: events.append(env.to_dict()))
        try:
            tech = {"Authorization": "Bearer " + token(hall.cfg, "technician")}
            async with aiohttp.ClientSession(headers=tech) as http:
                async def call(method, path, body=None, role="technician", **who):
                    head = {"Authorization": "Bearer " + token(hall.cfg, role, **who)}
                    async with http.request(method, hall.api_url + path, json=body,
                                            headers=head) as r:
                        return await r.json()
                for cat in "AAB":
                    await call("POST", "/api/tickets", {"category": cat}, role="kiosk")
                await call("POST", "/api/windows/1/call-next", role="clerk", window=1)
                sim.twin("reader-k1").place(make_card("王小明", date(1958, 4, 2), serial=5))
                await hall.watch.until(lambda: "reader-k1" in hall.reader_cards, 5, "card")
                printed = await call("POST", "/api/devices/printer-k1/print-test")
                status = await call("POST", "/api/devices/printer-k1/status")
                rec: dict[str, Any] = {"base": "http://127.0.0.1:8470", "get": {}, "post": {
                    "/api/devices/printer-k1/print-test": printed,
                    "/api/devices/printer-k1/status": status}, "events": events}
                for path in GETS:
                    rec["get"][path] = await call("GET", path)
                for dev in hall.cfg.devices:
                    rec["get"][f"/api/devices/{dev.id}/frames"] = await call(
                        "GET", f"/api/devices/{dev.id}/frames?n=30")
                    rec["get"][f"/api/devices/{dev.id}/last"] = await call(
                        "GET", f"/api/devices/{dev.id}/last")
        finally:
            await sim.stop()
    rec["get"]["/api/uplink"]["broker"] = "127.0.0.1:1883"  # the sim's port is random
    out.write_text(json.dumps(rec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


async def shots(recording: Path, outdir: Path, sizes=((120, 40),)) -> list[Path]:
    """An SVG of each screen, as Textual draws it."""
    from kioskd.tui.app import DiagApp

    made = []
    for w, h in sizes:
        for name, keys in SCREENS:
            app = DiagApp(RecordedApi(load(recording)))
            async with app.run_test(size=(w, h)) as pilot:
                await pilot.pause(0.3)
                for key in keys:
                    await pilot.press(key)
                    await pilot.pause(0.3)
                path = outdir / f"diag-{name}.svg"
                app.save_screenshot(str(path))
                made.append(path)
    return made


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "record":
        asyncio.run(record(Path(argv[1])))
    elif len(argv) == 3 and argv[0] == "shots":
        for p in asyncio.run(shots(Path(argv[1]), Path(argv[2]))):
            print(p)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
