"""The central link's delivery guarantee against the reference collector on a real mosquitto: a
row is delivered only when central stored it (not when the broker took it); the collector
deduplicates, finds gaps, shares load through an MQTT 5 shared subscription."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from kioskd.central.collector import Collector
from kioskd.sim.hall import SimHall
from support.helpers import Subscriber


def produce(hall, n: int) -> None:
    """n journal rows, as a busy hall makes them (device.state is any event's shape)."""
    for i in range(n):
        hall.record("device.state", {"device": "load", "type": "test", "state": "ready",
                                     "condition": "ok", "detail": str(i)})


def stored(db, hall: str = "demo-hall") -> list[int]:
    """The seqs central stored for `hall`, from its SQLite file or PostgreSQL DSN."""
    from kioskd.central.store import open_store

    store = open_store(db)
    try:
        return store.seqs(hall)
    finally:
        store.close()


async def unheard(hall, sub, n: int) -> int:
    """n rows the broker took (a subscriber has them) while no central listened; the last seq."""
    produce(hall, n)
    last = hall.journal.last_seq
    await sub.watch.until(lambda: set(range(1, last + 1)) <= set(sub.seqs()), 10,
                          "all went by on the broker")
    return last


async def test_only_centrals_ack_delivers_a_row(tmp_path, demo_cfg, broker, sub):
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0, central=False)
    hall = await sim.start()
    col = None
    try:
        last = await unheard(hall, sub, 50)
        # the broker took every row, and still none counts as delivered: no central has said
        # it stored them
        assert hall.journal.backlog() == last and hall.uplink.central_upto == 0
        col = Collector(broker.url, tmp_path / "central.sqlite3", group=None,
                        keys=sim.central_keys)
        col.start()
        # central was not listening then: the hall sends again what it has not acknowledged
        # (on its next reconnect or restart); a restart here
        hall = await sim.restart_daemon()
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 10, "central acknowledges")
        assert stored(tmp_path / "central.sqlite3") == list(range(1, hall.journal.last_seq + 1))
        assert hall.uplink.central_upto == hall.journal.last_seq
    finally:
        if col:
            await asyncio.to_thread(col.stop)
        await sim.stop()


async def test_state_carries_a_boot_counter(tmp_path, demo_cfg, broker):
    watch = await Subscriber(broker.port, f"kioskd/v1/{demo_cfg.hall.id}/state").start()
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0)
    try:
        await sim.start()
        await watch.watch.until(lambda: any(json.loads(p).get("online") for _, p, _ in
                                            watch.messages), 5, "online")
        await sim.restart_daemon()
        boots = lambda: [json.loads(p)["boot"] for _, p, _ in watch.messages]  # noqa: E731
        await watch.watch.until(lambda: 2 in boots(), 5, "the second boot")
        assert boots()[0] == 1 and max(boots()) == 2
    finally:
        watch.stop()
        await sim.stop()


async def test_at_most_10000_rows_go_out_ahead_of_centrals_ack(tmp_path, demo_cfg, broker):
    """With no central acknowledging, the hall sends rows up to seq 10,000 and then only
    sends those again (on its stall timer); the rows beyond wait for central's ack."""
    from kioskd.uplink.mqtt import AHEAD

    assert AHEAD == 10_000
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0, central=False)
    hall = await sim.start()
    sub = await Subscriber(broker.port, f"kioskd/v1/{demo_cfg.hall.id}/event/load.test").start()
    col = None
    try:
        first = hall.journal.last_seq + 1
        rows = [("load.test", {"n": i}) for i in range(AHEAD + 100 - first + 1)]
        envs = hall.journal.append(rows, hall.now().isoformat(timespec="milliseconds"))
        first, last = envs[0].seq, envs[-1].seq
        hall.uplink.notify()
        # more messages than rows up to the cap: the hall has started sending them again
        await sub.watch.until(lambda: len(sub.messages) > AHEAD - first + 1, 30,
                              "the rows up to the cap, then a resend")
        seqs = sub.seqs()
        assert max(seqs) == AHEAD and set(range(first, AHEAD + 1)) <= set(seqs)
        assert hall.uplink.status()["sent_upto"] <= AHEAD
        col = Collector(broker.url, tmp_path / "central.sqlite3", group=None,
                        keys=sim.central_keys)
        col.start()  # central acknowledges: the rest goes out
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 30, "all delivered")
        assert set(range(first, last + 1)) <= set(stored(tmp_path / "central.sqlite3"))
    finally:
        sub.stop()
        if col:
            await asyncio.to_thread(col.stop)
        await sim.stop()


async def test_a_replay_with_the_hall_busy_sends_every_row_once_in_order(tmp_path, demo_cfg,
                                                                          broker):
    """Rows go out from two threads: the loop reads them ahead and starts the window, paho's
    thread sends the next on each PUBACK. A backlog replaying while the hall journals more
    rows and publishes device states from the loop: the broker sees every row, in seq order
    (the first time each comes), and central acknowledges them all."""
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0)
    sub = await Subscriber(broker.port, f"kioskd/v1/{demo_cfg.hall.id}/event/#").start()
    hall = await sim.start()
    try:
        first = hall.journal.last_seq + 1
        hall.journal.append([("load.test", {"n": i}) for i in range(3000)],
                            hall.now().isoformat(timespec="milliseconds"))
        hall.uplink.notify()
        for i in range(300):
            produce(hall, 1)
            hall.uplink.publish_device_state("load", {"state": "ready", "n": i})
            await asyncio.sleep(0)  # the replay's PUBACKs come in meanwhile
        last = hall.journal.last_seq
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 30, "central acknowledged")
        await sub.watch.until(lambda: last in sub.seqs(), 5, "the last row at the broker")
        assert list(dict.fromkeys(s for s in sub.seqs() if first <= s <= last)) == list(
            range(first, last + 1))
    finally:
        sub.stop()
        await sim.stop()


async def test_a_replay_goes_on_while_the_loop_is_busy(tmp_path, demo_cfg, broker):
    """paho's thread sends the rows read ahead by itself: with the hall's loop held (a burst
    of calls, a page being made), the replay does not stop at the 20 rows on the wire."""
    import threading

    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0, central=False)
    sub = await Subscriber(broker.port, f"kioskd/v1/{demo_cfg.hall.id}/event/load.test").start()
    hall = await sim.start()
    arrived, many = [0], threading.Event()
    on_message = sub.client.on_message

    def counting(client, userdata, msg):  # in the subscriber's thread: the loop is held
        on_message(client, userdata, msg)
        arrived[0] += 1
        if arrived[0] >= 400:
            many.set()
    sub.client.on_message = counting
    try:
        hall.journal.append([("load.test", {"n": i}) for i in range(3000)],
                            hall.now().isoformat(timespec="milliseconds"))
        hall.uplink.notify()
        await sub.watch.until(lambda: sub.messages, 10, "the replay started")
        # the loop's thread blocks here (bounded): only paho's thread can send meanwhile
        assert many.wait(10), f"{arrived[0]} rows arrived while the loop was held"
    finally:
        sub.stop()
        await sim.stop()


async def test_a_duplicate_is_acknowledged_again(tmp_path, broker):
    """A hall whose ack was lost (a broker restarted without it) sends its rows again: central
    acknowledges the duplicates too, or that hall would resend them forever."""
    col = Collector(broker.url, tmp_path / "central.sqlite3", group=None)
    acks = await Subscriber(broker.port, "kioskd/v1/h1/ack").start()
    env = json.dumps({"v": 1, "hall": "h1", "seq": 1, "id": "i1", "ts": "t", "type": "x",
                      "data": {}, "prev": ""})
    seen = lambda: [json.loads(p)["seq"] for _, p, _ in acks.messages]  # noqa: E731
    try:
        col.start()
        await asyncio.to_thread(col.connected.wait, 5)
        acks.client.publish("kioskd/v1/h1/event/x", env, qos=1)
        await acks.watch.until(lambda: seen() == [1], 5, "the first ack")
        acks.client.publish("kioskd/v1/h1/event/x", env, qos=1)  # the same row again
        await acks.watch.until(lambda: seen() == [1, 1], 5, "the duplicate acknowledged")
        assert col.duplicates == 1 and col.stored == 1
    finally:
        acks.stop()
        await asyncio.to_thread(col.stop)


def test_a_late_will_of_an_older_boot_is_no_news(central_db):
    """The broker may deliver boot 1's will after boot 2 said it is online: the hall stays
    online at central; the will of the boot that is running does take it offline."""
    from kioskd.central.store import open_store

    store = open_store(central_db)
    try:
        store.hall_state("h1", True, 1)
        store.hall_state("h1", True, 2)
        store.hall_state("h1", False, 1)  # boot 1's late will
        assert store.hall_online("h1") == (True, 2)
        store.hall_state("h1", False, 2)
        assert store.hall_online("h1") == (False, 2)
        store.hall_state("h1", True, None)  # a hall too old to count its boots: taken as said
        assert store.hall_online("h1") == (True, 2)
    finally:
        store.close()


def test_collector_deduplicates_and_finds_gaps(central_db, broker):
    col = Collector(broker.url, central_db, group=None)
    env = lambda s: {"hall": "h1", "seq": s, "id": f"i{s}", "ts": "t", "type": "x",  # noqa: E731
                     "data": {}, "prev": ""}
    try:
        assert [col.store("h1", env(s)) for s in (1, 2, 4, 2)] == [True, True, True, False]
        assert col.upto("h1") == 2 and col.gaps("h1") == [(3, 3)] and col.duplicates == 1
        col.store("h1", env(3))  # the hole fills: the acknowledgement walks over 4
        assert col.upto("h1") == 4 and col.gaps("h1") == []
    finally:
        col.stop()


async def test_collectors_of_one_group_share_the_load(tmp_path, demo_cfg, broker, central_db):
    db = central_db
    cols = [Collector(broker.url, db, group="city", client_id=f"c{i}",
                      keys=lambda hall: sim.central_keys(hall)) for i in range(2)]
    for c in cols:
        c.start()
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0, central=False)
    try:
        await asyncio.to_thread(lambda: all(c.connected.wait(5) for c in cols))
        hall = await sim.start()
        produce(hall, 300)
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 20, "acknowledged")
        assert stored(db) == list(range(1, hall.journal.last_seq + 1))
        assert all(c.stored > 0 for c in cols), [c.stored for c in cols]  # both took a share
        assert sum(c.stored for c in cols) == hall.journal.last_seq  # each row stored once
    finally:
        await sim.stop()
        for c in cols:
            await asyncio.to_thread(c.stop)


def logged_in(cfg, hall: str = "demo-hall"):
    """The config with the hall's login to the city broker (tests/support/city.py)."""
    import dataclasses

    from support.city import HALLS

    return dataclasses.replace(cfg, uplink=dataclasses.replace(
        cfg.uplink, username=hall, password=HALLS[hall]))


async def test_broker_killed_while_events_are_produced(tmp_path, demo_cfg, city, full,
                                                       record_property):
    """The issue's 20,000 (with --full; 3,000 in make test): killed, restarted, nothing lost;
    on a broker with a password file and the ACL of one prefix per hall."""
    from support.city import CENTRAL

    counts = (3_000, 20_000)  # rows: make test, --full
    n = counts[full]
    record_property("counts", f"{counts[0]:,} / {counts[1]:,} rows, the broker SIGKILLed")
    sim = SimHall(logged_in(demo_cfg), tmp_path / "hall", broker=city, api_port=0,
                  central_login=CENTRAL)
    try:
        hall = await sim.start()
        start = hall.journal.last_seq
        produce(hall, n // 2)
        city.proc.kill()  # SIGKILL: no goodbye to anyone
        await city.proc.wait()
        await hall.watch.until(lambda: not hall.uplink.connected, 10, "the hall sees it")
        produce(hall, n - n // 2)
        await city.start()
        last = hall.journal.last_seq
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 120, "all acknowledged")
        rows = stored(sim.state / "central.sqlite3")
        assert rows == list(range(1, rows[-1] + 1)) and rows[-1] >= last  # contiguous, once each
        assert last - start >= n
    finally:
        await sim.stop()


async def test_collect_command_stores_and_acknowledges(tmp_path, broker):
    """`kioskd collect` as a city would start it: a row in, stored, acknowledged; Ctrl-C out."""
    import os
    import signal
    import sys

    db = tmp_path / "city.sqlite3"
    acks = await Subscriber(broker.port, "kioskd/v1/h9/ack").start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "collect", "--broker", broker.url, "--db", str(db),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        env = {"v": 1, "hall": "h9", "seq": 1, "id": "x", "ts": "t", "type": "ticket.issued",
               "data": {}, "prev": ""}
        pub = await Subscriber(broker.port, "none").start()
        # publish until the collector (still connecting) has it: QoS 1 to a shared group
        # that does not exist yet is dropped by the broker
        for _ in range(50):
            pub.client.publish("kioskd/v1/h9/event/ticket.issued", json.dumps(env), qos=1)
            try:
                await acks.watch.until(lambda: acks.messages, 0.2, "ack")
                break
            except TimeoutError:
                continue
        assert json.loads(acks.messages[-1][1]) == {"seq": 1}
        pub.stop()
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            rc = await proc.wait()
        acks.stop()
    assert rc == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT hall, seq, type FROM events").fetchall() == [
        ("h9", 1, "ticket.issued")]
    conn.close()


async def test_rows_central_never_got_are_sent_again_without_a_reconnect(tmp_path, demo_cfg,
                                                                          broker, sub):
    """Rows the broker took but central never stored (here: central subscribed only after
    they went by) come again once central's ack stalls (RESEND_S), with no reconnect."""
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0, central=False)
    hall = await sim.start()
    col = None
    try:
        await unheard(hall, sub, 20)
        col = Collector(broker.url, tmp_path / "central.sqlite3", group=None,
                        keys=sim.central_keys)
        col.start()
        reconnects = hall.uplink.reconnects
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 15, "sent again, acked")
        assert hall.uplink.reconnects == reconnects
        assert stored(tmp_path / "central.sqlite3")[:hall.journal.last_seq] == list(
            range(1, hall.journal.last_seq + 1))
    finally:
        if col:
            await asyncio.to_thread(col.stop)
        await sim.stop()


async def test_only_a_signed_ack_within_the_journal_is_obeyed(tmp_path, demo_cfg, broker, sub):
    """`ack` lets a hall purge: anyone who can publish a forged `{"seq": 10**9}` would mark the
    whole backlog delivered, never resent. Acks are signed with the hall's command key (central
    holds it); an unsigned, wrongly signed, or beyond-the-journal ack is refused and audited."""
    from kioskd.uplink.signed import sign_ack

    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0, central=False)
    hall = await sim.start()
    try:
        last = await unheard(hall, sub, 30)
        topic = "kioskd/v1/demo-hall/ack"
        key = sim.central_keys("demo-hall")
        forged = [({"seq": 10**9}, "ack.unsigned"),
                  ({"seq": last, "sig": sign_ack(b"k" * 32, "demo-hall", last)["sig"]},
                   "ack.bad_signature"),
                  (sign_ack(key, "demo-hall", last + 1000), "ack.beyond_journal"),
                  ({"seq": [[[[1]]]] * 2, "sig": "x"}, "ack.malformed")]
        for body, code in forged:
            for _ in range(3):  # a flood: counted, audited once a minute per reason
                sub.client.publish(topic, json.dumps(body), qos=1)
            await hall.watch.until(lambda: any(e.data["code"] == code for e in hall.journal.read(
                last) if e.type == "ack.refused"), 10, f"{code} audited")
        assert hall.uplink.central_upto == 0 and hall.journal.delivered_upto() == 0
        audits = [e.data["code"] for e in hall.journal.read(last) if e.type == "ack.refused"]
        assert sorted(audits) == sorted(code for _, code in forged)
        await hall.watch.until(lambda: hall.uplink.refused_acks == 12, 10, "every one counted")
        sub.client.publish(topic, json.dumps(sign_ack(key, "demo-hall", last)), qos=1)
        await hall.watch.until(lambda: hall.journal.delivered_upto() == last, 10, "a genuine ack")
    finally:
        await sim.stop()
