"""Record a simulated hall for the console's snapshot tests (kioskd.tui.recorded plays it back):
its API's answers and its event stream, from the demo hall on a test clock.

    python -m kioskd.sim.recording tests/fixtures/diag-hall.json

Here, beside the simulator it drives: the console itself never imports the simulated hall.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from kioskd.tui.recorded import GETS


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
    repo = Path(__file__).resolve().parents[1]  # sim/ is kioskd.sim, the repository above
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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    asyncio.run(record(Path(sys.argv[1])))
