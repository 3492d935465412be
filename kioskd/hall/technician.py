"""The technician's device actions and the device views the console and API read."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kioskd.drivers.registry import TYPES, Role
from kioskd.engine import queue
from kioskd.errors import Refused
from kioskd.uplink.mqtt import rfc3339

log = logging.getLogger("kioskd")


TEST_TICKET = "T000"  # the technician's test prompts and test tickets: never a real number
TECHNICIAN_COMMANDS = frozenset({"test", "status", "ping", "capture", "clear"})  # no arguments


class Technician:
    """Part of Hall: a device's test, reconnect and views."""

    # --- the technician's device actions ---------------------------------------------------
    async def device_action(self, dev_id: str, command: str, args: dict[str, Any]) -> Any:
        """A technician's test of one device: the hall's own actions (a test ticket, a test
        prompt, a board's test pattern, a reconnect), else the driver's command."""
        driver = self.drivers[dev_id]
        dev = self.cfg.device(dev_id)
        if command == "reconnect":
            return await self.reconnect_device(dev_id)
        if command == "print-test":
            text = self.ticket_text(TEST_TICKET, "设备测试", 0, None,
                                    self.now().isoformat(timespec="seconds"))
            return await driver.handle("print", ticket=text, fields=self.cfg.ticket.fields)
        if command == "prompt-test":
            self.test_ratings.pop(dev_id, None)
            return await driver.handle("prompt", window=dev.window, ticket=TEST_TICKET,
                                       clerk="设备测试", reasons=self.cfg.rating.reasons,
                                       timeout_s=self.cfg.queue.rating_timeout_s)
        if command == "pattern":
            return await driver.handle("show", text="测试 TEST 0123456789 请到8号窗口")
        if command == "show" and dev.role is Role.BOARD:
            # the board's own text comes back with its next change, or on `restore`
            return await driver.handle("show", text=str(args.get("text", ""))[:200])
        if command == "restore" and dev.role is Role.BOARD:
            return await self.boards.restore(dev)
        # a door or compartment the technician opens is theirs in the journal, not forced
        if command == "pulse" and dev.role is Role.GATE:
            return await self.zones.technician_pulse(dev)
        if command == "open" and dev.role is Role.LOCKER:
            return await self.lockers.technician_open(dev_id, 1)
        declared = {a.name for a in TYPES[dev.type].all_actions() if not a.route}
        if command not in TECHNICIAN_COMMANDS | declared:
            # print, prompt, idle...: the hall's effects, built by the hall from its own state
            # (a ticket, a prompt's seal), never from a request body
            raise Refused("device.command_unknown", f"{command[:40]!r} is not a technician's "
                          f"command; these are: {', '.join(sorted(TECHNICIAN_COMMANDS))}, "
                          "print-test, prompt-test, pattern, show, restore, reconnect")
        return await driver.handle(command)  # a family's own action takes no arguments

    async def reconnect_device(self, dev_id: str) -> dict[str, Any]:
        """Close the device and open it again (a technician's "reconnect"), as after a drop."""
        task = self._device_tasks[dev_id]
        task.cancel()  # the supervisor closes the driver on its way out
        await asyncio.gather(task, return_exceptions=True)
        self.drivers[dev_id].counters.reconnects += 1
        self._supervise(dev_id)
        return {"reconnecting": dev_id}

    def reader_card(self, dev_id: str) -> dict[str, Any] | None:
        """The last card a reader read, as the technician may see it: masked fields only."""
        card = self.reader_cards.get(dev_id)
        if card is None:
            return None
        ago = round(time.monotonic() - card.at, 1)
        if card.error:
            return {"error": card.error, "seconds_ago": ago}
        h = card.holder
        return {"name": h.masked_name, "age": h.age, "lane": queue.age_lane(self.cfg.queue, h.age),
                "token": h.token[:8] + "…", "seconds_ago": ago}

    # --- views for the API ---------------------------------------------------------------------
    def devices_view(self) -> list[dict[str, Any]]:
        out = []
        for dev_id, sup in self.supervisors.items():
            d = self.cfg.device(dev_id)
            bus = sorted(d.options.get("keypads", {}).values()) if d.window is None else []
            actions = [{"key": a.key, "name": a.name, "label": a.label,
                        "route": a.route.format(id=dev_id)} for a in TYPES[d.type].all_actions()]
            out.append({"id": dev_id, "type": d.type, "role": d.role, "url": str(d.url),
                        "kiosk": d.kiosk, "window": d.window, **({"windows": bus} if bus else {}),
                        "actions": actions,
                        "state": sup.state.state, "detail": sup.state.detail,
                        "condition": sup.state.condition, "since": rfc3339(sup.state.since),
                        **self.drivers[dev_id].health()})
        return out
