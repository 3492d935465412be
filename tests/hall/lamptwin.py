"""The example family's twin (see tests/hall/lampfamily): what a lamp shows, at the wire."""

from __future__ import annotations

from lampfamily.driver import Lines

from kioskd.sim.twin import Twin


class LampTwin(Twin):
    def __init__(self, dev, link):
        super().__init__(dev, link)
        self.codec = Lines()
        self.shown: list[str] = []

    def on_frame(self, frame: str) -> None:
        if frame == "PING":
            self.send(b"LAMP v1\n")
            return
        verb, _, rest = frame.partition(" ")
        self.shown.append(rest if verb == "SHOW" else verb)
        self.send(b"OK\n")
