"""A real PC/SC stack for the card twin (the tests, the bench): pcscd with Debian's
vsmartcard-vpcd, whose virtual readers the card twin (kioskd.sim.cardreader) plugs a card into.
The pcscd already running is used as it is; else its user starts one of its own and stops it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
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
    from kioskd.sim.broker import free_port

    conf = VPCD_CONF.read_text()
    if READER in readers():
        return None, int(re.search(r"CHANNELID\s+(0x[0-9A-Fa-f]+|\d+)", conf)[1], 0)
    lib = re.search(r"LIBPATH\s+(\S+)", conf)[1]
    seen: list[str] = []
    for _attempt in range(5):  # a port picked free may be taken before vpcd binds it
        port = free_port()
        (folder / "vpcd").write_text(f'FRIENDLYNAME "Virtual PCD"\n'
                                     f"DEVICENAME /dev/null:0x{port:04X}\nLIBPATH {lib}\n"
                                     f"CHANNELID 0x{port:04X}\n")
        proc = subprocess.Popen([shutil.which("pcscd") or "/usr/sbin/pcscd", "--foreground",
                                 "--info", "--config", str(folder)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:  # ends when pcscd exits: no wait without a bound
            seen.append(line)
            if "daemon ready" in line:  # logged once its readers are added
                break
        else:
            proc.wait()
            continue
        if any("Address already in use" in line for line in seen):
            stop(proc)
            continue
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep its pipe drained
        return proc, port
    raise RuntimeError(f"pcscd did not start with vpcd's reader:\n{''.join(seen)[-1000:]}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
