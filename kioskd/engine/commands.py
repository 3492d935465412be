"""What the engine is asked to do (commands), the shape of what it answers (events), and the
small rules both sides read. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kioskd.engine.rules import Holder, QueuePolicy
from kioskd.engine.state import HallState

RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
REQUESTABLE_LANES = ("disabled", "pregnant", "military", "assisted", "elderly")


# --- commands --------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssueTicket:
    category: str
    kiosk: str | None = None
    holder: Holder | None = None
    lane: str | None = None  # asked for at a guide desk; a card adds "elderly" by age


@dataclass(frozen=True)
class CheckIn:
    """An appointment checks in at a kiosk: by its code (QR) or by the holder's ID card."""

    kiosk: str | None = None
    code: str | None = None
    holder: Holder | None = None


@dataclass(frozen=True)
class WindowAction:
    window: int
    action: str
    ticket: str | None = None  # call, call-back
    to_category: str | None = None  # transfer
    to_window: int | None = None  # transfer
    clerk: str | None = None  # sign-in
    staff_no: str = ""  # sign-in: the clerk's 工号, for the pad and central
    case_no: str | None = None  # finish: the 办件编号 the window's business system gave


@dataclass(frozen=True)
class GiveRating:
    window: int
    ticket: str
    level: int
    device: str  # the pad that sent it; the app layer only passes pads bound to `window`
    reasons: tuple[int, ...] = ()  # codes from [rating] reasons
    text: str = ""
    citizen_name: str | None = None  # real-name halls only: the card holder's name


@dataclass(frozen=True)
class LoadAppointments:
    version: str
    items: tuple[dict[str, Any], ...]  # {code, category, start, end, holder?}: holder a token


@dataclass(frozen=True)
class Tick:
    """Time passing: a new day, missed appointments, time-limit alerts."""


Command = IssueTicket | CheckIn | WindowAction | GiveRating | LoadAppointments | Tick
WINDOW_ACTIONS = ("call-next", "call", "call-back", "recall", "skip", "hold", "transfer", "start",
                  "finish", "ask-rating", "pause", "resume", "sign-in", "sign-out")
Event = tuple[str, dict[str, Any]]


def age_lane(policy: QueuePolicy, age: int) -> str | None:
    """The lane a card holder's age alone gives (the age is counted at the hall's local date)."""
    return "elderly" if age >= policy.elderly_age else None


def rollover_due(state: HallState, now: datetime) -> bool:
    """Days only go forward: a clock set back never reopens a past day (its numbers are taken)."""
    return now.date().isoformat() > state.day
