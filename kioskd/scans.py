"""Captured pages on disk: JPEG per page, a multi-page PDF per document, a retention limit.

Files live under STATE/scans/YYYY-MM-DD/ (the hall's local date). They hold citizens' papers,
so they stay in the hall: events name them by id, never carry them, and they are deleted after
`[hall] scan_retention_days`.
"""

from __future__ import annotations

import re
import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

FILE_ID = re.compile(r"^\d{4}-\d{2}-\d{2}/[A-Za-z0-9_\-]+\.(jpg|pdf|png)$")


class ScanStore:
    def __init__(self, root: Path, quota_mb: int = 500):
        self.root = Path(root)
        self.quota = quota_mb << 20  # the oldest pages go first beyond it: the disk is shared
        self.dropped = 0  # files deleted by the quota
        # saves run in threads (asyncio.to_thread): two pages at once took one number, and the
        # second's rename found no .part (seen on a busy day's camera, kioskd.sim.day)
        self._lock = threading.Lock()

    def path(self, file_id: str) -> Path:
        if not FILE_ID.match(file_id):
            raise ValueError(f"not a scan id: {file_id!r}")
        return self.root / file_id

    def _next(self, day: str, stem: str, ext: str) -> str:
        folder = self.root / day
        folder.mkdir(parents=True, exist_ok=True)
        n = sum(1 for _ in folder.glob(f"{stem}-*.{ext}")) + 1
        while (folder / f"{stem}-{n:04d}.{ext}").exists():
            n += 1
        return f"{day}/{stem}-{n:04d}.{ext}"

    def save_jpeg(self, day: str, stem: str, jpeg: bytes) -> str:
        return self._save(day, stem, "jpg", jpeg)

    def save_png(self, day: str, stem: str, png: bytes) -> str:
        """A citizen's signature from the window's tablet (STATE/signatures/, same retention)."""
        return self._save(day, stem, "png", png)

    def _save(self, day: str, stem: str, ext: str, data: bytes) -> str:
        with self._lock:
            file_id = self._next(day, stem, ext)
            tmp = self.path(file_id).with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(self.path(file_id))  # a reader never sees half a page
            self._keep_quota()
        return file_id

    def save_pdf(self, day: str, stem: str, pages: list[str]) -> str:
        """One PDF of the given JPEG pages, in order, each at its own size."""
        from PIL import Image

        if not pages:
            raise ValueError("a document needs at least one page")
        images = [Image.open(self.path(p)).convert("RGB") for p in pages]
        with self._lock:
            file_id = self._next(day, stem, "pdf")
            tmp = self.path(file_id).with_suffix(".part")
            images[0].save(tmp, format="PDF", save_all=True, append_images=images[1:],
                           resolution=150.0)
            tmp.replace(self.path(file_id))
            self._keep_quota()
        return file_id

    def _keep_quota(self) -> None:
        files = sorted((p for p in self.root.glob("*/*") if p.suffix in (".jpg", ".pdf", ".png")))
        total = sum(p.stat().st_size for p in files)
        for old in files:
            if total <= self.quota:
                break
            total -= old.stat().st_size
            old.unlink(missing_ok=True)
            self.dropped += 1

    def purge(self, today: date, days: int) -> int:
        """Delete the day folders older than `days`; returns how many files went."""
        if not self.root.exists():
            return 0
        cutoff = (today - timedelta(days=days)).isoformat()
        gone = 0
        for folder in self.root.iterdir():
            if folder.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name) \
                    and folder.name < cutoff:
                gone += sum(1 for _ in folder.iterdir())
                shutil.rmtree(folder)
        return gone
