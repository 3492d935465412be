"""The hall's device broker trusts nobody: each networked device logs in as itself and may
publish only on its own topics, the daemon logs in as its own user, nobody is anonymous
(kioskd.devicebroker; a real mosquitto with the ACL `kioskd device-acl` prints)."""

from __future__ import annotations

import asyncio
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kioskd import devicebroker
from kioskd.cli import main as cli_main
from kioskd.pahofix import stop_loop

PAD, BOARD = "pad-w3", "board-lobby"


class Client:
    """A paho client in its own thread whose every event lands in a list, with waits on them."""

    def __init__(self, port: int, login: tuple[str, str] | None, name: str):
        self.port, self.events, self.cond = port, [], threading.Condition()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
        if login:
            self.c.username_pw_set(*login)
        self.c.on_connect = lambda c, u, f, rc, p: self._add(("connect", rc.is_failure, str(rc)))
        self.c.on_message = lambda c, u, m: self._add(("message", m.topic, m.payload.decode()))
        self.c.on_publish = lambda c, u, mid, rc, p: self._add(("published", mid))

    def _add(self, event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    async def wait(self, pred, what: str, timeout: float = 10.0):
        def look():
            with self.cond:
                if not self.cond.wait_for(lambda: any(pred(e) for e in self.events), timeout):
                    raise TimeoutError(f"not within {timeout} s: {what}; saw {self.events}")
                return next(e for e in self.events if pred(e))
        return await asyncio.to_thread(look)

    async def connect(self):
        self.c.connect_async("127.0.0.1", self.port)
        self.c.loop_start()
        return await self.wait(lambda e: e[0] == "connect", "a CONNACK")

    def close(self) -> None:
        self.c.disconnect()
        stop_loop(self.c)


@pytest.fixture
async def clients():
    made: list[Client] = []

    def make(*args):
        made.append(Client(*args))
        return made[-1]
    yield make
    for c in made:
        await asyncio.to_thread(c.close)


async def test_a_forged_offline_is_refused_by_the_broker_and_the_pad_stays_ready(sim, clients):
    port, logins = sim.device_broker.port, sim.device_logins
    pad_topic = sim.cfg.device(PAD).options["topic"]
    board_topic = sim.cfg.device(BOARD).options["topic"]
    assert set(logins) == {devicebroker.DAEMON_USER, PAD, BOARD}

    # nobody logs in anonymously, nor with a wrong password
    for login in (None, (PAD, "guess")):
        _, refused, why = await clients(port, login, f"intruder-{login}").connect()
        assert refused, why

    # the daemon's user reads every device's topics
    watcher = clients(port, logins[devicebroker.DAEMON_USER], "watcher")
    assert not (await watcher.connect())[1]
    watcher.c.subscribe([(f"{pad_topic}/#", 1), (f"{board_topic}/#", 1)])
    await watcher.wait(lambda e: e == ("message", f"{pad_topic}/availability", "online"),
                       "the pad's retained online")

    # another device, logged in as itself, forges the pad's availability and answers: the
    # broker drops both (MQTT 3.1.1 acks them and delivers nothing), then passes the board's own
    board = clients(port, logins[BOARD], "forger")
    assert not (await board.connect())[1]
    board.c.publish(f"{pad_topic}/availability", "offline", qos=1, retain=True)
    board.c.publish(f"{pad_topic}/rating", '{"level": 5}', qos=1)
    marker = board.c.publish(f"{board_topic}/availability", "online", qos=1, retain=True)
    await board.wait(lambda e: e == ("published", marker.mid), "the board's own publish acked")
    # messages of one client arrive in the order sent: once the board's own is in, the forged
    # ones would have been too
    await watcher.wait(lambda e: e == ("message", f"{board_topic}/availability", "online"),
                       "the board's own availability")
    assert ("message", f"{pad_topic}/availability", "offline") not in watcher.events
    assert not any(e[0] == "message" and e[1] == f"{pad_topic}/rating" for e in watcher.events)
    assert sim.hall.supervisors[PAD].state.state == "ready"

    # a newcomer still reads the pad's retained availability as online
    late = clients(port, logins[devicebroker.DAEMON_USER], "late")
    await late.connect()
    late.c.subscribe(f"{pad_topic}/availability", 1)
    await late.wait(lambda e: e[0] == "message", "the retained availability")
    assert [e for e in late.events if e[0] == "message"] == [
        ("message", f"{pad_topic}/availability", "online")]

    # the pad itself may say it is gone: the daemon sees it at once
    pad = clients(port, logins[PAD], "pad-itself")
    await pad.connect()
    pad.c.publish(f"{pad_topic}/availability", "offline", qos=1, retain=True)
    await sim.hall.watch.until(lambda: sim.hall.supervisors[PAD].state.state != "ready", 10,
                               "the pad's own offline heard")


def test_device_acl_prints_the_halls_rules(capsys):
    assert cli_main(["device-acl", "--config", "devices.toml"]) == 0
    text = capsys.readouterr().out
    t = "kioskd/v1/demo-hall/pad/pad-w3"
    assert f"user {devicebroker.DAEMON_USER}\n" in text and f"topic read {t}/#\n" in text
    assert f"topic write {t}/request\n" in text
    pad_rules = text.split(f"user {PAD}\n")[1].split("\n\n")[0].splitlines()
    assert pad_rules == [f"topic write {t}/availability", f"topic write {t}/response",
                         f"topic write {t}/rating", f"topic read {t}/request"]
    assert "user anonymous" not in text and "pattern" not in text


def test_the_daemons_login_is_read_from_its_file_once(tmp_path):
    from pathlib import Path

    from kioskd import config

    (tmp_path / "broker.pass").write_text("s3cret\n")
    text = Path("devices.toml").read_text(encoding="utf-8").replace(
        'key = "8e03d6b2f47a19c5e60b3d8f2a71c4e9"',
        'key = "8e03d6b2f47a19c5e60b3d8f2a71c4e9"\nusername = "kioskd"\n'
        'password_file = "broker.pass"', 1)
    (tmp_path / "devices.toml").write_text(text, encoding="utf-8")
    opts = config.load(tmp_path / "devices.toml").device(PAD).options
    assert (opts["username"], opts["password"]) == ("kioskd", "s3cret")
    assert "password_file" not in opts
