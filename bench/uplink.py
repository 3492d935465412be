"""The central link: a backlog replayed after an outage, and the daemon's memory while it
holds one."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path


def _fill(journal, n: int) -> None:
    """n rows as a busy hall journals them, in commits of 1000 (the bench is not about them)."""
    data = {"device": "load", "type": "test", "state": "ready", "condition": "ok",
            "detail": "x" * 120}
    for i in range(0, n, 1000):
        journal.append([("device.state", data)] * min(1000, n - i),
                       "2026-12-01T09:00:00.000+08:00")


ROUNDS = 3  # kioskd and raw paho take turns: the box's noise falls on both alike


async def bench_backlog(n: int, folder: Path) -> None:
    """A hall back from an outage with rows waiting: the uplink replays them (read from the
    journal, QoS 1, 20 on the wire) until the broker took all; beside raw paho publishing the
    same payloads on the same broker, QoS 1, 20 in flight, until the last PUBACK. First with
    the broker alone (min(n, AHEAD) rows: beyond AHEAD a hall waits for central's acks), then
    n rows with central (`kioskd collect`, its own process, as in a city) storing and
    acknowledging them meanwhile, and the time until it acknowledged all. ROUNDS rounds
    each, the two taking turns and each round a hall of its own; the medians are compared."""
    import subprocess

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kioskd.journal import Journal
    from kioskd.sim.broker import Mosquitto
    from kioskd.uplink.mqtt import AHEAD

    def halls(phase: str, rows: int) -> list:
        out = []
        for r in range(ROUNDS):
            hall = f"bench-{phase}-{r}"
            journal = Journal(folder / f"bl-{phase}-{r}.sqlite3", hall)
            _fill(journal, rows)
            payloads = [e.to_json().replace(f'"hall":"{hall}"', f'"hall":"raw-{hall}"')
                        for e in journal.read(limit=rows)]
            # central signs its acks with the hall's command key: a hall obeys no other
            key = os.urandom(32)
            (folder / "bl-keys" / f"{hall}.key").write_text(key.hex())
            out.append((hall, journal, key, payloads))
        return out

    async def rounds(each: list, rows: int, central: bool) -> tuple[list, list, list]:
        ours, acked, raw = [], [], []
        for r, (hall, journal, key, payloads) in enumerate(each):
            if r % 2:  # who goes first alternates
                raw.append(await asyncio.to_thread(_raw_paho, broker.port, f"raw-{hall}",
                                                   payloads, central))
            sent, all_acked = await _kioskd_replay(broker, hall, journal, key, rows, central)
            ours.append(sent)
            acked.append(all_acked)
            if not r % 2:
                raw.append(await asyncio.to_thread(_raw_paho, broker.port, f"raw-{hall}",
                                                   payloads, central))
        return ours, acked, raw

    (folder / "bl-keys").mkdir(exist_ok=True)
    alone = min(n, AHEAD)
    broker = Mosquitto(folder / "bl-broker")
    await broker.start()
    central = None
    try:
        alone_halls, central_halls = halls("alone", alone), halls("central", n)
        ours_alone, _, raw_alone = await rounds(alone_halls, alone, central=False)
        central = subprocess.Popen(
            [sys.executable, "-m", "kioskd", "collect", "--broker", broker.url, "--db",
             str(folder / "bl-central.sqlite3"), "--group", "bench", "--keys",
             str(folder / "bl-keys")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.to_thread(_until_central_listens, broker.port, mqtt, CallbackAPIVersion)
        ours, acked, raw = await rounds(central_halls, n, central=True)
    finally:
        if central:
            central.terminate()
            central.wait()
        await broker.stop()
    _print_replay(f"backlog replay, {alone} rows, broker alone", alone, ours_alone, raw_alone)
    _print_replay(f"backlog replay, {n} rows, central storing", n, ours, raw)
    med = statistics.median
    print(f"{'  ... and central acknowledged all':<44} kioskd {n / med(acked):8.0f} ev/s "
          f"({med(acked):.2f} s)")


def _print_replay(name: str, n: int, ours: list[float], raw: list[float]) -> None:
    med = statistics.median
    print(f"{name:<44} kioskd {n / med(ours):8.0f} ev/s | raw paho {n / med(raw):8.0f} ev/s | "
          f"ratio {med(raw) / med(ours):5.2f}x")
    print(f"{'  ... each round, kioskd / raw paho ev/s':<44} "
          + ", ".join(f"{n / o:.0f} / {n / w:.0f}" for o, w in zip(ours, raw)))


def _counting(on_publish, n: int, done):
    """on_publish that also sets `done` at the n-th PUBACK, in paho's thread: kioskd's and raw
    paho's last PUBACK are caught alike (the uplink's own state is the loop's: looking at it
    from here would take the GIL from paho's thread, which is what is measured)."""
    count = [0]

    def counted(*args):
        on_publish(*args)
        count[0] += 1
        if count[0] == n:
            done.set()
    return counted


async def _kioskd_replay(broker, hall: str, journal, key: bytes, n: int,
                         central: bool) -> tuple[float, float]:
    """Seconds from the start (connecting included, as for raw paho) until the broker took
    every row, and (with central) until central acknowledged every row."""
    import threading

    from kioskd.config import UplinkConfig
    from kioskd.uplink.mqtt import Uplink
    from kioskd.watch import Watch

    watch = Watch()
    up = Uplink(UplinkConfig(broker.url, "127.0.0.1", broker.port), hall, journal,
                watch.changed, ack_key=key)
    done = threading.Event()  # the hall's "online" state, then its n rows
    up.client.on_publish = _counting(up.client.on_publish, n + 1, done)
    t0 = time.perf_counter()
    await up.start()
    if not await asyncio.to_thread(done.wait, 300):  # every row's PUBACK is in
        raise RuntimeError("kioskd: the broker never acknowledged every row")
    sent = time.perf_counter() - t0
    if central:
        await watch.until(lambda: journal.backlog() == 0, 300, "central acknowledged all")
    acked = time.perf_counter() - t0
    await up.stop()
    journal.close()
    return sent, acked


def _raw_paho(port: int, client_id: str, payloads: list[str], central: bool) -> float:
    """Seconds for raw paho to publish every payload, QoS 1, 20 in flight, to the last PUBACK;
    then (untimed, with central) until central stored them all, so the next round finds
    central idle."""
    import json
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    c.max_inflight_messages_set(20)
    done = threading.Event()
    stored = threading.Event()

    def on_message(_c, _u, msg):
        if json.loads(msg.payload)["seq"] >= len(payloads):
            stored.set()
    c.on_publish = _counting(lambda *_: None, len(payloads), done)
    c.on_message = on_message
    t0 = time.perf_counter()
    c.connect("127.0.0.1", port)
    c.subscribe(f"kioskd/v1/{client_id}/ack", qos=1)
    c.loop_start()
    for p in payloads:
        c.publish(f"kioskd/v1/{client_id}/event/device.state", p, qos=1)
    if not done.wait(300):
        raise RuntimeError("raw paho: the broker never acknowledged every row")
    took = time.perf_counter() - t0
    if central and not stored.wait(300):
        raise RuntimeError("raw paho: central never acknowledged every row")
    c.disconnect()
    c.loop_stop()
    return took


def _until_central_listens(port: int, mqtt, api) -> None:
    """A probe row published until central acknowledges it: then its subscription exists."""
    import json
    import threading

    acked = threading.Event()
    c = mqtt.Client(api.VERSION2, client_id="bench-probe")
    c.on_message = lambda *a: acked.set()
    c.connect("127.0.0.1", port)
    c.subscribe("kioskd/v1/bench-probe/ack", qos=1)
    c.loop_start()
    env = {"v": 1, "hall": "bench-probe", "seq": 1, "id": "p", "ts": "t", "type": "probe",
           "data": {}, "prev": ""}
    try:
        for _ in range(100):
            c.publish("kioskd/v1/bench-probe/event/probe", json.dumps(env), qos=1)
            if acked.wait(0.2):
                return
        raise RuntimeError("central (kioskd collect) never acknowledged the probe")
    finally:
        c.disconnect()
        c.loop_stop()


def bench_backlog_memory(n: int, folder: Path) -> None:
    """The daemon's resident memory with n events waiting (broker unreachable), beside the same
    daemon with an empty journal: the backlog stays on disk, not in memory."""
    import subprocess

    from kioskd.journal import Journal
    from kioskd.sim.broker import free_port

    def rss_of_daemon(state: Path) -> int:
        cfg = folder / "mem.toml"
        cfg.write_text(f'[hall]\nid = "bench-hall"\nname = "x"\n[uplink]\n'
                       f'url = "mqtt://127.0.0.1:{free_port()}"\n[api]\n'
                       f'listen = "127.0.0.1:{free_port()}"\n[[category]]\ncode = "A"\n'
                       f'name = "A"\n[[window]]\nnumber = 1\ncategories = ["A"]\n')
        proc = subprocess.Popen([sys.executable, "-m", "kioskd", "run", "-c", str(cfg)],
                                env={**os.environ, "STATE_DIRECTORY": str(state)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for line in proc.stderr:
                if b"no connection to broker" in line:  # started, and the uplink tried
                    break
            status = Path(f"/proc/{proc.pid}/status").read_text()
            return int(next(ln for ln in status.splitlines()
                            if ln.startswith("VmRSS")).split()[1])
        finally:
            proc.terminate()
            proc.wait()
    empty = rss_of_daemon(folder / "mem-empty")
    j = Journal(folder / "mem-full" / "journal.sqlite3", "bench-hall")
    _fill(j, n)
    j.close()
    full = rss_of_daemon(folder / "mem-full")
    print(f"{'daemon RSS, ' + str(n) + ' events waiting':<44} kioskd {full / 1024:8.1f} MiB | "
          f"empty journal {empty / 1024:8.1f} MiB | ratio {full / empty:5.2f}x")
