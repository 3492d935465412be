"""A real PC/SC stack for the card reader's tests: pcscd with Debian's vsmartcard-vpcd, whose
virtual readers the card twin (kioskd.sim.cardreader) plugs a card into. The pcscd already
running is used as it is; else the tests start their own, once, and stop it at the end."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
READER = "Virtual PCD 00 00"


def readers() -> list[str]:
    from smartcard import scard

    rc, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if rc != scard.SCARD_S_SUCCESS:
        return []
    try:
        rc, names = scard.SCardListReaders(context, [])
        return list(names) if rc == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def missing() -> str | None:
    """Why this machine has no PC/SC stack for the tests, or None."""
    try:
        import smartcard  # noqa: F401
    except ImportError:
        return "pyscard is not installed (make test installs kioskd[pcsc])"
    if not VPCD_CONF.exists():
        return "vsmartcard-vpcd is not installed (scripts/system-deps)"
    if not (shutil.which("pcscd") or os.path.exists("/usr/sbin/pcscd")):
        return "pcscd is not installed (scripts/system-deps)"
    return None


def start(folder: Path) -> tuple[subprocess.Popen | None, int]:
    """pcscd with vpcd's readers, and the port vpcd waits for the card on: the pcscd already
    running (None) on the system's port, else our own, configured in `folder` for a port that
    is free now (the system's may be in TIME-WAIT from a pcscd stopped a moment ago)."""
    conf = VPCD_CONF.read_text()
    if READER in readers():
        return None, int(re.search(r"CHANNELID\s+(0x[0-9A-Fa-f]+|\d+)", conf)[1], 0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lib = re.search(r"LIBPATH\s+(\S+)", conf)[1]
    (folder / "vpcd").write_text(f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{port:04X}\n'
                                 f"LIBPATH {lib}\nCHANNELID 0x{port:04X}\n")
    proc = subprocess.Popen([shutil.which("pcscd") or "/usr/sbin/pcscd", "--foreground",
                             "--config", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while READER not in readers():  # pcscd has no readiness signal but its reader list
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.communicate()[1].decode(errors="replace")[-500:]
            raise RuntimeError(f"pcscd did not list {READER!r}: {err}")
        time.sleep(0.05)
    return proc, port


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
