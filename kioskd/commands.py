"""Central's commands and appointments, as the hall obeys them: only genuine ones.

Each message from central is verified (kioskd/uplink/signed.py), its id taken once in the
journal's table of seen commands (a replay is refused, also after a restart), carried out through
the same paths as the local API, answered on `cmd-result/{op}` and audited: `command.done` for a
genuine command (ok or failed), `command.refused` for a void one, both journaled and so sent to
central. The appointments topic is kept too: the newest list is journaled
(`appointments.loaded`), so check-in works from it while the link is down and after a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from kioskd import config as config_mod, jsonlimits
from kioskd.engine import queue
from kioskd.errors import ConfigError, KioskdError
from kioskd.uplink.signed import CommandRefused, verify_appointments, verify_command

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.commands")

ANNOUNCE_MAX = 200  # characters: a board line, a spoken sentence


def _utc(t) -> str:
    return t.astimezone(timezone.utc).isoformat()


def _said_id(payload: bytes) -> str | None:
    """The id a refused message claims, for the audit (cut short: it is the sender's text)."""
    try:
        cid = jsonlimits.loads(payload).get("id")
    except (ValueError, AttributeError):
        return None
    return cid[:64] if isinstance(cid, str) else None


class CentralCommands:
    def __init__(self, hall: HallPort, key: bytes | None):
        self.hall = hall
        self.key = key
        # one at a time, in arrival order: two config reloads must not interleave
        self._one = asyncio.Lock()
        self.ops: dict[str, Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "announce": self._announce, "window.pause": self._window,
            "window.resume": self._window, "device.test": self._device_test,
            "config.reload": self._config_reload, "appointments.update": self._appointments,
            "zone.emergency": self._zone_emergency, "zone.deny": self._zone_deny}

    def received(self, suffix: str, payload: bytes) -> None:
        """From the uplink, on the loop: `cmd/OP` or `appointments`."""
        if suffix.startswith("cmd/"):
            self.hall.spawn(self.command(suffix[4:], payload), f"cmd:{suffix[4:]}")
        elif suffix == "appointments":
            self.hall.spawn(self.appointments_topic(payload), "appointments")

    def rekey(self, key: bytes | None) -> None:
        """The hall's command key changed (a reload): commands and lists are checked with it."""
        self.key = key

    # --- commands --------------------------------------------------------------------------
    async def command(self, op: str, payload: bytes) -> dict[str, Any]:
        hall = self.hall
        now = hall.now()
        try:
            cmd = verify_command(self.key, hall.cfg.hall.id, op, payload, now)
            if not hall.claim_command(cmd.id, _utc(cmd.expires), _utc(now)):
                raise CommandRefused(f"command {cmd.id} was carried out before", "cmd.replayed")
        except CommandRefused as exc:
            return self._refuse(op, _said_id(payload), exc)
        try:
            async with self._one:
                result = await self.ops[op](op, cmd.args)
        except Exception as exc:  # noqa: BLE001 - central gets an answer whatever went wrong
            code = exc.code if isinstance(exc, KioskdError) else "cmd.failed"
            if isinstance(exc, KioskdError):
                log.warning("central's %s (%s) failed: %s (%s)", op, cmd.id, exc, code)
            else:
                log.exception("central's %s (%s) failed", op, cmd.id)
            answer = {"status": "error", "error": code, "detail": str(exc),
                      "transaction": cmd.id}
            hall.record("command.done", {"id": cmd.id, "op": op, "status": "error",
                                         "error": code})
        else:
            log.info("central's %s (%s) carried out", op, cmd.id)
            answer = {"status": "ok", "transaction": cmd.id, "result": result}
            hall.record("command.done", {"id": cmd.id, "op": op, "status": "ok",
                                         "result": result})
        hall.answer_central(op, answer)
        return answer

    def _refuse(self, op: str, cid: str | None, exc: CommandRefused) -> dict[str, Any]:
        detail = str(exc)[:200]  # the sender's text may be in it: kept short
        log.warning("central command refused: %s on cmd/%s (id %s): %s", exc.code, op[:40], cid,
                    detail)
        self.hall.record("command.refused", {"id": cid, "op": op[:40], "code": exc.code,
                                             "detail": detail})
        answer = {"status": "error", "error": exc.code, "detail": detail, "transaction": cid}
        self.hall.answer_central(op[:40], answer)
        return answer

    # --- the ops ---------------------------------------------------------------------------
    async def _announce(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        text, seconds = args.get("text"), args.get("seconds", 30)
        if not isinstance(text, str) or not 0 < len(text.strip()) <= ANNOUNCE_MAX:
            raise CommandRefused(f"text: 1-{ANNOUNCE_MAX} characters", "cmd.args")
        if not isinstance(seconds, int) or not 1 <= seconds <= 3600:
            raise CommandRefused("seconds: 1-3600", "cmd.args")
        hall = self.hall
        hall.record("hall.announced", {"text": text, "seconds": seconds, "by": "central"})
        return await hall.announce(text, seconds)

    async def _window(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        n = args.get("window")
        if not isinstance(n, int) or isinstance(n, bool):
            raise CommandRefused("window: a window number", "cmd.args")
        action = op.split(".")[1]
        envs, _ = await self.hall.execute(queue.WindowAction(n, action))
        return {"window": n, "state": self.hall.state.windows[n].state,
                "seq": envs[-1].seq if envs else None}

    async def _device_test(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        dev = args.get("device")
        if not isinstance(dev, str) or not self.hall.device_known(dev):
            raise CommandRefused(f"no device {dev!r}", "cmd.args")
        return await self.hall.test_device(dev)

    async def _zone_emergency(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Central opens (or closes again) a 24-hour zone's doors: {zone, open, why}."""
        zone, on, why = args.get("zone"), args.get("open"), args.get("why")
        if not isinstance(zone, str) or not isinstance(on, bool) or not isinstance(why, str):
            raise CommandRefused("zone: an id, open: true or false, why: the reason", "cmd.args")
        return await self.hall.zones.emergency(zone, on, "central", why[:200])

    async def _zone_deny(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Central's deny list for the 24-hour zones, whole: {version, tokens: [keyed token]}."""
        tokens, version = args.get("tokens"), args.get("version")
        if not isinstance(version, str) or not isinstance(tokens, list) or not all(
                isinstance(t, str) and 16 <= len(t) <= 128 for t in tokens):
            raise CommandRefused("version: a string, tokens: keyed tokens (as events carry "
                                 "them)", "cmd.args")
        return self.hall.zones.deny(tokens, version)

    async def _config_reload(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """A new devices.toml (`toml`, else the file on disk again): validated in full first;
        one that fails is refused with its problems and the running one stays."""
        hall = self.hall
        path = hall.cfg.path
        text = args.get("toml")
        if text is not None and not isinstance(text, str):
            raise CommandRefused("toml: the new devices.toml as text", "cmd.args")
        candidate = path.with_name(path.name + ".new") if text is not None else path
        if text is not None:
            candidate.write_text(text, encoding="utf-8")
        try:
            new = config_mod.load(candidate)
        except ConfigError as exc:
            if text is not None:
                candidate.unlink(missing_ok=True)
            # the problems name the file the operator knows, not the candidate beside it
            raise ConfigError([p.replace(str(candidate), str(path))
                               for p in exc.problems]) from None
        if text is not None:
            new = dataclasses.replace(new, path=path)
        try:
            await hall.reload(new)  # refuses a config today's journal does not fit
        except ConfigError:
            if text is not None:
                candidate.unlink(missing_ok=True)
            raise
        if text is not None:
            candidate.replace(path)  # atomically: a crash leaves the old file or the new
        return {"config": str(path), "devices": len(new.devices), "windows": len(new.windows),
                "categories": len(new.categories)}

    async def _appointments(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        version, items = args.get("version"), args.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise CommandRefused("items: a list of appointments", "cmd.args")
        env = await self.hall.load_appointments(str(version if version is not None else ""),
                                                items)
        return {"loaded": len(items), "seq": env.seq}

    # --- the retained appointment list ----------------------------------------------------
    async def appointments_topic(self, payload: bytes) -> None:
        if not payload:
            return  # central cleared the retained list: keep what we have
        async with self._one:  # the version compared is the version replaced
            await self._appointments_topic(payload)

    async def _appointments_topic(self, payload: bytes) -> None:
        hall = self.hall
        try:
            version, items = verify_appointments(self.key, hall.cfg.hall.id, payload)
            have = hall.state.appointments_version
            have_n = int(have) if have.isdigit() else -1
            if version == have_n:
                return  # the same list again (every reconnect brings the retained copy)
            if version < have_n:
                raise CommandRefused(f"version {version} is older than the loaded {have}",
                                     "cmd.stale_version")
            env = await hall.load_appointments(str(version), items)
        except CommandRefused as exc:
            self._refuse("appointments", None, exc)
            return
        except KioskdError as exc:
            log.warning("central's appointments (version %s) not loaded: %s", version, exc.code)
            hall.record("command.done", {"id": None, "op": "appointments", "status": "error",
                                         "error": exc.code})
            return
        log.info("appointments version %d from central: %d loaded (seq %d)", version,
                 len(items), env.seq)
