"""The hall's keeper of its 24-hour zones: cards at the zone's readers, the doors' sensors and
links, held-open checks, emergency opening and central's deny list, each journaled (docs/
central.md) by the pure rules of `kioskd.zone.rules`."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kioskd.drivers.registry import Role
from kioskd.errors import KioskdError, Refused
from kioskd.zone.rules import Door, Entry, Holder, Zone

if TYPE_CHECKING:
    from kioskd.config import Config, DeviceConfig
    from kioskd.drivers.relayboard import Sensed
    from kioskd.hall import Hall
    from kioskd.hall.inputs import KioskCard

log = logging.getLogger("kioskd.zone")

CHECK_S = 1.0  # how often doors are checked for being held open


class ZoneKeeper:
    def __init__(self, hall: Hall):
        self.hall = hall
        self.zones: dict[str, Zone] = {}
        self.denied: frozenset[str] = frozenset()
        self.deny_version = ""
        self.configure(hall.cfg)

    def configure(self, cfg: Config) -> None:
        """The zones of a (new) config; a zone that stays keeps its count and emergency."""
        old = self.zones
        self.zones = {}
        for rules in cfg.zones:
            doors = {d.id: Door(d.id) for d in cfg.devices
                     if d.zone == rules.id and d.role is Role.GATE}
            zone = self.zones[rules.id] = Zone(rules, doors, self.denied)
            if rules.id in old:
                zone.occupancy = old[rules.id].occupancy
                if old[rules.id].emergency_by:
                    zone.emergency(True, old[rules.id].emergency_by, "kept over a reload")

    def _record(self, events: list[tuple[str, dict]]) -> None:
        for type_, data in events:
            self.hall.record(type_, data)
        if events:
            self.hall.watch.changed()

    # --- what the zone's devices report ------------------------------------------------------------
    def card(self, dev: DeviceConfig, card: KioskCard) -> Entry:
        """A card read at a zone's reader: one entry (its doors pulsed) or a refusal."""
        zone = self.zones[dev.zone]
        holder = Holder(card.holder.token, card.holder.masked_name) if card.holder else None
        entry, events = zone.card(dev.id, holder, card.error, self.hall.now(),
                                  self.hall.monotonic())
        self._record(events)
        log.info("zone %s: card at %s: %s", zone.rules.id, dev.id,
                 f"entry, doors {', '.join(entry.doors)}" if entry.granted else entry.code)
        for door in entry.doors:
            self.hall.spawn(self._open(zone, door), f"zone-open:{door}")
        return entry

    async def _open(self, zone: Zone, door: str) -> None:
        try:
            await self.hall.drivers[door].pulse("door")
        except KioskdError as exc:  # the grant stands; the door did not get it
            log.warning("zone %s: door %s not pulsed: %s (%s)", zone.rules.id, door, exc, exc.code)
            self._record([("gate.fault", {"zone": zone.rules.id, "door": door, "fault": True,
                                          "detail": f"{exc.code}: not pulsed",
                                          "fails": zone.rules.fails})])

    def sensed(self, dev: DeviceConfig, sensed: Sensed) -> None:
        zone = self.zones.get(dev.zone or "")
        if zone is None or dev.id not in zone.doors:
            return
        is_open = self.hall.drivers[dev.id].door_open(sensed.states)
        self._record(zone.sensed(dev.id, sensed.states, is_open, sensed.first,
                                 self.hall.monotonic()))

    def link(self, dev: DeviceConfig, state: str, detail: str) -> None:
        """A door's controller lost (absent, fault) or back: `gate.fault`, and the zone acts as
        its `fails` says."""
        zone = self.zones.get(dev.zone or "")
        if zone is None or dev.id not in zone.doors:
            return
        if state in ("absent", "fault"):
            self._record(zone.lost(dev.id, True, detail))
        elif state == "ready":
            self._record(zone.lost(dev.id, False, detail))
            if zone.emergency_by:  # it held its door open before it was lost
                self.hall.spawn(self._hold(zone, dev.id, True), f"zone-hold:{dev.id}")

    # --- time, the technician and central -------------------------------------------------------
    async def technician_pulse(self, dev: DeviceConfig) -> dict[str, Any]:
        """The console's "pulse open": the door opens once, journaled as the technician's."""
        zone = self.zones.get(dev.zone or "")
        if zone is not None and dev.id in zone.doors:
            zone.bid(dev.id, "technician", self.hall.monotonic())
        return await self.hall.drivers[dev.id].handle("pulse")

    def check(self) -> None:
        now = self.hall.monotonic()
        for zone in self.zones.values():
            self._record(zone.tick(now))

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(CHECK_S)

    async def emergency(self, zone_id: str, on: bool, by: str, why: str) -> dict[str, Any]:
        """Every door of the zone held open (fire, evacuation) or let go; journaled with who
        and why. A door that cannot be told is named in the answer."""
        zone = self.zones.get(zone_id)
        if zone is None:
            raise Refused("zone.unknown", f"no zone {zone_id!r} (has {', '.join(self.zones)})")
        if not why.strip():
            raise Refused("zone.no_reason", "say why the zone's doors are opened (it is audited)")
        self._record(zone.emergency(on, by, why))
        log.warning("zone %s: emergency %s by %s: %s", zone_id, "OPEN" if on else "over", by, why)
        failed = [d for d, ok in zip(zone.doors, await asyncio.gather(
            *(self._hold(zone, d, on) for d in zone.doors))) if not ok]
        return {"zone": zone_id, "open": on, "doors": list(zone.doors), "not_reached": failed}

    async def _hold(self, zone: Zone, door: str, on: bool) -> bool:
        try:
            await self.hall.drivers[door].hold("door", on)
            return True
        except KioskdError as exc:
            log.error("zone %s: door %s not %s: %s", zone.rules.id, door,
                      "held open" if on else "let go", exc)
            return False

    def deny(self, tokens: list[str], version: str) -> dict[str, Any]:
        """Central's deny list (keyed tokens, as the hall's events carry them), whole each time."""
        self.denied, self.deny_version = frozenset(tokens), version
        for zone in self.zones.values():
            zone.denied = self.denied
        self._record([("zone.denylist", {"version": version, "count": len(self.denied)})])
        return {"version": version, "count": len(self.denied)}

    def view(self) -> list[dict[str, Any]]:
        return [z.view() for z in self.zones.values()]
