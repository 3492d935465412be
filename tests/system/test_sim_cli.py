"""`kioskd sim` as a newcomer runs it: it says where the API is, serves it, and Ctrl-C leaves
no process behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import aiohttp
import pytest

from support.helpers import REPO, read_until


async def _sim(tmp_path, broker: str, *extra: str):
    # from a working folder, with the state given relative to it, as `make run` runs
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "sim", "-c", str(REPO / "devices.toml"), "--state",
        "var/sim", "--api-port", "0", "--broker", broker, *extra, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
async def test_sim_serves_and_stops_clean(tmp_path, broker):
    proc = await _sim(tmp_path, broker, "--demo")
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            await read_until(proc.stdout, lines,
                             lambda ls: any("Ctrl-C stops everything" in ln for ln in ls))
            api = re.search(r"API\s+(http://\S+)/api/health", "".join(lines)).group(1)
            # a jar that keeps a cookie of an IP address, as browsers do
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                async with http.get(f"{api}/api/health") as r:
                    assert r.status == 200
                # each screen's address as printed opens it: set up, then the page itself
                screens = re.findall(r"screen\s+(http://\S+)", "".join(lines))
                assert screens and all(u.startswith(f"{api}/") for u in screens)
                for url in screens:
                    async with http.get(url) as r:
                        assert r.status == 200 and "text/html" in r.content_type, url
            await read_until(proc.stdout, lines, lambda ls: any(
                ln.startswith("demo: ") and "accepted" in ln for ln in ls))
            # the 24-hour zone: a night-time entry, then a pickup from the locker by its code
            await read_until(proc.stdout, lines, lambda ls: any(
                ln.startswith("demo: night-time entry") and "opened" in ln for ln in ls))
            await read_until(proc.stdout, lines, lambda ls: any(
                ln.startswith("demo: case") and "collected" in ln for ln in ls))
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stdout.read(), 10)).decode()
        assert await proc.wait() == 0
        assert "kioskd sim: stopped" in rest
        assert "Traceback" not in "".join(lines) + rest
        for pid in kids:  # mosquitto, when it was one, went with it
            assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
