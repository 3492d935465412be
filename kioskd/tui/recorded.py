"""A hall recorded from a real simulated one — its API's answers and its event stream — played
back to the console. Snapshot tests and the screenshots in docs/ need screens that do not move
(a live hall's clocks and counters always do); everything else tests against the live hall.

    python -m kioskd.sim.recording tests/fixtures/diag-hall.json      # from a SimHall
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
    if len(argv) == 3 and argv[0] == "shots":
        for p in asyncio.run(shots(Path(argv[1]), Path(argv[2]))):
            print(p)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
