"""effects_of(event): what the devices must do about an event (print, show, speak, prompt).
Pure: the daemon carries them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


# --- effects ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrintTicket:
    kiosk: str
    ticket: str
    category_name: str
    ahead: int
    issued_at: str
    wait_min: int | None = None


@dataclass(frozen=True)
class ShowOnBoard:
    window: int
    ticket: str | None  # None: idle
    state: str = "open"


@dataclass(frozen=True)
class Announce:
    """Call the citizen aloud (语音叫号); a recall goes before calls already waiting."""

    window: int
    ticket: str
    recall: bool = False


@dataclass(frozen=True)
class PromptRating:
    window: int
    ticket: str
    clerk: str | None = None
    staff_no: str = ""


@dataclass(frozen=True)
class CloseRating:
    """The rating was missed: the pad goes back to its idle screen."""

    window: int


Effect = PrintTicket | ShowOnBoard | Announce | PromptRating | CloseRating


def effects_of(type_: str, data: dict[str, Any], ts: str) -> list[Effect]:
    if type_ == "ticket.issued" and data.get("kiosk"):
        return [PrintTicket(data["kiosk"], data["ticket"], data["category_name"], data["ahead"],
                            ts, data.get("wait_min"))]
    if type_ in ("ticket.called", "ticket.recalled"):
        # in no order of speed: the hall carries out a board and a speaker at once
        return [ShowOnBoard(data["window"], data["ticket"]),
                Announce(data["window"], data["ticket"], type_ == "ticket.recalled")]
    if type_ in ("ticket.skipped", "ticket.held", "ticket.transferred"):
        return [ShowOnBoard(data["window"], None)]
    if type_ == "rating.requested":
        return [ShowOnBoard(data["window"], None),
                PromptRating(data["window"], data["ticket"], data.get("clerk"),
                             data.get("staff_no", ""))]
    if type_ == "rating.missed":
        return [CloseRating(data["window"])]
    if type_ == "window.state":
        return [ShowOnBoard(data["window"], None, data["state"])]
    return []
