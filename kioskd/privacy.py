"""Personal data: mask what is shown, key-hash what must be matched, keep nothing else.

The full ID number exists only in memory between the card read and `holder_of()`; logs, events,
MQTT payloads and the API see the masked forms and a keyed token (HMAC, so a leaked token cannot
be reversed by hashing every possible ID number, of which there are few enough to try).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from datetime import date
from pathlib import Path

from kioskd.engine.rules import Holder  # noqa: F401 (where the hall's code finds it)
from kioskd.errors import PrivacyError


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***; the surname stays so a clerk can greet the citizen."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_name_board(name: str) -> str:
    """张三丰 -> 张*: what a hall board may show of a name, read by everybody in the hall: the
    surname and one star, so not even the name's length shows."""
    name = name.strip()
    return name[:1] + "*" if name else ""


def mask_id(number: str) -> str:
    """110105********002X: region and the check character only, never the birth date. A
    string too short to keep 10 characters of and still hide any is hidden whole."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def load_key(path: Path) -> bytes:
    """The hall's secret for holder tokens; made on first use, readable by the daemon only.
    A key others can read is refused: with it, every token could be matched to a number."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise PrivacyError(f"{path} has mode {mode:04o}; a key must be 0600 "
                               f"(chmod 600 {path})", "privacy.key_mode")
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise PrivacyError(f"{path}: the key is too short (want 32 random bytes as hex)",
                               "privacy.key_short")
        return key
    except ValueError:
        raise PrivacyError(f"{path}: not a hex key", "privacy.key_format") from None
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        return key


def holder_token(key: bytes, id_number: str) -> str:
    return hmac.new(key, id_number.upper().encode(), hashlib.sha256).hexdigest()[:24]


def link_sig(key: bytes, hall: str, date: str, number: str) -> str:
    """Signs the later-rating link on a ticket's QR: central, holding the same key, takes a
    rating for this ticket and no other (numbers are easy to guess, the signature is not)."""
    return hmac.new(key, f"{hall}/{date}/{number}".encode(), hashlib.sha256).hexdigest()[:16]


# an 18-character resident ID number anywhere in a text (15-digit first-generation ones too)
_ID_PATTERN = re.compile(r"(?<![0-9])([1-9][0-9]{5})((?:19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3})"
                         r"([0-9Xx])(?![0-9])")


def scrub(text: str) -> str:
    """Mask every ID number in `text` (first 6 and the check character stay)."""
    return _ID_PATTERN.sub(lambda m: m.group(1) + "*" * 11 + m.group(3), text)


def install_log_scrubber() -> None:
    """Mask ID numbers in every log record, whichever logger or library it comes from: done at
    record creation, so no handler (a file, journald, pytest's capture) ever sees a number."""
    old = logging.getLogRecordFactory()
    if getattr(old, "kioskd_scrubber", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = old(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it as it does
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    factory.kioskd_scrubber = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
