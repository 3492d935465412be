"""Central's commands on a real mosquitto: genuine ones are carried out and answered; each void
one (unsigned, wrongly signed, a flipped byte, expired, replayed, moved to another op) is refused,
answered with its code and audited as `command.refused`, which central stores. The retained
appointment list is kept and used for check-in while the link is down."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from datetime import timedelta

import pytest

from kioskd import config
from kioskd.engine import queue
from kioskd.sim.hall import SimHall
from kioskd.uplink.signed import sign_appointments, sign_command
from support.helpers import Subscriber, api, hall_toml
from kioskd.drivers.registry import Role


class Central:
    """What a city's central does: sign, publish, read the hall's answers."""

    def __init__(self, hall, sub: Subscriber):
        self.hall, self.sub = hall, sub
        self.prefix = f"kioskd/v1/{hall.cfg.hall.id}"

    def signed(self, op: str, args: dict, ttl_s: float = 60, key: bytes | None = None,
               **kw) -> bytes:
        body = sign_command(key or self.hall.commands.key, self.hall.cfg.hall.id, op, args,
                            self.hall.now(), ttl_s, **kw)
        return json.dumps(body, ensure_ascii=False).encode()

    async def send(self, op: str, payload: bytes, retain: bool = False) -> dict:
        """Publish on cmd/{op}; the hall's answer on cmd-result/{op}."""
        before = len(self.sub.messages)
        self.sub.client.publish(f"{self.prefix}/cmd/{op}", payload, qos=1, retain=retain)
        await self.sub.watch.until(lambda: len(self.sub.messages) > before, 10, f"answer to {op}")
        topic, body, _ = self.sub.messages[before]
        assert topic == f"{self.prefix}/cmd-result/{op}"
        return json.loads(body)


async def listening(hall) -> None:
    """The hall has subscribed to central's topics (before that a command would pass it by)."""
    await hall.watch.until(lambda: hall.uplink.listening, 10, "the hall listens to central")


@pytest.fixture
async def central(sim):
    await listening(sim.hall)
    sub = await Subscriber(sim.broker.port,
                           f"kioskd/v1/{sim.hall.cfg.hall.id}/cmd-result/#").start()
    yield Central(sim.hall, sub)
    sub.stop()


def stored_types(sim) -> list[tuple[str, dict]]:
    conn = sqlite3.connect(sim.state / "central.sqlite3")
    try:
        return [(t, json.loads(d)) for t, d in conn.execute(
            "SELECT type, data FROM events ORDER BY seq")]
    finally:
        conn.close()


async def at_central(sim, type_: str, pred=lambda d: True) -> dict:
    """The audit row `type_` as central stored it."""
    hall = sim.hall
    await hall.watch.until(lambda: hall.journal.backlog() == 0, 10, "central has every row")
    found = [d for t, d in stored_types(sim) if t == type_ and pred(d)]
    assert found, f"central has no {type_}"
    return found[-1]


async def test_a_genuine_command_is_carried_out_and_answered(sim, central):
    answer = await central.send("window.pause", central.signed("window.pause", {"window": 1}))
    assert answer["status"] == "ok" and answer["result"]["state"] == "paused"
    assert sim.hall.state.windows[1].state == "paused"
    done = await at_central(sim, "command.done")
    assert (done["op"], done["status"], done["id"]) == ("window.pause", "ok", answer["transaction"])
    answer = await central.send("window.resume", central.signed("window.resume", {"window": 1}))
    assert answer["status"] == "ok" and sim.hall.state.windows[1].state == "open"


def _flip(payload: bytes) -> bytes:
    """One byte of the signed content changed, the JSON still valid: window 1 -> window 3."""
    assert b'"window": 1' in payload
    return payload.replace(b'"window": 1', b'"window": 3')


BAD = {
    "unsigned": lambda c: json.dumps({k: v for k, v in json.loads(
        c.signed("window.pause", {"window": 1})).items() if k != "sig"}).encode(),
    "wrong key": lambda c: c.signed("window.pause", {"window": 1}, key=b"k" * 32),
    "flipped byte": lambda c: _flip(c.signed("window.pause", {"window": 1})),
    "expired": lambda c: c.signed("window.pause", {"window": 1}, ttl_s=-1),
    "valid for days": lambda c: c.signed("window.pause", {"window": 1}, ttl_s=3 * 86400),
    "not JSON": lambda c: b"\xff pause window 1",
}
CODES = {"unsigned": "cmd.unsigned", "wrong key": "cmd.bad_signature",
         "flipped byte": "cmd.bad_signature", "expired": "cmd.expired",
         "valid for days": "cmd.ttl_too_long", "not JSON": "cmd.malformed"}


@pytest.mark.parametrize("kind", list(BAD))
async def test_each_bad_command_is_refused_and_audited(sim, central, kind):
    answer = await central.send("window.pause", BAD[kind](central))
    assert answer["status"] == "error" and answer["error"] == CODES[kind]
    assert all(w.state == "open" for w in sim.hall.state.windows.values())  # nothing obeyed
    audit = await at_central(sim, "command.refused")
    assert (audit["op"], audit["code"]) == ("window.pause", CODES[kind])
    assert not [d for t, d in stored_types(sim) if t == "command.done"]


async def test_a_replay_is_refused_also_after_a_restart(sim, central):
    payload = central.signed("window.pause", {"window": 2})
    assert (await central.send("window.pause", payload))["status"] == "ok"
    await sim.hall.execute(queue.WindowAction(2, "resume"))
    again = await central.send("window.pause", payload)  # the same bytes, byte for byte
    assert again["error"] == "cmd.replayed" and sim.hall.state.windows[2].state == "open"
    hall = await sim.restart_daemon()
    central.hall = hall
    await listening(hall)
    again = await central.send("window.pause", payload)
    assert again["error"] == "cmd.replayed" and hall.state.windows[2].state == "open"
    audit = await at_central(sim, "command.refused")
    assert audit["code"] == "cmd.replayed" and audit["id"] == json.loads(payload)["id"]


async def test_a_command_sent_while_the_hall_is_down_is_carried_out_on_its_return(sim, central):
    """The broker keeps the hall's session: a command waits there, still checked on arrival."""
    payload = central.signed("window.pause", {"window": 3})
    stale = central.signed("window.pause", {"window": 2}, ttl_s=-1)  # expired on its way
    await sim.stop_daemon()
    before = len(central.sub.messages)
    for p in (payload, stale):
        central.sub.client.publish(f"{central.prefix}/cmd/window.pause", p, qos=1)
    hall = await sim.start_daemon()
    await central.sub.watch.until(lambda: len(central.sub.messages) >= before + 2, 10,
                                  "both answered")
    answers = {json.loads(b)["transaction"]: json.loads(b) for _, b, _ in
               central.sub.messages[before:]}
    assert answers[json.loads(payload)["id"]]["status"] == "ok"
    assert answers[json.loads(stale)["id"]]["error"] == "cmd.expired"
    assert hall.state.windows[3].state == "paused" and hall.state.windows[2].state == "open"


async def test_a_command_moved_to_another_op_is_refused(sim, central):
    """Signed for window.resume, published on cmd/window.pause: the op is signed too."""
    answer = await central.send("window.pause", central.signed("window.resume", {"window": 1}))
    assert answer["error"] == "cmd.bad_signature"
    unknown = await central.send("shell", central.signed("window.pause", {"window": 1}))
    assert unknown["error"] == "cmd.op_unknown"


async def test_device_test_and_announce(sim, central):
    answer = await central.send("device.test", central.signed("device.test",
                                                              {"device": "printer-k1"}))
    assert answer["status"] == "ok" and answer["result"]["state"] == "ready"
    assert answer["result"]["answered"]
    nope = await central.send("device.test", central.signed("device.test", {"device": "x"}))
    assert nope["error"] == "cmd.args"
    boards = [d.id for d in sim.hall.cfg.devices if d.role is Role.BOARD]
    sim.hall.board_text[1] = "A001 请到1号窗口"
    answer = await central.send("announce", central.signed(
        "announce", {"text": "系统将于18:00维护", "seconds": 1}))
    assert sorted(answer["result"]["shown_on"]) == sorted(boards)
    # over the window boards; a hall board runs it in its notice row, its calls staying
    assert all(sim.twin(b).lines[-1] == "系统将于18:00维护" for b in boards)
    assert all(sim.twin(b).text == "系统将于18:00维护" for b in boards
               if not sim.hall.cfg.device(b).hall)
    w1 = sim.hall.cfg.devices_of(window=1, role=Role.BOARD)[0].id
    await sim.hall.watch.until(lambda: sim.twin(w1).text == "A001 请到1号窗口", 5,
                               "the window board shows its call again")
    assert (await at_central(sim, "hall.announced"))["text"] == "系统将于18:00维护"


def small_hall(tmp_path, port: int, extra: str = "") -> str:
    return hall_toml("cmd-hall", f'url = "mqtt://127.0.0.1:{port}"', extra=extra)


async def test_config_reload_refuses_a_broken_config_and_applies_a_good_one(tmp_path, broker):
    path = tmp_path / "devices.toml"
    path.write_text(small_hall(tmp_path, broker.port))
    sim = SimHall(config.load(path), tmp_path / "hall", broker=broker, api_port=0)
    hall = await sim.start()
    await listening(hall)
    sub = await Subscriber(broker.port, "kioskd/v1/cmd-hall/cmd-result/#").start()
    central = Central(hall, sub)
    try:
        broken = small_hall(tmp_path, broker.port, """
            [[category]]
            code = 5
            name = "不动产"
            """)
        answer = await central.send("config.reload", central.signed("config.reload",
                                                                    {"toml": broken}))
        assert answer["status"] == "error" and answer["error"] == "config.invalid"
        assert f"{path}:" in answer["detail"] and "category[1].code" in answer["detail"]
        assert path.read_text() == small_hall(tmp_path, broker.port)  # the old file stays
        assert set(hall.state.categories) == {"A"}
        s, b = await api(hall, "POST", "/api/tickets", {"category": "A"})  # still serving
        assert s == 201, b
        good = small_hall(tmp_path, broker.port, """
            [[category]]
            code = "B"
            name = "不动产登记"
            """).replace('categories = ["A"]', 'categories = ["A", "B"]')
        answer = await central.send("config.reload", central.signed("config.reload",
                                                                    {"toml": good}))
        assert answer["status"] == "ok" and answer["result"]["categories"] == 2
        assert path.read_text() == good and set(hall.state.categories) == {"A", "B"}
        assert hall.state.tickets["A001"].status == "waiting"  # the day's queue survives
        s, b = await api(hall, "POST", "/api/tickets", {"category": "B"})
        assert s == 201 and b["number"] == "B001"
        # a config without category A, while A001 waits today: the day does not fit it
        no_a = good.replace('code = "A"\nname = "综合受理"', 'code = "C"\nname = "综合受理"'
                            ).replace('["A", "B"]', '["C", "B"]')
        answer = await central.send("config.reload", central.signed("config.reload",
                                                                    {"toml": no_a}))
        assert answer["status"] == "error" and answer["error"] == "config.invalid", answer
        assert "category A is gone but tickets A001 are open" in answer["detail"]
        assert path.read_text() == good and set(hall.state.categories) == {"A", "B"}
    finally:
        sub.stop()
        await sim.stop()


async def test_appointments_from_central_are_kept_for_when_the_link_is_down(sim, central):
    hall = sim.hall
    now = hall.now()
    items = [{"code": "YY9001", "category": "B", "id_number": "11010519491231002X",
              "start": (now + timedelta(minutes=5)).isoformat(),
              "end": (now + timedelta(minutes=35)).isoformat()}]
    topic = f"kioskd/v1/{hall.cfg.hall.id}/appointments"
    body = sign_appointments(hall.commands.key, hall.cfg.hall.id, 7, items, now)
    central.sub.client.publish(topic, json.dumps(body), qos=1, retain=True)
    await hall.watch.until(lambda: "YY9001" in hall.state.appointments, 10, "loaded")
    assert hall.state.appointments_version == "7"
    # the ID number became the keyed token on arrival and went no further
    assert "11010519491231002X" not in str([e.to_json() for e in hall.journal.read()])
    # an older list (a replayed retained message) is refused and audited
    old = sign_appointments(hall.commands.key, hall.cfg.hall.id, 6, [], now)
    central.sub.client.publish(topic, json.dumps(old), qos=1, retain=True)
    audit = await at_central(sim, "command.refused", lambda d: d["op"] == "appointments")
    assert audit["code"] == "cmd.stale_version" and "YY9001" in hall.state.appointments
    # the link goes down, the daemon restarts: the list is still there for check-in
    await sim.broker.stop()
    hall = await sim.restart_daemon()
    assert not hall.uplink.connected
    s, b = await api(hall, "POST", "/api/checkin", {"code": "YY9001"})
    assert s == 201 and b["appointment"] == "YY9001"
    await sim.broker.start()  # the fixture stops it again


async def test_appointments_signed_with_another_key_are_refused(sim, central):
    hall = sim.hall
    body = sign_appointments(b"x" * 32, hall.cfg.hall.id, 9, [], hall.now())
    central.sub.client.publish(f"kioskd/v1/{hall.cfg.hall.id}/appointments", json.dumps(body),
                               qos=1)
    audit = await at_central(sim, "command.refused", lambda d: d["op"] == "appointments")
    assert audit["code"] == "cmd.bad_signature" and hall.state.appointments_version != "9"


def test_check_config_names_a_bad_uplink_file(tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text(small_hall(tmp_path, 1883).replace(
        'url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://127.0.0.1:1883"\ncert_file = "c.pem"'))
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    text = "\n".join(exc.value.problems)
    assert "uplink.cert_file: no such file" in text and "mqtts://" in text


async def test_kioskd_command_sends_and_prints_the_answer(hall_of, demo_cfg, tmp_path):
    """The CLI a city's technician runs: signed with the key file, the hall's answer printed.
    The hall on the real clock: the CLI, another process, signs with the real time."""
    import asyncio
    import os
    import sys

    sim = await hall_of(demo_cfg, clock=None)
    await listening(sim.hall)
    key = sim.hall.state_dir / "keys" / "command.key"
    run = lambda *a: asyncio.create_subprocess_exec(  # noqa: E731
        sys.executable, "-m", "kioskd", "command", "--broker", sim.broker.url, "--hall",
        sim.hall.cfg.hall.id, *a, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=os.environ)
    proc = await run("--key", str(key), "window.pause", '{"window": 3}')
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["result"]["state"] == "paused"
    assert sim.hall.state.windows[3].state == "paused"
    wrong = tmp_path / "wrong.key"
    wrong.write_text("ab" * 32)
    proc = await run("--key", str(wrong), "window.resume", '{"window": 3}')
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1 and json.loads(out)["error"] == "cmd.bad_signature"
    assert sim.hall.state.windows[3].state == "paused"


def test_verify_command_on_a_fixed_clock():
    """The pure check, byte vectors included: what central signs, the hall accepts exactly."""
    from datetime import datetime, timezone

    from kioskd.uplink.signed import CommandRefused, mac, verify_command

    key, now = bytes(range(32)), datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    body = {"id": "0123456789abcdef", "issued": "2026-12-01T18:00:00+08:00",
            "expires": "2026-12-01T18:05:00+08:00", "args": {"window": 1}}
    # the canonical form: sorted keys, no spaces, after "hall\nop\n"
    expect = hmac.new(key, b'h1\nwindow.pause\n{"args":{"window":1},"expires":'
                      b'"2026-12-01T18:05:00+08:00","id":"0123456789abcdef","issued":'
                      b'"2026-12-01T18:00:00+08:00"}', hashlib.sha256).hexdigest()
    assert mac(key, "h1", "window.pause", body) == expect
    ok = json.dumps({**body, "sig": expect}).encode()
    assert verify_command(key, "h1", "window.pause", ok, now).args == {"window": 1}

    def code(payload: bytes, hall: str = "h1", at=now) -> str:
        with pytest.raises(CommandRefused) as exc:
            verify_command(key, hall, "window.pause", payload, at)
        return exc.value.code
    assert code(ok, hall="h2") == "cmd.bad_signature"  # signed for another hall
    assert code(ok, at=now.replace(hour=11)) == "cmd.expired"
    early = {**body, "issued": "2026-12-01T18:30:00+08:00",
             "expires": "2026-12-01T18:35:00+08:00"}
    assert code(json.dumps({**early, "sig": mac(key, "h1", "window.pause", early)}).encode()) \
        == "cmd.not_yet"
    short = {**body, "id": "x"}
    assert code(json.dumps({**short, "sig": mac(key, "h1", "window.pause", short)}).encode()) \
        == "cmd.malformed"
    assert code(b"[1, 2]") == "cmd.malformed"
    with pytest.raises(CommandRefused) as exc:
        verify_command(None, "h1", "window.pause", ok, now)
    assert exc.value.code == "cmd.no_key"
