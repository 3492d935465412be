"""Personal data: mask what is shown, key-hash what must be matched, keep nothing else.

The full ID number exists only in memory between the card read and `holder_of()`; logs, events,
MQTT payloads and the API see the masked forms and a keyed token (HMAC, so a leaked token cannot
be reversed by hashing every possible ID number, of which there are few enough to try).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***; the surname stays so a clerk can greet the citizen."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_id(number: str) -> str:
    """110105********002X: region and the check character only, never the birth date."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def load_key(path: Path) -> bytes:
    """The hall's secret for holder tokens; made on first use, readable by the daemon only."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        return key


def holder_token(key: bytes, id_number: str) -> str:
    return hmac.new(key, id_number.upper().encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class Holder:
    """What the hall keeps of a card holder: enough for lanes and limits, nothing to identify."""

    token: str
    masked_name: str
    age: int  # at the hall's local date: the elderly lane is decided from it
