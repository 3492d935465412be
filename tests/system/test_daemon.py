"""`kioskd run` as systemd runs it: notify protocol, missing devices, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

from kioskd import config
from kioskd.sim.idcard import SamReaderTwin
from support.helpers import Subscriber, hall_toml, read_until


def daemon_toml(tmp_path, broker_port: int, reader_link) -> str:
    return hall_toml("t-hall", f'url = "mqtt://127.0.0.1:{broker_port}"', extra=f"""
        [[device]]
        id = "reader"
        type = "idcard.sam"
        kiosk = "k1"
        url = "serial://{reader_link}"
        [[device]]
        id = "printer"
        type = "printer.escpos"
        kiosk = "k1"
        url = "serial://{tmp_path}/no-such-port"
        """)


async def _datagram(sock: socket.socket, timeout: float) -> str:
    loop = asyncio.get_running_loop()
    return (await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout)).decode()


async def test_run_under_systemd_notify_and_sigterm(tmp_path, broker):
    cfg_path = tmp_path / "devices.toml"
    twin_cfg = config.DeviceConfig("reader", "idcard.sam", config.Endpoint("serial", baud=115200))
    twin = SamReaderTwin(twin_cfg, tmp_path / "dev" / "reader")
    await twin.start()
    cfg_path.write_text(daemon_toml(tmp_path, broker.port, twin.port.link))
    sub = await Subscriber(broker.port, "kioskd/v1/t-hall/#").start()

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.setblocking(False)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "WATCHDOG_USEC": "200000", "STATE_DIRECTORY": str(tmp_path / "state")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "run", "-c", str(cfg_path), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        messages = [await _datagram(notify, 20)]
        assert messages[0].startswith("READY=1")
        while messages.count("WATCHDOG=1") < 2:
            messages.append(await _datagram(notify, 2))

        # the reader comes up, the missing printer is reported absent, and the hall runs on
        def states():
            return {d: (sub.last(f"/device/{d}/state") or ({},))[0].get("state")
                    for d in ("reader", "printer")}
        await sub.watch.until(lambda: states() == {"reader": "ready", "printer": "absent"}, 10,
                              "device states on MQTT")

        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in messages:
            messages.append(await _datagram(notify, 2))
        # a bound for a loaded CI, not the speed (systemd's stop timeout is the product's)
        rc = await asyncio.wait_for(proc.wait(), 20)
        stderr = (await proc.stderr.read()).decode()
        assert rc == 0, stderr
        assert "Traceback" not in stderr
        await sub.watch.until(lambda: (sub.last("t-hall/state") or ({},))[0].get("online") is False,
                              5, "offline state")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        notify.close()
        sub.stop()
        await twin.stop()

    # the journal was closed cleanly and its chain is intact
    verify = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "verify-journal", "-c", str(cfg_path),
        env={**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await verify.communicate()
    assert verify.returncode == 0, err.decode()
    assert b"hash chain intact" in out
    # the daemon's files are its own whatever umask started it (this test's is 022)
    made = [p for p in (tmp_path / "state").rglob("*")]
    assert made and {oct(p.stat().st_mode & 0o777) for p in made if p.is_file()} == {"0o600"}
    assert {oct(p.stat().st_mode & 0o777) for p in made if p.is_dir()} <= {"0o700"}
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0


async def test_the_watchdog_pings_stop_while_the_event_loop_is_blocked(tmp_path, monkeypatch):
    """The pings come from the event loop: a loop stuck in a call that never returns must let
    systemd's WatchdogSec run out. A ping from a thread would keep a hung hall alive."""
    from kioskd import sdnotify

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    task = asyncio.create_task(sdnotify.watchdog(0.02))
    try:
        for _ in range(3):  # it pings while the loop runs
            assert await _datagram(notify, 10) == "WATCHDOG=1"

        def pending() -> int:
            n = 0
            while True:
                try:
                    notify.recv(64)
                    n += 1
                except BlockingIOError:
                    return n

        pending()
        import time
        time.sleep(0.3)  # the loop blocked on purpose, 15 ping periods long
        assert pending() == 0, "pings went out while the event loop was blocked"
        assert await _datagram(notify, 10) == "WATCHDOG=1"  # and again once it runs
    finally:
        task.cancel()
        notify.close()


async def test_sighup_with_a_broken_file_changes_nothing_and_the_next_one_reloads(tmp_path):
    """A file nested 50,000 deep (a RecursionError inside tomllib) or naming a state_dir that
    is a file: the running config stays, said in one line, and the next SIGHUP still works."""
    cfg_path = tmp_path / "devices.toml"
    good = hall_toml("t-hall", 'url = "mqtt://127.0.0.1:1"')
    cfg_path.write_text(good)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "run", "-c", str(cfg_path),
        env={**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            await read_until(proc.stderr, lines, lambda ls: any(" running:" in x for x in ls))
            for broken in (good + "[voice]\nx = " + "[" * 50_000 + "]" * 50_000 + "\n",
                           good.replace('name = "测试大厅"', 'name = "测试大厅"\nstate_dir = "'
                                        f'{cfg_path}"')):
                cfg_path.write_text(broken)
                proc.send_signal(signal.SIGHUP)
                n = len(lines)
                await read_until(proc.stderr, lines,
                                 lambda ls: any("config not reloaded" in x for x in ls[n:]))
            cfg_path.write_text(good.replace("categories = [\"A\"]", "categories = [\"A\"]\n"
                                             "[[window]]\nnumber = 2\ncategories = [\"A\"]"))
            proc.send_signal(signal.SIGHUP)
            await read_until(proc.stderr, lines, lambda ls: any("2 windows" in x for x in ls))
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
    text = "".join(lines)
    assert "Traceback" not in text and "nested 50000 deep" in text and "not a folder" in text
