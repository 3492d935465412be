"""A full disk is a state, not a crash (issue 19.4), on a real tmpfs of 24 MB: the hall says
`disk.low` at once (central, /api/health, the kiosk's answer), tickets go on committing on the
journal's reserve, then a full disk answers 503 `disk.full` in words; freed space brings the
reserve back and nothing issued is lost."""

from __future__ import annotations

import os
import subprocess

import aiohttp
import pytest

from kioskd import config
from kioskd.hall import Hall
from support.helpers import KIOSK_TOKEN, HallClock, Subscriber, hall_toml


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "disk"
    where.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"cannot mount a tmpfs here (CI runs as root): {made.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def test_a_full_disk_is_a_state_and_tickets_commit_on_the_reserve(small_disk, tmp_path,
                                                                        broker, kioskd_log):
    path = tmp_path / "devices.toml"
    path.write_text(hall_toml("disk-hall", f'url = "mqtt://127.0.0.1:{broker.port}"').replace(
        'name = "测试大厅"', 'name = "测试大厅"\ndisk_reserve_mb = 2\ndisk_low_mb = 4'))
    cfg = config.load(path)
    sub = await Subscriber(broker.port, "kioskd/v1/disk-hall/event/#").start()
    hall = Hall(cfg, state=small_disk / "state", clock=HallClock(cfg.hall.tz))
    await hall.start()
    filler = small_disk / "filler"
    issued: list[str] = []
    try:
        assert hall.disk.reserve_file.stat().st_size == 2 << 20 and not hall.disk_low
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KIOSK_TOKEN}"}) as http:
            async def ticket() -> tuple[int, dict]:
                async with http.post(f"{hall.api_url}/api/tickets", json={"category": "A"}) as r:
                    body = await r.json()
                    if r.status == 201:
                        issued.append(body["ticket"])
                    return r.status, body

            assert (await ticket())[1]["warning"] is None
            # someone fills the disk, leaving 1 MB beside the reserve
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            os.posix_fallocate(fd, 0, hall.disk.free_bytes() - (1 << 20))
            os.close(fd)
            hall.tick_soon()
            await hall.watch.until(lambda: hall.disk_low, 10, "disk.low")
            async with http.get(f"{hall.api_url}/api/health") as r:
                assert (await r.json())["disk"]["state"] == "low"
            await sub.watch.until(lambda: any(e["type"] == "disk.low" for e in sub.events()), 10,
                                  "central hears disk.low")
            status, body = await ticket()
            assert status == 201 and body["warning"] == "disk.low"
            on_reserve = 0
            for _ in range(20_000):
                status, body = await ticket()
                if status != 201:
                    break
                on_reserve += not hall.disk.reserve_file.exists()
            assert (status, body["error"]) == (503, "disk.full") and "disk is full" in body["message"]
            assert on_reserve > 50, on_reserve  # the reserve bought time
            print(f"{len(issued)} tickets issued, {on_reserve} of them on the reserve")
            filler.unlink()  # the technician frees space
            hall.tick_soon()
            await hall.watch.until(lambda: not hall.disk_low, 10, "disk.ok")
            assert hall.disk.reserve_file.exists()
            status, body = await ticket()
            assert status == 201 and body["warning"] is None
    finally:
        sub.stop()
        await hall.stop()
    log = kioskd_log.text
    assert "Traceback" not in log, log
    assert "disk is full" in log
    hall = Hall(cfg, state=small_disk / "state", clock=HallClock(cfg.hall.tz))
    await hall.start()
    try:
        assert hall.journal.verify() is None
        numbers = [e.data["ticket"] for e in hall.journal.read(0, 100_000)
                   if e.type == "ticket.issued"]
        assert numbers == issued  # every answered ticket is in the journal, none other
    finally:
        await hall.stop()
