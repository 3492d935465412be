"""What the API and central's commands read of the hall, as answers: health, the uplink, the
journal's past days, the log ring, a device's frames and last reads. They ask these, not the
journal, drivers or supervisors behind them (kioskd.hall.port)."""

from __future__ import annotations

from typing import Any, Callable

from kioskd.errors import Refused
from kioskd.journal import Envelope


class Views:
    """Part of Hall: answers for the port."""

    def listen(self, listener: Callable[[Envelope], None]) -> None:
        """Every event as it is published (the API's live stream)."""
        self.listeners.add(listener)

    def unlisten(self, listener: Callable[[Envelope], None]) -> None:
        self.listeners.discard(listener)

    def health_view(self) -> dict[str, Any]:
        states = [s.state.state for s in self.supervisors.values()]
        return {"devices": {st: states.count(st) for st in sorted(set(states))},
                "uplink": {"connected": self.uplink.connected}, "clock": self.clock_view(),
                "disk": self.disk_view(), "journal_seq": self.journal.last_seq}

    def uplink_view(self) -> dict[str, Any]:
        up = self.uplink
        return {**up.status(), "broker": f"{up.cfg.host}:{up.cfg.port}", "tls": up.cfg.tls,
                "prefix": up.prefix, "boot": up.boot, "journal_seq": self.journal.last_seq,
                "clock": self.clock_view(), "disk": self.disk_view()}

    def past_days(self) -> list[dict[str, Any]]:
        """Each past day's statistics as the journal recorded them at its midnight."""
        return [e.data for e in self.journal.of_type("stats.daily") if "day" in e.data]

    def journal_counts(self, day: str, next_day: str, types: tuple[str, ...]) -> dict[str, int]:
        return self.journal.count_types(day, next_day, types)

    def recent_logs(self, n: int) -> list[Any]:
        return self.logs.last(n)

    def device_known(self, dev_id: str) -> bool:
        return dev_id in self.drivers

    def device_frames(self, dev_id: str, n: int) -> list[Any]:
        """The last frames exchanged with a device (masked by its driver)."""
        return list(self.drivers[dev_id].trace)[-n:]

    def device_last(self, dev_id: str) -> dict[str, Any]:
        """What a device last read or answered: a card, a test rating, codes."""
        return {"device": dev_id, "card": self.reader_card(dev_id),
                "test_rating": self.test_ratings.get(dev_id),
                "codes": self.last_codes.get(dev_id, [])}

    async def test_device(self, dev_id: str) -> dict[str, Any]:
        """Central's device.test: the device's state and its answer to a test."""
        driver = self.drivers.get(dev_id)
        if driver is None:
            raise Refused("device.unknown", f"no device {dev_id!r}")
        return {"device": dev_id, "state": self.supervisors[dev_id].state.state,
                **await driver.handle("test")}

    def claim_command(self, cmd_id: str, expires: str, now: str) -> bool:
        """Central's command `cmd_id` is carried out once: False when it was before."""
        return self.journal.claim_command(cmd_id, expires, now)

    def answer_central(self, op: str, answer: dict[str, Any]) -> None:
        self.uplink.answer(op, answer)
