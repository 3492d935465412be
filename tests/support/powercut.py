"""A storage layer that loses power: an SQLite VFS (APSW's, over the default one) that holds
every write in "the page cache" until the file is synced, and at the cut keeps a random part of
what was not synced and drops the rest, in any order, as a disk with a volatile cache does.

It sits exactly where SQLite's durability rests (xWrite, xSync), which a fault-injecting FUSE
filesystem reaches only through the kernel's own page cache (flushed when the kernel likes) and
a mount that CI would need privileges and libfuse for. Only what xSync returned from is on disk.
"""

from __future__ import annotations

import os
import random

import apsw


class PowerLost(OSError):
    """The power went, at this write: the writer stops here. Whatever SQLite does after (a
    rollback, a checkpoint at close) reaches no disk: those calls do nothing."""


class Power:
    """What every file of one VFS shares: writes not yet synced, by file name, and the cut."""

    def __init__(self, rng: random.Random, cut_after: int):
        self.rng = rng
        self.cut_after = cut_after  # the write at which the power goes
        self.writes = 0
        self.off = False
        self.pending: dict[str, list[tuple[int, bytes]]] = {}

    def write(self) -> bool:
        """True: the write goes to the cache; False: the machine is off."""
        if self.off:
            return False
        self.writes += 1
        if self.writes >= self.cut_after:
            self.off = True
            raise PowerLost("the power went")
        return True

    def cut(self) -> tuple[int, int]:
        """What was not synced: each write reaches the disk or not, at random (the disk's cache
        writes back in its own order). Returns (kept, lost)."""
        self.off = True
        kept = lost = 0
        for name, writes in self.pending.items():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                for offset, data in writes:
                    if self.rng.random() < 0.5:
                        os.pwrite(fd, data, offset)
                        kept += 1
                    else:
                        lost += 1
            finally:
                os.close(fd)
        self.pending.clear()
        return kept, lost


class CutVFS(apsw.VFS):
    def __init__(self, name: str, power: Power):
        self.power, self.name = power, name
        super().__init__(name, base="")

    def xOpen(self, name, flags):
        return CutFile(self.power, name, flags)

    def xDelete(self, name, syncdir):
        if not self.power.off:
            super().xDelete(name, syncdir)


class CutFile(apsw.VFSFile):
    def __init__(self, power: Power, name, flags):
        super().__init__("", name, flags)
        self.power = power
        self.key = name.filename() if hasattr(name, "filename") else str(name)

    def _pending(self) -> list[tuple[int, bytes]]:
        return self.power.pending.setdefault(self.key, [])

    def xWrite(self, data, offset):
        if self.power.write():
            self._pending().append((offset, bytes(data)))

    def xSync(self, flags):
        if self.power.off:
            return
        for offset, data in self._pending():
            super().xWrite(data, offset)
        self._pending().clear()
        super().xSync(flags)

    def xFileSize(self):
        size = super().xFileSize()
        for offset, data in self._pending():
            size = max(size, offset + len(data))
        return size

    def xRead(self, amount, offset):
        size = self.xFileSize()
        real = super().xFileSize()
        buf = bytearray(amount)
        if offset < real:
            got = super().xRead(min(amount, real - offset), offset)
            buf[:len(got)] = got
        for w_off, data in self._pending():  # the cache, newest last
            lo, hi = max(offset, w_off), min(offset + amount, w_off + len(data))
            if lo < hi:
                buf[lo - offset:hi - offset] = data[lo - w_off:hi - w_off]
        return bytes(buf[:max(0, min(amount, size - offset))])

    def xTruncate(self, size):
        if self.power.off:
            return
        # a truncate is taken at once (as a journalling filesystem's metadata is); the cache
        # beyond it goes with it
        self.power.pending[self.key] = [(o, d[:max(0, size - o)]) for o, d in self._pending()
                                        if o < size]
        super().xTruncate(size)
