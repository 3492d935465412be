"""What the box keeps and for how long: the disk's reserve and low mark, the purge of old
rows."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from kioskd.errors import DiskFull

log = logging.getLogger("kioskd")


class Retention:
    """Part of Hall: the disk and what is purged."""

    def _disk_full(self) -> bool:
        """The journal found the disk full: give up the reserve (it writes again on that
        space), and say so at the next turn of the loop (not from inside the write)."""
        released = self.disk.release()
        if hasattr(self, "_tick_now"):
            self.tick_soon()
        return released

    def check_disk(self) -> None:
        """disk.low / disk.ok when the judgement changes; while low, the calls' WAVs go and
        no new ones are written; once space is back the reserve is made again."""
        view = self.disk.view()
        if view.state == "low" and self.disk.ensure_reserve():  # the space came back
            view = self.disk.view()
        if view.state == self._disk_told:
            return
        self.announcer.files = view.state == "ok"
        data = {"free_mb": view.free_mb, "reserve": view.reserve,
                "low_mb": self.cfg.hall.disk_low_mb}
        if view.state == "low":
            gone = self.announcer.drop_files()
            log.error("disk: %.1f MB free in %s (low below %d MB, reserve %s): call WAVs "
                      "dropped (%d); free space", view.free_mb, self.state_dir,
                      self.cfg.hall.disk_low_mb, "kept" if view.reserve else "given up", gone)
        else:
            log.warning("disk: %.1f MB free again, the reserve is in place", view.free_mb)
        told, self._disk_told = self._disk_told, view.state
        try:
            self.record(f"disk.{view.state}", data)
        except DiskFull:
            self._disk_told = told  # not told after all: the next tick tries again
            raise

    @property
    def disk_low(self) -> bool:
        return self._disk_told == "low"

    def disk_view(self) -> dict[str, Any]:
        v = self.disk.view()
        return {"state": v.state, "free_mb": v.free_mb, "reserve": v.reserve}

    def purge(self) -> int:
        """Drop journal rows past `[hall] retention_days` that central has; the newest
        appointment list stays (a restart needs it)."""
        cutoff = self.now() - timedelta(days=self.cfg.hall.retention_days)
        appts = self.journal.last_of("appointments.loaded", "9999")
        n = self.journal.purge(cutoff.date().isoformat(), appts.seq if appts else None)
        if n:
            log.info("retention: %d journal rows older than %d days purged", n,
                     self.cfg.hall.retention_days)
        gone = self.scans.purge(self.now().date(), self.cfg.hall.scan_retention_days) + \
            self.signatures.purge(self.now().date(), self.cfg.hall.scan_retention_days)
        if gone:
            log.info("retention: %d scanned and signed files older than %d days deleted", gone,
                     self.cfg.hall.scan_retention_days)
        self.watch.changed()
        return n
