"""The broker goes away mid-flow: the hall keeps serving, and nothing is lost or reordered."""

from __future__ import annotations

import aiohttp

from kioskd.sim.broker import Mosquitto
from kioskd.sim.hall import SimHall
from kioskd.sim.scenario import visit
from support.helpers import Subscriber


async def test_broker_down_then_back_loses_nothing(tmp_path, demo_cfg):
    broker = Mosquitto(tmp_path / "broker")
    await broker.start()
    # central: a persistent session, so the broker keeps its messages across the restart
    central = await Subscriber(broker.port, f"kioskd/v1/{demo_cfg.hall.id}/event/#",
                               client_id="central-test", persistent=True).start()
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0)
    try:
        hall = await sim.start()
        async with aiohttp.ClientSession() as http:
            await visit(sim, http, card=None, category="A", window=1)
            await central.watch.until(lambda: hall.journal.last_seq in central.seqs(), 10)

            await broker.stop()
            await hall.watch.until(lambda: not hall.uplink.connected, 10, "the hall sees it")
            during = [await visit(sim, http, card=None, category=c, window=w)
                      for c, w in (("B", 2), ("C", 3), ("A", 1))]
            assert [v.accepted for v in during] == [True, True, True]  # the hall kept working
            assert hall.journal.backlog() >= 3 * 6

            await broker.start()  # same port; its persistence restores central's session
            last = hall.journal.last_seq
            await central.watch.until(lambda: set(range(1, last + 1)) <= set(central.seqs()),
                                      30, "every row reaches central")
            await hall.watch.until(lambda: hall.journal.backlog() == 0, 10, "all acknowledged")
        seqs = central.seqs()
        first_seen = list(dict.fromkeys(seqs))
        assert first_seen == sorted(first_seen), "rows arrived out of order"
        # every row up to `last`, and no hole above it (a device may report after `last`)
        assert set(range(1, last + 1)) <= set(seqs) == set(range(1, max(seqs) + 1)), \
            [e["type"] for e in central.events() if e["seq"] > last]
        types = list({e["seq"]: e["type"] for e in central.events()}.values())
        assert types.count("rating.given") == 4
    finally:
        await sim.stop()
        central.stop()
        await broker.stop()


async def test_broker_refusing_the_hall_is_a_clear_error(tmp_path, demo_cfg, caplog):
    # a broker that wants credentials the hall does not have
    broker = Mosquitto(tmp_path / "broker", extra="allow_anonymous false\n")
    await broker.start()
    sim = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0)
    try:
        hall = await sim.start()
        await hall.watch.until(lambda: hall.uplink.status()["last_error"], 10, "refusal seen")
        assert "not authori" in hall.uplink.status()["last_error"].lower()
        assert any("refused user" in r.getMessage() and r.levelname == "ERROR"
                   for r in caplog.records)
        async with aiohttp.ClientSession() as http:
            v = await visit(sim, http, card=None, category="A", window=1)
        assert v.accepted and not hall.uplink.connected
        assert hall.journal.backlog() == hall.journal.last_seq  # all kept for later
    finally:
        await sim.stop()
        await broker.stop()
