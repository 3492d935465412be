"""A local MQTT broker for a simulated hall: mosquitto when installed, else amqtt in-process."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from kioskd import devicebroker
from kioskd.config import Config

log = logging.getLogger("kioskd.sim.broker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(RuntimeError):
    """The port picked free was bound by another process before the broker bound it."""


def mosquitto_path() -> str | None:
    # Debian installs it in /usr/sbin, which is not on every user's PATH
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class Mosquitto:
    """A mosquitto on 127.0.0.1 with persistence in `folder`, restartable on the same port.

    mosquitto cannot bind port 0 and say which port it got, so a port is picked free and, if
    another process takes it before mosquitto binds it, the first start picks again. `extra`
    may name a second listener as `{port2}` (picked the same way)."""

    kind = "mosquitto"
    BIND_TRIES = 5

    def __init__(self, folder: Path, port: int = 0, extra: str = "allow_anonymous true\n"):
        self.folder = Path(folder)
        self._pick = not port  # ours to choose again if it is taken meanwhile
        self.port = port or free_port()
        self.port2 = free_port() if "{port2}" in extra else 0
        self.extra = extra  # more mosquitto.conf lines (tests: a broker that refuses)
        self.proc: asyncio.subprocess.Process | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 10.0) -> None:
        for attempt in range(self.BIND_TRIES):
            try:
                await self._start(timeout)
                self._started = True
                return
            except PortTaken:
                if not self._pick or self._started or attempt == self.BIND_TRIES - 1:
                    raise
                self.port = free_port()
                self.port2 = free_port() if self.port2 else 0

    async def _start(self, timeout: float) -> None:
        exe = mosquitto_path()
        if not exe:
            raise FileNotFoundError("mosquitto is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        extra = self.extra.replace("{port2}", str(self.port2))
        conf.write_text(f"listener {self.port} 127.0.0.1\n{extra}"
                        f"persistence true\npersistence_location {self.folder}/\n"
                        "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
                        "log_type information\nmax_queued_messages 100000\n"
                        # small request/response messages (pads): no Nagle delay
                        "set_tcp_nodelay true\n")
        self.proc = await asyncio.create_subprocess_exec(
            exe, "-c", str(conf), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        seen = []
        try:
            async with asyncio.timeout(timeout):
                while True:  # wait for the line that says it listens, not for a fixed time
                    line = await self.proc.stderr.readline()
                    if not line:
                        said = b"".join(seen).decode(errors="replace")
                        if "Address already in use" in said:
                            raise PortTaken(said)
                        raise RuntimeError("mosquitto exited: " + said)
                    seen.append(line)
                    if b" running" in line:
                        break
        except BaseException:
            await self.stop()
            raise
        self._drain = asyncio.create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while await self.proc.stderr.readline():
            pass

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                async with asyncio.timeout(5):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if getattr(self, "_drain", None):
            self._drain.cancel()
        self.proc = None


class Embedded:
    """amqtt's broker in this process, for machines without mosquitto."""

    kind = "embedded"

    def __init__(self, folder: Path, port: int = 0):
        self.port = port or free_port()
        self.broker = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        from amqtt.broker import Broker

        for noisy in ("amqtt", "transitions"):  # transitions: the state machine amqtt runs on
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self.broker = Broker({
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                        {"allow_anonymous": True}},
        })
        await self.broker.start()

    async def stop(self) -> None:
        if self.broker:
            await self.broker.shutdown()
            self.broker = None


def lock_down(broker: "Mosquitto", cfg: Config) -> dict[str, tuple[str, str]]:
    """Give the device broker a login per networked device and one for the daemon, and the
    hall's ACL (kioskd.devicebroker): the (user, password) of each, by device id and
    `devicebroker.DAEMON_USER`. Fresh random passwords each run; nothing outside the sim's
    state folder knows them."""
    tool = shutil.which("mosquitto_passwd") or shutil.which("mosquitto_passwd", path="/usr/bin")
    if not tool:
        raise FileNotFoundError("mosquitto_passwd is not installed (Debian: mosquitto)")
    broker.folder.mkdir(parents=True, exist_ok=True)
    users = [devicebroker.DAEMON_USER] + [d.id for d in devicebroker.networked(cfg)]
    logins = {u: (u, secrets.token_hex(12)) for u in users}
    passwd, acl = broker.folder / "passwd", broker.folder / "acl"
    passwd.write_text("")
    for user, password in logins.values():
        subprocess.run([tool, "-b", str(passwd), user, password], check=True,
                       capture_output=True)
    acl.write_text(devicebroker.acl(cfg))
    broker.extra = devicebroker.mosquitto_lines(str(passwd), str(acl))
    if os.geteuid() == 0:
        # started as root, mosquitto reads these files as its own user, which cannot enter a
        # root-only state folder (a test's tmp_path); a loopback sim broker may stay root
        broker.extra += "user root\n"
    return logins


def make_broker(kind: str, folder: Path) -> Mosquitto | Embedded:
    """kind: auto (mosquitto if installed, else embedded), mosquitto, embedded."""
    if kind == "mosquitto" or (kind == "auto" and mosquitto_path()):
        return Mosquitto(folder)
    if kind in ("auto", "embedded"):
        try:
            import amqtt  # noqa: F401
        except ImportError:
            raise RuntimeError("no broker: install mosquitto (apt-get install mosquitto) "
                               "or the embedded one (pip install 'kioskd[sim]')") from None
        return Embedded(folder)
    raise ValueError(f"unknown broker kind {kind!r}")


