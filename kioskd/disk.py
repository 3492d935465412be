"""The state folder's disk: a reserve the journal can give up, and the low-space judgement.

A full disk used to answer tickets with a bare 500 while /api/health said healthy. Now the
folder holds a pre-allocated `reserve` file; when SQLite says the disk is full the journal
deletes it and writes again, so tickets go on committing while a technician frees space, and
the hall says `disk.low` at once (to central, on /api/health, in the kiosk's answer). The
reserve is made again once the space is back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("kioskd.disk")

MB = 1 << 20


@dataclass(frozen=True)
class DiskView:
    state: str  # "ok" | "low"
    free_mb: float
    reserve: bool  # the reserve file is in place


class DiskGuard:
    def __init__(self, folder: Path, reserve_mb: int, low_mb: int):
        self.folder = Path(folder)
        self.reserve_file = self.folder / "reserve"
        self.reserve_bytes = reserve_mb * MB
        self.low_bytes = low_mb * MB

    def free_bytes(self) -> int:
        st = os.statvfs(self.folder)
        return st.f_bavail * st.f_frsize

    def ensure_reserve(self) -> bool:
        """Make the reserve when it is missing and the space is there for it and more."""
        if self.reserve_file.exists() or self.free_bytes() < self.reserve_bytes + self.low_bytes:
            return False
        fd = os.open(self.reserve_file, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, self.reserve_bytes)  # real blocks, not a sparse file
        except OSError:
            os.close(fd)
            self.reserve_file.unlink(missing_ok=True)
            return False
        os.close(fd)
        return True

    def release(self) -> bool:
        """Give the reserve up (the journal could not write); True when there was one."""
        try:
            self.reserve_file.unlink()
        except FileNotFoundError:
            return False
        log.error("disk: the state folder's disk is full: the %d MB reserve is given up so "
                  "that tickets still commit; free space on %s", self.reserve_bytes // MB,
                  self.folder)
        return True

    def view(self) -> DiskView:
        free = self.free_bytes()
        reserve = self.reserve_file.exists()
        low = free < self.low_bytes or not reserve
        return DiskView("low" if low else "ok", round(free / MB, 1), reserve)
