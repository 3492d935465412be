"""Rating tablets (pad.web): enrolled once by a technician, each with its own key and token.

A technician asks for a one-time enrollment code for a pad.web device (`POST
/api/pads/{id}/enroll`, the console, or `kioskd sim` for the demo). The tablet opens
`/pad/{n}?enroll=CODE`, or types the code on the page. The daemon then makes, for that device
alone, a token (kept in the tablet's HttpOnly cookie: it opens that pad's page and link and
nothing else) and a key (handed to the page once, kept in its storage: every rating and
signature is sealed with it and checked as a physical pad's are). Enrolling again replaces
both: the tablet enrolled before is out at once.

Kept in STATE/keys/tablets/DEVICE.json (0600): the key and the token's SHA-256 (the token itself
is nowhere on the box's disk). A code is 8 digits, good for CODE_TTL_S and for CODE_TRIES
wrong tries; enrollments are audited by the caller.
"""

from __future__ import annotations

import hashlib
import logging
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kioskd.config import ApiClient, DeviceConfig
from kioskd.errors import Refused

log = logging.getLogger("kioskd.tablets")

CODE_TTL_S = 600
CODE_TRIES = 5
KEY_BYTES = 32


@dataclass(frozen=True)
class Offer:
    device: str
    window: int
    code: str
    expires_in_s: int


@dataclass
class _Pending:
    code: str
    until: float
    tries: int = 0


@dataclass(frozen=True)
class Enrolled:
    device: str
    window: int
    key: bytes
    token_sha256: str
    key_taken: bool  # the page has fetched its key: it is never handed out again


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tablets:
    def __init__(self, root: Path, devices: tuple[DeviceConfig, ...],
                 monotonic: Callable[[], float] = time.monotonic):
        self.root = Path(root)
        self.monotonic = monotonic
        self.devices = {d.id: d for d in devices if d.type == "pad.web"}
        self._pending: dict[str, _Pending] = {}
        self.enrolled: dict[str, Enrolled] = {}
        for dev in self.devices.values():
            found = self._read(dev)
            if found:
                self.enrolled[dev.id] = found

    def device_of_window(self, window: int) -> DeviceConfig | None:
        return next((d for d in self.devices.values() if d.window == window), None)

    # --- the technician's side -------------------------------------------------------------------
    def offer(self, device: str) -> Offer:
        dev = self.devices.get(device)
        if dev is None:
            raise Refused("tablet.unknown", f"{device!r} is no pad.web device in devices.toml")
        code = f"{secrets.randbelow(10 ** 8):08d}"
        self._pending[device] = _Pending(code, self.monotonic() + CODE_TTL_S)
        return Offer(device, dev.window or 0, code, CODE_TTL_S)

    # --- the tablet's side ---------------------------------------------------------------------------
    def redeem(self, window: int, code: str) -> tuple[Enrolled, str]:
        """The tablet at `window` gives its code: a new key and token (returned once; the
        token's hash is kept). Refused: no pad.web at that window, no code asked, a wrong,
        spent or expired code (CODE_TRIES wrong ones void it)."""
        dev = self.device_of_window(window)
        if dev is None:
            raise Refused("tablet.unknown", f"window {window} has no pad.web device")
        pending = self._pending.get(dev.id)
        if pending is None or self.monotonic() > pending.until:
            self._pending.pop(dev.id, None)
            raise Refused("tablet.no_code", "no enrollment code is open for this tablet: a "
                                            "technician asks for one")
        if not hmac.compare_digest(pending.code.encode(), code.strip().encode()):
            pending.tries += 1
            if pending.tries >= CODE_TRIES:
                del self._pending[dev.id]
                raise Refused("tablet.code_void", f"{CODE_TRIES} wrong codes: this code is void, "
                                                  "a technician asks for a new one")
            raise Refused("tablet.bad_code", "that is not the enrollment code")
        del self._pending[dev.id]
        token = secrets.token_urlsafe(32)
        found = Enrolled(dev.id, dev.window or 0, secrets.token_bytes(KEY_BYTES), _sha(token),
                         key_taken=False)
        self._write(found)
        self.enrolled[dev.id] = found
        return found, token

    def take_key(self, device: str) -> bytes:
        """The key, for the page just enrolled, once: a page that lost it is enrolled again."""
        found = self.enrolled.get(device)
        if found is None or found.key_taken:
            raise Refused("tablet.key_taken", "this tablet's key was handed out already: a "
                                              "technician enrolls the tablet again")
        found = Enrolled(found.device, found.window, found.key, found.token_sha256, True)
        self._write(found)
        self.enrolled[device] = found
        return found.key

    def key(self, device: str) -> bytes | None:
        found = self.enrolled.get(device)
        return found.key if found else None

    def client_for(self, token: str) -> ApiClient | None:
        """The API client of an enrolled tablet's token: role pad, its window, named as the
        device (a pad's token opens that pad's page and link only)."""
        if not token:
            return None
        digest = _sha(token)
        for found in self.enrolled.values():
            if hmac.compare_digest(found.token_sha256, digest):
                return ApiClient(found.device, "pad", "", window=found.window)
        return None

    # --- disk ----------------------------------------------------------------------------------------
    def _path(self, device: str) -> Path:
        return self.root / f"{device}.json"

    def _read(self, dev: DeviceConfig) -> Enrolled | None:
        try:
            raw = json.loads(self._path(dev.id).read_text())
            return Enrolled(dev.id, dev.window or 0, bytes.fromhex(raw["key"]), raw["token_sha256"],
                            bool(raw.get("key_taken")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # the hall runs on: this tablet alone is not enrolled until a technician does it again
            log.error("%s: unreadable (%s); the tablet must be enrolled again",
                      self._path(dev.id), exc)
            return None

    def _write(self, found: Enrolled) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._path(found.device).with_suffix(".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"key": found.key.hex(), "token_sha256": found.token_sha256,
                       "key_taken": found.key_taken}, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self._path(found.device))
