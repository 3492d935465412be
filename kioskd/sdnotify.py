"""systemd's notify protocol: one datagram per message to $NOTIFY_SOCKET (a few lines; the
PyPI `sdnotify` package is unmaintained since 2017 and adds nothing)."""

from __future__ import annotations

import asyncio
import os
import socket


def notify(message: str) -> bool:
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):  # abstract namespace
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        try:
            s.connect(path)
            s.sendall(message.encode())
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Half the watchdog period systemd asked for, in seconds, or None when it asked none."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


async def watchdog(interval: float) -> None:
    """WATCHDOG=1 every `interval` seconds, from the event loop itself: a loop blocked (a
    callback that never returns, a sync call on a dead port) sends none, and systemd restarts
    the daemon after WatchdogSec. A ping from a thread would keep a hung hall alive."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
