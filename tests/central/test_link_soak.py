"""The delivery guarantee under abuse, on a real mosquitto: the broker restarted at random moments
while the hall produces (nothing lost, no open files gained), and the daemon SIGKILLed
mid-stream and started again (nothing lost; duplicates only of rows the hall had not yet seen
acknowledged)."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import random
import re
import signal
import sys

import aiohttp
import pytest

from kioskd.central.collector import Collector
from kioskd.journal import Journal
from kioskd.sim.hall import SimHall
from support.city import CENTRAL, HALLS
from support.helpers import KIOSK_TOKEN, Subscriber, command_key_of, hall_toml
from test_central import logged_in, produce, stored


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(600)
async def test_broker_restarted_at_random_moments_under_load(tmp_path, demo_cfg, city, full,
                                                              record_property):
    rounds = 20
    counts = (100, 400)  # rows per restart: make test, --full
    per_round = counts[full]
    record_property("counts", f"{rounds} restarts, {counts[0] * rounds} / {counts[1] * rounds} "
                              "rows")
    rnd = random.Random(20261201)
    broker = city  # with the password file and the ACL of one prefix per hall
    sim = SimHall(logged_in(dataclasses.replace(demo_cfg, devices=())), tmp_path / "hall",
                  broker=broker, api_port=0, central_login=CENTRAL)
    try:
        hall = await sim.start()
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 10, "caught up")
        files = open_files()
        for _ in range(rounds):
            for _ in range(rnd.randint(1, 10)):  # load in bursts, around the restart
                produce(hall, per_round // 10)
                await asyncio.sleep(rnd.uniform(0, 0.05))  # a random moment, not a wait
            if rnd.random() < 0.5:
                broker.proc.kill()  # a crash
            else:
                broker.proc.terminate()  # a restart by its operator
            await broker.proc.wait()
            await broker.stop()
            produce(hall, per_round // 4)  # the hall goes on while the broker is away
            await broker.start()
            # the next loss is of a live link again (else restarts faster than the hall's
            # reconnect would be one long outage)
            await hall.watch.until(lambda: hall.uplink.connected, 20, "reconnected")
        last = hall.journal.last_seq
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 120, "all acknowledged")
        rows = stored(sim.state / "central.sqlite3")
        assert rows == list(range(1, last + 1))  # contiguous and each once: nothing lost
        assert hall.uplink.reconnects >= rounds
        assert open_files() <= files + 2, "open files grew over the restarts"
    finally:
        await sim.stop()


def daemon_toml(broker_port: int, login: str = "") -> str:
    return hall_toml("k-hall", f'url = "mqtt://127.0.0.1:{broker_port}"\n{login}')


async def start_daemon(cfg_path, state, log: list[bytes] | None = None, watch=None):
    """`kioskd run` in a child process, once it runs; its log lines go to `log`. The API's
    port is the one the daemon bound (listen = 127.0.0.1:0) and named: `proc.api`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "run", "-c", str(cfg_path),
        env={**os.environ, "STATE_DIRECTORY": str(state)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(20):
        while b" running: " not in (line := await proc.stderr.readline()):
            assert line, "the daemon exited before it ran"
    proc.api = re.search(rb"API (http://\S+)", line).group(1).decode()
    drain = asyncio.create_task(_drain(proc, [] if log is None else log, watch))
    return proc, drain


async def _drain(proc, log: list[bytes], watch) -> None:
    while line := await proc.stderr.readline():
        log.append(line)
        if watch:
            watch.changed()


async def test_sighup_reloads_a_good_config_and_keeps_on_a_broken_one(tmp_path, broker):
    from kioskd.watch import Watch

    cfg_path = tmp_path / "devices.toml"
    good = daemon_toml(broker.port)
    cfg_path.write_text(good)
    log: list[bytes] = []
    watch = Watch()
    proc, drain = await start_daemon(cfg_path, tmp_path / "state", log, watch)
    logged = lambda text: any(text in line for line in log)  # noqa: E731
    try:
        async with aiohttp.ClientSession(headers={
                "Authorization": f"Bearer {KIOSK_TOKEN}"}) as http:
            async def ticket(category: str) -> int:
                async with http.post(f"{proc.api}/api/tickets",
                                     json={"category": category}) as r:
                    return r.status
            cfg_path.write_text(good + '[[category]]\ncode = 5\n')
            proc.send_signal(signal.SIGHUP)
            await watch.until(lambda: logged(b"config not reloaded"), 10, "refused")
            assert logged(b"category[1].code") and await ticket("A") == 201
            cfg_path.write_text(good.replace('categories = ["A"]', 'categories = ["A", "B"]')
                                + '[[category]]\ncode = "B"\nname = "不动产登记"\n')
            proc.send_signal(signal.SIGHUP)
            await watch.until(lambda: logged(b"config reloaded"), 10, "reloaded")
            assert await ticket("B") == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        drain.cancel()


async def test_daemon_sigkilled_mid_stream(tmp_path, city, full, record_property):
    broker = city  # with the password file and the ACL of one prefix per hall
    cfg_path = tmp_path / "devices.toml"
    (tmp_path / "uplink.password").write_text(HALLS["k-hall"])
    cfg_path.write_text(daemon_toml(broker.port, 'username = "k-hall"\n'
                                    f'password_file = "{tmp_path}/uplink.password"'))
    state = tmp_path / "state"
    user, password = CENTRAL
    col = Collector(broker.url, tmp_path / "central.sqlite3", group=None, username=user,
                    password=password, keys=command_key_of(state))
    col.start()
    seen = await Subscriber(broker.port, "kioskd/v1/k-hall/event/#", username=user,
                            password=password).start()
    acks = await Subscriber(broker.port, "kioskd/v1/k-hall/ack", username=user,
                            password=password).start()
    counts = (2, 5)  # kills of the daemon: make test, --full
    kills = counts[full]
    record_property("counts", f"{counts[0]} / {counts[1]} kills of the daemon")
    rnd = random.Random(7)
    procs = []
    marks: list[tuple[int, int]] = []  # at each kill: (journal marked delivered up to, last seq)
    try:
        async with aiohttp.ClientSession(headers={
                "Authorization": f"Bearer {KIOSK_TOKEN}"}) as http:
            for _ in range(kills):
                proc, drain = await start_daemon(cfg_path, state)
                procs.append((proc, drain))
                for _ in range(rnd.randint(50, 150)):
                    async with http.post(f"{proc.api}/api/tickets",
                                         json={"category": "A"}) as r:
                        assert r.status == 201
                proc.kill()  # mid-stream: rows in flight, acks on their way
                await proc.wait()
                j = Journal(state / "journal.sqlite3", "k-hall")
                marks.append((j.delivered_upto(), j.last_seq))
                j.close()
        assert any(m < last for m, last in marks), "no kill caught rows unacknowledged"
        procs.append(await start_daemon(cfg_path, state))  # the last start, left running
        last = marks[-1][1]
        acked = lambda: (acks.last("/ack") or ({"seq": 0},))[0]["seq"]  # noqa: E731
        await acks.watch.until(lambda: acked() >= last, 30, "central acknowledges every row")
        rows = stored_of(tmp_path / "central.sqlite3")
        assert rows == list(range(1, rows[-1] + 1)) and rows[-1] >= last  # nothing lost
        counts = collections.Counter(seen.seqs())
        dupes = sorted(s for s, n in counts.items() if n > 1)
        # a row comes twice only if, when a daemon died, it was journaled and not yet marked
        # delivered
        assert all(any(m < s <= end for m, end in marks) for s in dupes), (dupes[:10], marks)
    finally:
        for proc, drain in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
            drain.cancel()
        seen.stop()
        acks.stop()
        col.stop()


def stored_of(db) -> list[int]:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT seq FROM events WHERE hall = 'k-hall' "
                                           "ORDER BY seq")]
    finally:
        conn.close()
