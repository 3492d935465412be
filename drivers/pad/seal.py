"""A pad's seal on a rating: HMAC-SHA256 with the pad's own key over what the citizen chose and
the prompt it answers. Pure; shared by both pad protocols and their twins.

With its own key per pad, a rating proves which pad sent it (one pad cannot pretend to be
another, nor a laptop on the RS-485 bus or the broker to be a pad), and binds the rating to
one prompt (`txn` and ticket): a sealed rating for A001 is useless for A002.
"""

from __future__ import annotations

import hashlib
import hmac

SEAL_BYTES = 8  # 64 bits: a forger gets one try per prompt, and every miss is audited


def seal(key: bytes, txn: str, ticket: str, level: int, reasons: tuple[int, ...] | list[int],
         text: str) -> bytes:
    msg = "|".join([txn, ticket, str(level), ",".join(str(r) for r in reasons), text])
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()[:SEAL_BYTES]


def sealed(key: bytes, mac: bytes, txn: str, ticket: str, level: int,
           reasons: tuple[int, ...] | list[int], text: str) -> bool:
    return hmac.compare_digest(mac, seal(key, txn, ticket, level, reasons, text))


def signature_text(image: bytes) -> str:
    """What a signature's seal covers in place of a rating's text: the image's own digest, so
    the seal binds these very pixels to the prompt (level 0, no reasons: no rating has them)."""
    return "signature:" + hashlib.sha256(image).hexdigest()


def seal_signature(key: bytes, txn: str, ticket: str, image: bytes) -> bytes:
    return seal(key, txn, ticket, 0, (), signature_text(image))


def signature_sealed(key: bytes, mac: bytes, txn: str, ticket: str, image: bytes) -> bool:
    return hmac.compare_digest(mac, seal_signature(key, txn, ticket, image))
