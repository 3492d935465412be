"""The daemon's recent log lines, for the technician's console: a bounded ring, formatted as
the journal of the box shows them. Records reach it already scrubbed of ID numbers
(privacy.install_log_scrubber works when a record is made)."""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

LOG_N = 500


class LogRing(logging.Handler):
    def __init__(self, n: int = LOG_N):
        super().__init__(logging.INFO)
        self.lines: collections.deque[dict[str, Any]] = collections.deque(maxlen=n)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append({"at": record.created, "level": record.levelname,
                               "logger": record.name, "message": record.getMessage()})
        except Exception:  # noqa: BLE001 - a log line must never break the daemon
            self.handleError(record)

    def last(self, n: int) -> list[dict[str, Any]]:
        return list(self.lines)[-n:]


def stamp(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))
