"""The device side of a simulated wire: a pty whose other end a driver opens like a real port.

The twin holds both ends of the pty, so a driver that closes and reopens its side (as drivers do
on every reconnect) finds the port still there. `unplug()` closes both, so the driver's side
fails as a pulled USB adapter does; `plug()` makes a new pty behind the same stable path.
"""

from __future__ import annotations

import asyncio
import os
import tty
from pathlib import Path
from typing import Callable


class PtyPort:
    def __init__(self, link: Path, on_bytes: Callable[[bytes], None]):
        self.link = Path(link)
        self.on_bytes = on_bytes
        self._master = self._slave = -1
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def plug(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass as they are
        os.set_blocking(self._master, False)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self._slave))
        tmp.replace(self.link)
        self._loop.add_reader(self._master, self._readable)

    def unplug(self) -> None:
        if not self.plugged:
            return
        assert self._loop is not None
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        self._out.clear()
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = -1
        self.link.unlink(missing_ok=True)

    def write(self, data: bytes) -> None:
        if not self.plugged:
            return  # a device without power says nothing
        self._out += data
        self._flush()

    def _flush(self) -> None:
        assert self._loop is not None
        try:
            n = os.write(self._master, self._out)
            del self._out[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._out.clear()
            return
        if self._out:
            self._loop.add_writer(self._master, self._flush)
        else:
            self._loop.remove_writer(self._master)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # nobody has the other end open right now
        if data:
            self.on_bytes(data)


class TcpPort:
    """The device side of a tcp:// device (network boards, printers on port 9100): a server on
    127.0.0.1 that talks to whoever connected last."""

    def __init__(self, on_bytes: Callable[[bytes], None], port: int = 0):
        self.on_bytes = on_bytes
        self.port = port
        self._server: asyncio.base_events.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task] = set()

    @property
    def plugged(self) -> bool:
        return self._server is not None

    @property
    def link(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def plug(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]  # the same port on every replug

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while data := await reader.read(65536):
                self.on_bytes(data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    def write(self, data: bytes) -> None:
        if self._writers:
            self._writers[-1].write(data)

    async def unplug(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for w in self._writers:
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
