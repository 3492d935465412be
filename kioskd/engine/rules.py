"""The hall's rules as the engine reads them: categories, windows, the queue's policy, what a
rating may carry, and what the hall keeps of a card holder. Pure data; `kioskd.config` reads
them from devices.toml (with line numbers), the engine decides by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    hours: tuple[str, str] | None = None
    daily_quota: int | None = None
    requires_id: bool = False
    per_person_daily: int | None = None  # tickets one card holder may take per day
    service_min: int = 5  # expected service time until the day has measured ones
    wait_limit_min: int | None = None  # 限时: alert when a ticket waits longer
    service_limit_min: int | None = None  # alert when a service runs longer
    alert_waiting: int | None = None  # alert when more tickets than this wait
    matter_code: str = ""  # 事项统一编码 (taskCode): central files ratings under it


@dataclass(frozen=True)
class Window:
    number: int
    categories: tuple[str, ...]
    name: str = ""
    backup_for: tuple[int, ...] = ()  # AB岗: serves these windows' categories while they are not open


LANES = ("appointment", "elderly", "disabled", "pregnant", "military", "assisted")


@dataclass(frozen=True)
class QueuePolicy:
    """The hall's queue rules ([queue] in devices.toml); every default is what a hall without
    the key gets."""

    lanes: tuple[str, ...] = LANES  # priority lanes, first served first
    elderly_age: int = 60
    recall_limit: int = 3
    skip_requeue_after: int = 3  # a skipped ticket is back in line after this many calls
    skip_max: int = 2  # skipped more often than this, a ticket is void
    priority_streak: int = 3  # at most this many priority calls in a row at a window ...
    starving_after_min: int = 20  # ... while a normal ticket has waited this long
    transfer_keeps_place: bool = True
    checkin_early_min: int = 30  # appointment check-in opens this long before the slot
    checkin_late_min: int = 15  # and still counts as on time this long after it starts
    rating_timeout_s: int = 120  # no rating this long after the finish: rating.missed
    rating_fast_ms: int = 1500  # a rating sooner than this after the prompt is flagged "fast"


@dataclass(frozen=True)
class Reason:
    code: int  # what the pad sends and central receives (evalDetail); 1-255
    name: str


# GB/T 39734 Annex A (the national 差评 list) was not obtainable; these are the offline
# first-level indicators a provincial spec names (protocols.md §6), plus integrity
REASONS = (Reason(1, "服务态度"), Reason(2, "办事效率"), Reason(3, "服务规范"),
           Reason(4, "廉洁自律"), Reason(5, "环境设施"))


@dataclass(frozen=True)
class RatingRules:
    """[rating]: what the pad offers and what central receives."""

    reasons: tuple[Reason, ...] = REASONS  # a bad rating (2, 1) needs at least one
    text_max: int = 200  # characters of free text with a rating
    # real-name rating: rating.given carries the card holder's name; else only a keyed token.
    # The ID number never leaves the box either way.
    real_name: bool = False
    link_key_file: Path | None = None  # signs the later-rating link on the ticket's QR

    @property
    def reason_codes(self) -> frozenset[int]:
        return frozenset(r.code for r in self.reasons)


@dataclass(frozen=True)
class Holder:
    """What the hall keeps of a card holder: enough for lanes and limits, nothing to identify."""

    token: str
    masked_name: str
    age: int  # at the hall's local date: the elderly lane is decided from it
    name: str = ""  # the full name, only where [rating] real_name asks for it; never journaled


class Place(Protocol):
    """A kiosk, as the engine sees it: a staffed guide desk (导服台) may give a priority lane,
    after staff saw the certificate; a self-service kiosk only the lanes a card proves."""

    id: str
    guide: bool


class HallRules(Protocol):
    """What the engine reads of a hall's configuration (kioskd.config.Config is one)."""

    queue: QueuePolicy
    categories: tuple[Category, ...]
    windows: tuple[Window, ...]
    rating: RatingRules
    kiosks: tuple[Place, ...]
