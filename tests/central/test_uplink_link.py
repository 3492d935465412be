"""The central link's connection on a real mosquitto set up as a city would: TLS with a client
certificate per hall, a password file, an ACL that lets each hall write only under its own
prefix; credentials refused; a broker that stops answering (SIGSTOP) is left and rejoined."""

from __future__ import annotations

import dataclasses
import json
import signal
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kioskd import config
from kioskd.hall import Hall
from kioskd.central.collector import Collector
from kioskd.uplink.mqtt import REFUSED_RETRY_S
from support.helpers import Subscriber, command_key_of, hall_toml
from test_central import produce

def hall_cfg(tmp_path: Path, uplink: str) -> config.Config:
    path = tmp_path / "devices.toml"
    path.write_text(hall_toml("h1", uplink))
    return config.load(path)


async def test_tls_client_certificate_and_the_acl(tmp_path, city, pki):
    cfg = hall_cfg(tmp_path, f"""
        url = "mqtts://127.0.0.1:{city.tls_port}"
        ca_file = "{pki}/ca.pem"
        cert_file = "{pki}/h1.pem"
        key_file = "{pki}/h1.key"
        """)
    col = Collector(city.url, tmp_path / "central.sqlite3", group=None, username="central",
                    password="central-pw", keys=command_key_of(tmp_path / "state"))
    col.start()
    hall = Hall(cfg, state=tmp_path / "state", api=False)
    watch = await Subscriber(city.port, "kioskd/v1/#", username="central",
                             password="central-pw").start()
    try:
        await hall.start()
        produce(hall, 50)
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 15,
                               "every row acknowledged by central over TLS")
        assert col.upto("h1") == hall.journal.last_seq
        # h1's certificate writing under h2's prefix: the broker refuses it (MQTT 5 says so
        # in the PUBACK) and no subscriber ever sees it
        refused = await publish_as_h1(pki, city.tls_port, "kioskd/v1/h2/event/ticket.issued")
        assert refused == "Not authorized"
        canary = await publish_as_h1(pki, city.tls_port, "kioskd/v1/h1/cmd-result/canary")
        assert canary == "Success"
        await watch.watch.until(lambda: any(t.endswith("/canary") for t, _, _ in watch.messages),
                                5, "the canary published after the forged row")
        assert not [t for t, _, _ in watch.messages if t.startswith("kioskd/v1/h2/")]
        assert col.upto("h2") == 0
    finally:
        watch.stop()
        await hall.stop()
        col.stop()


async def publish_as_h1(pki: Path, port: int, topic: str) -> str:
    """One QoS 1 publish with h1's certificate over MQTT 5; the PUBACK's reason."""
    import asyncio

    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.tls_set(ca_certs=f"{pki}/ca.pem", certfile=f"{pki}/h1.pem", keyfile=f"{pki}/h1.key")

    def on_publish(client, userdata, mid, rc, props):
        loop.call_soon_threadsafe(lambda: done.done() or done.set_result(str(rc)))
    c.on_publish = on_publish
    c.on_connect = lambda client, *a: client.publish(topic, json.dumps(
        {"v": 1, "hall": "h2", "seq": 1, "id": "x", "ts": "t", "type": "ticket.issued",
         "data": {}, "prev": ""}), qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        async with asyncio.timeout(10):
            return await done
    finally:
        c.disconnect()
        c.loop_stop()


async def test_refused_credentials_are_a_clear_error_retried_slowly(tmp_path, city,
                                                                     kioskd_log):
    pw = tmp_path / "uplink.password"
    pw.write_text("not-h1s-password\n")
    cfg = hall_cfg(tmp_path, f"""
        url = "mqtt://127.0.0.1:{city.port}"
        username = "h1"
        password_file = "{pw}"
        """)
    hall = Hall(cfg, state=tmp_path / "state", api=False)
    try:
        await hall.start()
        await hall.watch.until(lambda: hall.uplink.status()["last_error"], 10, "refused")
        status = hall.uplink.status()
        assert status["last_error"] in ("Not authorized", "Bad user name or password")
        assert not status["connected"] and status["retry_s"] == list(REFUSED_RETRY_S)
        assert "refused user 'h1'" in kioskd_log.text and "password_file" in kioskd_log.text
        produce(hall, 3)  # the hall goes on; its rows wait in the journal
        assert hall.journal.backlog() == hall.journal.last_seq
    finally:
        await hall.stop()


async def test_a_broker_that_stops_answering_is_left_and_rejoined(tmp_path, demo_cfg, broker):
    """SIGSTOP: TCP stays up, nothing answers. With rows in flight and no PUBACK for
    liveness_s the hall drops the link itself, and sends everything once the broker is back."""
    from kioskd.sim.hall import SimHall

    cfg = dataclasses.replace(demo_cfg, devices=(),
                              uplink=dataclasses.replace(demo_cfg.uplink, liveness_s=2))
    sim = SimHall(cfg, tmp_path / "hall", broker=broker, api_port=0)
    hall = await sim.start()
    try:
        # connected first: a broker stopped before its CONNACK is paho's keepalive's to leave
        await hall.watch.until(lambda: hall.uplink.connected, 10, "connected")
        broker.proc.send_signal(signal.SIGSTOP)
        try:
            produce(hall, 30)
            await hall.watch.until(lambda: hall.uplink.reconnects >= 1, 15,
                                   "the hall leaves the silent broker")
            assert hall.uplink.status()["last_error"].startswith("no PUBACK")
        finally:
            broker.proc.send_signal(signal.SIGCONT)
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 30, "all acknowledged")
    finally:
        await sim.stop()
