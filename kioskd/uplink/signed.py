"""Signed messages from central, pure: what a command is, how it is signed, what makes one void.

A hall box on a government network obeys only genuine commands. Each command is

    {prefix}/cmd/{op}   {"id": "…", "issued": RFC 3339, "expires": RFC 3339, "args": {…},
                         "sig": hex HMAC-SHA256}

and the signature covers the hall, the op and the canonical JSON of everything but `sig`
(sorted keys, no spaces, UTF-8), so a command cannot be moved to another hall or another op.
The key is the hall's own (`[uplink] command_key_file`), shared with central only. A command is
void when it is unsigned, wrongly signed, not yet issued, expired, valid for longer than
MAX_TTL_S (so the list of seen ids stays bounded), or its id was seen before (a replay).

Central's retained `{prefix}/appointments` carries the same `sig` over `{version, issued,
items}` without an expiry (it stays on the broker); an older version than the one loaded is void.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kioskd import jsonlimits
from kioskd.errors import KioskdError

OPS = ("announce", "window.pause", "window.resume", "device.test", "config.reload",
       "appointments.update", "zone.emergency", "zone.deny")
MAX_TTL_S = 24 * 3600  # a command valid for longer is refused: seen ids are kept this long
SKEW_S = 300  # clocks of hall and central may differ by this much


class CommandRefused(KioskdError):
    """A message from central that is not obeyed; `code` says why (stable, for the audit)."""

    code = "cmd.refused"


@dataclass(frozen=True)
class Command:
    id: str
    op: str
    args: dict[str, Any]
    issued: datetime
    expires: datetime


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def mac(key: bytes, hall: str, op: str, body: dict[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    signed = f"{hall}\n{op}\n".encode() + canonical(unsigned)
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


def sign_command(key: bytes, hall: str, op: str, args: dict[str, Any], now: datetime,
                 ttl_s: float = 300, id_: str | None = None) -> dict[str, Any]:
    """What central sends (the reference for a city's own code; tests use it too)."""
    body = {"id": id_ or uuid.uuid4().hex, "issued": now.isoformat(timespec="seconds"),
            "expires": (now + timedelta(seconds=ttl_s)).isoformat(timespec="seconds"),
            "args": args}
    return {**body, "sig": mac(key, hall, op, body)}


def sign_appointments(key: bytes, hall: str, version: int, items: list[dict[str, Any]],
                      now: datetime) -> dict[str, Any]:
    body = {"version": version, "issued": now.isoformat(timespec="seconds"), "items": items}
    return {**body, "sig": mac(key, hall, "appointments", body)}


def _body(payload: bytes) -> dict[str, Any]:
    try:
        body = jsonlimits.loads(payload)
    except jsonlimits.JsonRefused as exc:
        raise CommandRefused(f"refused: {exc} ({exc.code})", "cmd.malformed") from None
    if not isinstance(body, dict):
        raise CommandRefused("not a JSON object", "cmd.malformed")
    return body


def _check_sig(key: bytes | None, hall: str, op: str, body: dict[str, Any]) -> None:
    sig = body.get("sig")
    if not sig:
        raise CommandRefused("no signature", "cmd.unsigned")
    if key is None:
        raise CommandRefused("this hall has no command key", "cmd.no_key")
    if not isinstance(sig, str) or not hmac.compare_digest(sig, mac(key, hall, op, body)):
        raise CommandRefused("the signature does not match", "cmd.bad_signature")


def _time(body: dict[str, Any], name: str) -> datetime:
    try:
        t = datetime.fromisoformat(body[name])
    except (KeyError, TypeError, ValueError):
        raise CommandRefused(f"{name} must be an RFC 3339 time", "cmd.malformed") from None
    if t.tzinfo is None:
        raise CommandRefused(f"{name} needs an offset", "cmd.malformed")
    return t


def verify_command(key: bytes | None, hall: str, op: str, payload: bytes,
                   now: datetime) -> Command:
    """The command in `payload`, received on cmd/{op}, if it is genuine and current; else
    CommandRefused. Whether its id was seen is the caller's to check (it keeps the ids)."""
    body = _body(payload)
    if op not in OPS:
        raise CommandRefused(f"no op {op!r}", "cmd.op_unknown")
    _check_sig(key, hall, op, body)  # before anything else is believed
    issued, expires = _time(body, "issued"), _time(body, "expires")
    cid, args = body.get("id"), body.get("args", {})
    if not isinstance(cid, str) or not 8 <= len(cid) <= 64:
        raise CommandRefused("id must be a string of 8-64 characters", "cmd.malformed")
    if not isinstance(args, dict):
        raise CommandRefused("args must be an object", "cmd.malformed")
    if expires <= now:
        raise CommandRefused(f"expired at {expires.isoformat()}", "cmd.expired")
    if issued > now + timedelta(seconds=SKEW_S):
        raise CommandRefused(f"issued in the future ({issued.isoformat()})", "cmd.not_yet")
    if expires - issued > timedelta(seconds=MAX_TTL_S):
        raise CommandRefused(f"valid for more than {MAX_TTL_S} s", "cmd.ttl_too_long")
    return Command(cid, op, args, issued, expires)


def verify_appointments(key: bytes | None, hall: str, payload: bytes) -> tuple[int, list]:
    """(version, items) of central's signed appointment list; else CommandRefused."""
    body = _body(payload)
    _check_sig(key, hall, "appointments", body)
    version, items = body.get("version"), body.get("items")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CommandRefused("version must be a non-negative integer", "cmd.malformed")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CommandRefused("items must be a list of objects", "cmd.malformed")
    return version, items


def sign_ack(key: bytes, hall: str, seq: int) -> dict[str, Any]:
    """Central's acknowledgement: it stored every row up to `seq`. Signed, because an ack is
    what lets the hall purge: a forged `{"seq": 10**9}` would mark the whole backlog delivered.
    A replayed genuine ack is harmless (acks only move forward), so it carries no id or expiry."""
    return {"seq": seq, "sig": mac(key, hall, "ack", {"seq": seq})}


def verify_ack(key: bytes | None, hall: str, payload: bytes) -> int:
    """The seq of a genuine ack; else CommandRefused (ack.malformed, ack.unsigned,
    ack.bad_signature)."""
    try:
        body = jsonlimits.loads(payload, max_bytes=4096)
    except jsonlimits.JsonRefused as exc:
        raise CommandRefused(f"an ack that is not JSON: {exc}", "ack.malformed") from None
    seq = body.get("seq") if isinstance(body, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise CommandRefused('an ack that is not {"seq": N, "sig": ...}', "ack.malformed")
    if not body.get("sig"):
        raise CommandRefused("an unsigned ack", "ack.unsigned")
    if key is None or not isinstance(body["sig"], str) or \
            not hmac.compare_digest(body["sig"], mac(key, hall, "ack", {"seq": seq})):
        raise CommandRefused("an ack whose signature does not match", "ack.bad_signature")
    return seq
