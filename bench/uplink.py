"""The central link: a backlog replayed after an outage, and the daemon's memory while it
holds one."""

from __future__ import annotations

import asyncio
import os
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


async def bench_backlog(n: int, folder: Path) -> None:
    """A hall back from an outage with n rows waiting: the uplink replays them (read from the
    journal, QoS 1, 20 on the wire) until the broker took all, and until central (`kioskd
    collect`, its own process as in a city) acknowledged all; beside raw paho publishing the
    same payloads on the same broker, QoS 1, 20 in flight, until the last PUBACK, while the
    same central takes them. Beyond 10,000 rows the hall waits for central's acks (AHEAD)."""
    import subprocess
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kioskd.config import UplinkConfig
    from kioskd.journal import Journal
    from kioskd.sim.broker import Mosquitto
    from kioskd.uplink.mqtt import Uplink
    from kioskd.watch import Watch

    broker = Mosquitto(folder / "bl-broker")
    await broker.start()
    try:
        journal = Journal(folder / "bl.sqlite3", "bench-hall")
        _fill(journal, n)
        payloads = [e.to_json().replace('"hall":"bench-hall"', '"hall":"bench-raw"')
                    for e in journal.read(limit=n)]
        # central signs its acks with the hall's command key: a hall obeys no other
        key = os.urandom(32)
        (folder / "bl-keys").mkdir(exist_ok=True)
        (folder / "bl-keys" / "bench-hall.key").write_text(key.hex())
        central = subprocess.Popen(
            [sys.executable, "-m", "kioskd", "collect", "--broker", broker.url, "--db",
             str(folder / "bl-central.sqlite3"), "--group", "bench", "--keys",
             str(folder / "bl-keys")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.to_thread(_until_central_listens, broker.port, mqtt, CallbackAPIVersion)
        watch = Watch()
        up = Uplink(UplinkConfig(broker.url, "127.0.0.1", broker.port), "bench-hall", journal,
                    watch.changed, ack_key=key)
        t0 = time.perf_counter()
        await up.start()
        while not (up._sent_upto == n and not up._inflight):  # every PUBACK is in
            await asyncio.sleep(0.001)
        sent = time.perf_counter() - t0
        await watch.until(lambda: journal.backlog() == 0, 300, "central acknowledged all")
        acked = time.perf_counter() - t0
        await up.stop()
        journal.close()

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
        c.max_inflight_messages_set(20)
        done = threading.Event()
        count = [0]

        def on_publish(*_):
            count[0] += 1
            if count[0] == n:
                done.set()
        c.on_publish = on_publish
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        t0 = time.perf_counter()
        for p in payloads:
            c.publish("kioskd/v1/bench-raw/event/device.state", p, qos=1)
        await asyncio.to_thread(done.wait, 300)
        raw = time.perf_counter() - t0
        c.disconnect()
        c.loop_stop()
        central.terminate()
        central.wait()
    finally:
        await broker.stop()
    print(f"{'backlog replay, ' + str(n) + ' rows, broker took all':<44} kioskd {n / sent:8.0f} "
          f"ev/s | raw paho {n / raw:8.0f} ev/s | ratio {raw / sent:5.2f}x")
    print(f"{'  ... and central acknowledged all':<44} kioskd {n / acked:8.0f} ev/s "
          f"({acked:.2f} s)")


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
