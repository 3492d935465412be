"""A locker bank's rules, pure: which compartment is given out, what its door means, who may
open it. Time comes in (`now`: the hall's wall clock for expiry, `mono`: monotonic seconds
for doors and lockouts); events go out as (type, data) pairs the keeper journals.

- 出件 (pickup): a clerk deposits a finished document for a case: a free compartment of the
  size asked (or the smallest larger) opens; when its door closes again the deposit is held,
  with a one-time code (made by the keeper; only its hash is kept here) that expires. The
  citizen opens it with the code or with the card the case was registered to; its door closed
  again, the deposit is collected and the compartment free.
- 寄件 (drop-off): a citizen leaves materials for a window: a compartment opens, closes, and
  the window sees a receipt waiting; a clerk of that window collects it.
- A compartment is given out once: only a free one is chosen, and it is free again only when a
  collection's door has closed. A door that does not open after its lock is pulsed is jammed
  (out of service); a door that opens unbidden is forced; a door open too long is left open.
- LOCKOUT_AFTER wrong codes in a row lock the locker's page for LOCKOUT_S.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from kioskd.errors import Refused

SIZES = ("S", "M", "L")
LOCKOUT_AFTER = 5
LOCKOUT_S = 300
LEFT_OPEN_S = 60  # a compartment open this long is left open (said once)
CODE_DIGITS = 6


def code_hash(key: bytes, deposit: str, code: str) -> str:
    """What is kept of a pickup code (and what central receives): keyed, so that the six digits
    cannot be found from it by trying the million of them."""
    return hmac.new(key, f"locker-code|{deposit}|{code}".encode(), hashlib.sha256).hexdigest()[:32]


def pickup_code(command_key: bytes, hall: str, deposit: str) -> str:
    """The pickup code of a deposit, made from the key central shares with the hall: central
    makes the same six digits from the deposit id it receives, and tells the citizen (its SMS).
    The code itself is in no event, log or page of the hall."""
    mac = hmac.new(command_key, f"pickup|{hall}|{deposit}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


@dataclass
class Deposit:
    id: str
    kind: str  # "pickup" (出件, for a citizen) or "dropoff" (寄件, for a window)
    case: str  # 办件编号 (pickup), the receipt (drop-off)
    window: int | None  # who deposited (pickup), for whom it waits (drop-off)
    at: str  # RFC 3339, when it was deposited
    expires: str = ""  # RFC 3339; pickup codes only
    code_hash: str = ""
    holder: str | None = None  # the keyed token of the card the case was registered to


@dataclass
class Compartment:
    n: int
    size: str
    state: str = "free"  # free, loading (being filled), held, collecting, out (of service)
    deposit: Deposit | None = None
    collector: str = ""  # collecting: "code", "card" or "clerk:NAME"
    open: bool | None = None
    # monotonic: the lock was pulsed and the door must open before this
    must_open_by: float | None = None
    bidden_until: float = 0.0  # a technician's test opening: not forced
    open_since: float | None = None
    left_open_said: bool = False


@dataclass
class Locker:
    id: str
    compartments: dict[int, Compartment]
    # code hash -> [deposit, expires] of codes that opened their compartment: a replay is said
    # as one, until the code would have expired anyway
    used: dict[str, list[str]] = field(default_factory=dict)
    wrong: int = 0
    locked_until: float = 0.0

    # --- giving out a compartment -----------------------------------------------------------------
    def choose(self, size: str) -> Compartment:
        """The smallest free compartment of `size` or larger (then the lowest number)."""
        if size not in SIZES:
            raise Refused("locker.size", f"size is one of {', '.join(SIZES)}")
        fits = [c for c in self.compartments.values() if c.state == "free"
                and SIZES.index(c.size) >= SIZES.index(size)]
        if not fits:
            raise Refused("locker.full", f"locker {self.id} has no free compartment of size "
                                         f"{size} or larger")
        return min(fits, key=lambda c: (SIZES.index(c.size), c.n))

    def load(self, c: Compartment, deposit: Deposit, mono: float, wait_s: float) -> None:
        """The compartment opens to be filled (its lock pulsed by the keeper)."""
        c.state, c.deposit = "loading", deposit
        c.must_open_by = mono + wait_s

    # --- opening it for its owner -------------------------------------------------------------------
    def check_lockout(self, mono: float) -> None:
        if mono < self.locked_until:
            raise Refused("locker.locked_out", f"too many wrong codes: the locker's page is "
                                               f"locked for {int(self.locked_until - mono) + 1} s")

    def by_code(self, key: bytes, code: str, now: datetime, mono: float
                ) -> tuple[Compartment | None, str, list[tuple[str, dict]]]:
        """The held compartment a code opens; else (None, why, events). Every refusal counts
        toward the lockout; the right code resets it."""
        self.check_lockout(mono)
        self.used = {h: u for h, u in self.used.items()
                     if not u[1] or now < datetime.fromisoformat(u[1])}
        code = code.strip()
        found, why = None, "locker.bad_code"
        if len(code) == CODE_DIGITS and code.isdigit():
            for c in self.compartments.values():
                d = c.deposit
                if c.state == "held" and d and d.kind == "pickup" and hmac.compare_digest(
                        d.code_hash, code_hash(key, d.id, code)):
                    found = c
                    break
            if found and found.deposit and found.deposit.expires \
                    and now >= datetime.fromisoformat(found.deposit.expires):
                found, why = None, "locker.code_expired"
            if not found and any(code_hash(key, u[0], code) == h for h, u in self.used.items()):
                why = "locker.code_used"  # a code that opened its compartment already
        if found:
            self.wrong = 0
            return found, "", []
        self.wrong += 1
        events = [("locker.refused", {"locker": self.id, "code": why, "wrong": self.wrong})]
        if self.wrong >= LOCKOUT_AFTER:
            self.locked_until, self.wrong = mono + LOCKOUT_S, 0
            events.append(("locker.locked_out", {"locker": self.id, "for_s": LOCKOUT_S}))
        return None, why, events

    def by_holder(self, token: str, now: datetime) -> list[Compartment]:
        """The held pickups registered to this card's holder (not expired)."""
        return [c for c in self.compartments.values()
                if c.state == "held" and c.deposit and c.deposit.kind == "pickup"
                and c.deposit.holder == token
                and not (c.deposit.expires and now >= datetime.fromisoformat(c.deposit.expires))]

    def collect(self, c: Compartment, by: str, mono: float, wait_s: float) -> None:
        c.state, c.collector = "collecting", by
        c.must_open_by = mono + wait_s

    # --- its door ------------------------------------------------------------------------------------
    def sensed(self, n: int, is_open: bool, first: bool, mono: float) -> list[tuple[str, dict]]:
        c = self.compartments[n]
        was, c.open = c.open, is_open
        if was is None and first:
            if is_open:
                c.open_since = mono
            elif c.state == "loading" and c.deposit and c.must_open_by is None:
                # restored as being filled, and found closed: filled while the daemon was away
                c.state = "held"
                return [("locker.deposited", {"locker": self.id, "compartment": n,
                                              **_public(c.deposit)})]
            return []
        if is_open == was:
            return []
        base = {"locker": self.id, "compartment": n}
        if is_open:
            c.open_since, c.left_open_said, c.must_open_by = mono, False, None
            if c.state in ("loading", "collecting") or mono <= c.bidden_until:
                for_ = c.state if c.state in ("loading", "collecting") else "technician"
                c.bidden_until = 0.0
                return [("locker.opened", {**base, "for": for_,
                                           "deposit": c.deposit.id if c.deposit else None})]
            return [("locker.forced", {**base, "state": c.state,
                                       "deposit": c.deposit.id if c.deposit else None})]
        c.open_since = None
        d = c.deposit
        if c.state == "loading" and d:
            c.state = "held"
            return [("locker.deposited", {**base, **_public(d)})]
        if c.state == "collecting" and d:
            if d.kind == "pickup":
                self.used[d.code_hash] = [d.id, d.expires]
            out = [("locker.collected", {**base, "deposit": d.id, "kind": d.kind,
                                         "case": d.case, "by": c.collector})]
            c.state, c.deposit, c.collector = "free", None, ""
            return out
        return [("locker.closed", {**base, "state": c.state})]

    def tick(self, mono: float) -> list[tuple[str, dict]]:
        """Doors that did not open when their lock was pulsed (jammed: out of service, what it
        was to hold goes back), and doors left open."""
        out = []
        for c in self.compartments.values():
            base = {"locker": self.id, "compartment": c.n}
            if c.must_open_by is not None and mono > c.must_open_by and not c.open:
                c.must_open_by = None
                was = c.state
                out.append(("locker.jammed", {**base, "for": was,
                                              "deposit": c.deposit.id if c.deposit else None}))
                if was == "loading":  # nothing went in: the deposit is void
                    c.deposit = None
                elif was == "collecting":  # still held: the owner may try again
                    c.state = "held"
                    continue
                c.state = "out"
            if (c.open and c.open_since is not None and not c.left_open_said
                    and mono - c.open_since > LEFT_OPEN_S):
                c.left_open_said = True
                out.append(("locker.left_open", {**base, "state": c.state,
                                                 "open_s": round(mono - c.open_since, 1)}))
        return out

    # --- what is kept over a restart, and shown ------------------------------------------------------
    def saved(self) -> dict[str, Any]:
        return {"used": self.used, "compartments": {
            str(c.n): {"state": c.state, "deposit": asdict(c.deposit) if c.deposit else None}
            for c in self.compartments.values() if c.state in ("loading", "held", "out")}}

    def restore(self, saved: dict[str, Any]) -> None:
        self.used = dict(saved.get("used", {}))
        for n, s in saved.get("compartments", {}).items():
            c = self.compartments.get(int(n))
            if c is not None:
                c.state = s["state"]
                c.deposit = Deposit(**s["deposit"]) if s.get("deposit") else None

    def view(self, mono: float) -> dict[str, Any]:
        return {"id": self.id, "locked_out": mono < self.locked_until, "compartments": [
            {"n": c.n, "size": c.size, "state": c.state, "open": c.open,
             "kind": c.deposit.kind if c.deposit else None,
             "window": c.deposit.window if c.deposit else None,
             "case": c.deposit.case if c.deposit else None}
            for c in self.compartments.values()]}


def _public(d: Deposit) -> dict[str, Any]:
    """A deposit as central receives it: the case, the code's hash, never the code; the holder
    as the keyed token."""
    return {"deposit": d.id, "kind": d.kind, "case": d.case, "window": d.window,
            "expires": d.expires or None, "code_hash": d.code_hash or None, "holder": d.holder}
