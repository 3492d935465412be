"""The clerk keypads (呼叫器): the §9 frames, the keys as commands, several keypads on one bus,
every key through the queue engine, a transfer by digits, the twin's script."""

from __future__ import annotations

import random

import pytest

from kioskd import config
from kioskd.drivers.caller import proto as keys
from kioskd.engine import queue as q
from kioskd.errors import ChecksumError, FrameError
from kioskd.sim.caller import step_keys
from support.helpers import REPO, with_device

KC = keys.KeyCommand


# --- the frames and the keys (pure) ------------------------------------------------------------
def test_frame_layout_and_checksum():
    frame = keys.encode(3, bytes([keys.CALL_NEXT]))
    # FF 68 | LEN LEN | 68 | ADDR FUNC DATA | ADDR+FUNC+DATA (the 68 not summed) | 16
    assert frame == bytes([0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x01, 0x0C,
                           (0x03 + 0x01 + 0x0C) & 0xFF, 0x16])
    codec = keys.KeypadCodec()
    (whole,) = keys.KeypadCodec().feed(frame)
    (single,) = [f for b in frame for f in codec.feed(bytes([b]))]
    assert whole == single and whole.addr == 3 and whole.keys == b"\x0c"
    bad = bytearray(frame)
    bad[-2] ^= 1
    assert isinstance(keys.KeypadCodec().feed(bytes(bad))[0], ChecksumError)


def test_a_frame_summed_the_old_way_is_refused_not_tolerated():
    """The earlier sheet summed the second 68 too: such a frame is an error, and says why."""
    good = keys.encode(1, b"\x0c")
    old = good[:-2] + bytes([(good[-2] + 0x68) & 0xFF, 0x16])
    err, *rest = keys.KeypadCodec().feed(old)
    assert isinstance(err, ChecksumError) and "68" in str(err)
    assert not any(isinstance(x, keys.KeyFrame) for x in rest)
    unequal = bytearray(good)
    unequal[3] = 4  # LEN1 3, LEN2 4
    out = keys.KeypadCodec().feed(bytes(unequal))
    assert out and all(isinstance(x, FrameError) for x in out)
    assert "differ" in str(out[0])


def test_rating_attempts_and_commands_are_plain_values():
    import dataclasses

    assert [keys.rating_attempt(bytes(k)) for k in ([1, 0x0B], [5, 0x0B], [6, 0x0B], [0, 0x0B],
                                                  [0x03, 4, 0x0B], [0x0B])] == [1, 5, None,
                                                                              None, 4, None]
    assert keys.command_of(b"\x0c").to_window is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        keys.command_of(b"\x0c").action = "skip"  # type: ignore[misc]
    (frame,) = keys.KeypadCodec().feed(keys.encode(1, b"\x0c"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.addr = 2  # type: ignore[misc]


def test_a_frame_without_its_end_byte_is_dropped_and_the_next_one_read():
    good = keys.encode(1, b"\x0c")
    out = keys.KeypadCodec().feed(good[:-1] + b"\x00" + good)
    assert any("end byte" in str(x) for x in out if isinstance(x, FrameError))
    assert [f.keys for f in out if isinstance(f, keys.KeyFrame)] == [b"\x0c"]


def test_a_header_is_judged_as_soon_as_its_five_bytes_are_in():
    err, *_ = keys.KeypadCodec().feed(b"\xff\x68\x03\x04\x68")
    assert isinstance(err, FrameError) and "differ" in str(err)


def test_host_frames_built_by_name():
    assert keys.beep(1) == bytes.fromhex("FF 68 02 02 68 01 03 04 16")
    assert keys.show_digits(1, right="A007") == bytes.fromhex(
        "FF 68 08 08 68 01 02 0A 0A 0A 00 00 07 28 16")
    assert keys.show_digits(1, left="12", right="A1234") == bytes.fromhex(
        "FF 68 08 08 68 01 02 0A 01 02 02 03 04 19 16")  # the last three digits of each
    # a keypad's own rating keys (FUNC 11), and the deployed host's answer to them: the same
    # keys as FUNC 01, the checksum 10 less (frmMain.cs)
    (frame,) = keys.KeypadCodec().feed(bytes.fromhex("FF 68 03 03 68 01 11 02 14 16"))
    assert (frame.func, frame.keys) == (keys.FUNC_RATING, b"\x02")
    assert keys.rating_echo(frame) == bytes.fromhex("FF 68 03 03 68 01 01 02 04 16")


@pytest.mark.parametrize("typed,command", [
    ([0x0C], KC("call-next")), ([0x0D], KC("recall")), ([0x06, 0x0F], KC("skip")),
    ([0x00, 0x0F], KC("hold")), ([0x03, 0x0F], KC("call-back")), ([0x12], KC("pause")),
    ([0x0B], KC("ask-rating")), ([0x13, 0x02, 0x0F], KC("transfer", 2)),
    ([0x13, 0x01, 0x02, 0x0F], KC("transfer", 12)),
    ([0x13, 0x06, 0x0F], KC("transfer", 6)),  # not skip: the transfer key comes first
    ([0x13], None), ([0x13, 0x0F], None),  # a transfer says where
    ([0x13, 0x0A, 0x0F], None), ([0x06], None), ([0x0E], None), ([0x07, 0x0F], None),
    ([0x05, 0x0B], None),  # a level before the rating key: 代评, refused elsewhere
    ([0x13, 0x01, 0x02, 0x03, 0x0F], KC("transfer", 123)),  # three digits at most
    ([0x13, 0x01, 0x02, 0x03, 0x04, 0x0F], None), ([0x13, 0x09, 0x0F], KC("transfer", 9)),
])
def test_keys_as_commands(typed, command):
    assert keys.command_of(bytes(typed)) == command


def test_fuzzed_bus_noise_stays_bounded_and_frames_still_come_through():
    rnd = random.Random(7)
    codec = keys.KeypadCodec()
    for _ in range(3000):
        for out in codec.feed(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))):
            assert isinstance(out, (keys.KeyFrame, FrameError))
        assert codec.pending < 5 + 255 + 2 + 40
    frames = codec.feed(b"\x00" * 300 + keys.encode(2, b"\x0c"))
    assert [f.keys for f in frames if isinstance(f, keys.KeyFrame)][-1:] == [b"\x0c"]


def test_script_steps():
    assert step_keys("next") == (b"\x0c", None, keys.FUNC_KEY)
    assert step_keys("transfer 12 @3") == (b"\x13\x01\x02\x0f", 3, keys.FUNC_KEY)
    assert step_keys("keys 06 0f") == (b"\x06\x0f", None, keys.FUNC_KEY)
    assert step_keys("stars 2") == (b"\x02", None, keys.FUNC_RATING)
    with pytest.raises(ValueError):
        step_keys("dance")


# --- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry,problem", [
    ("keypads = [{ address = 2, window = 1 }, { address = 2, window = 3 }]", "already window 1"),
    ("keypads = [{ address = 4, window = 9 }]", "no [[window]] with number 9"),
    ("keypads = [{ address = 4, window = 2 }]", "'callers' already is the keypad of window 2"),
    ("keypads = [{ address = 4, window = 1 }]\naddress = 4", "each keypad's address"),
    ("keypads = [{ address = 300, window = 1 }]", "not an address 1-254"),
    ("keypads = [{ window = 1 }]", "expected {address = N, window = N}"),
    ("keypads = []", "lists no keypad"),
    ("window = 1\nkeypads = [{ address = 4, window = 1 }]", "say where it serves"),
])
def test_config_names_each_keypad_mistake(tmp_path, entry, problem):
    text = (REPO / "devices.toml").read_text() + (
        f'\n[[device]]\nid = "x"\ntype = "caller.serial"\nurl = "tcp://127.0.0.1:1"\n{entry}\n')
    path = tmp_path / "devices.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as e:
        config.load(path)
    assert [p for p in e.value.problems if problem in p and p.startswith(f"{path}:")], \
        e.value.problems


def test_one_keypad_alone_is_a_bus_of_one(demo_cfg, tmp_path):
    assert demo_cfg.device("callers").options["keypads"] == {2: 2, 3: 3}
    path = tmp_path / "devices.toml"
    path.write_text((REPO / "devices.toml").read_text().replace(
        'keypads = [{ address = 2, window = 2 }, { address = 3, window = 3 }]',
        "window = 2\naddress = 5"))
    assert config.load(path).device("callers").options["keypads"] == {5: 2}


# --- against the twin, on a pty ----------------------------------------------------------------
def called(hall):
    return [(e.data["ticket"], e.data["window"]) for e in hall.journal.read()
            if e.type == "ticket.called"]


async def test_two_windows_keypads_share_one_bus(sim):
    hall, bus = sim.hall, sim.twin("callers")
    for cat in "BC":
        await hall.execute(q.IssueTicket(cat))
    at2 = bus.press(keys.CALL_NEXT, address=2)
    at3 = bus.press(keys.CALL_NEXT, address=3)
    await hall.watch.until(lambda: len(called(hall)) == 2, 5, "both calls")
    assert sorted(called(hall)) == [("B001", 2), ("C001", 3)]
    await bus.watch.until(lambda: sorted(bus.acked) == sorted([at2, at3]), 5, "both echoed")
    # a keypad the config does not know is not answered: it keeps trying, visibly unheard
    stranger = bus.press(keys.CALL_NEXT, address=9)
    bus.garbage(20)
    at3_again = bus.press(keys.RECALL, address=3)
    await hall.watch.until(lambda: hall.state.tickets["C001"].recalls == 1, 5, "recalled")
    await bus.watch.until(lambda: at3_again in bus.acked, 5)
    assert stranger not in bus.acked and len(called(hall)) == 2


async def test_a_frame_with_the_old_checksum_is_counted_not_obeyed(sim):
    hall, bus = sim.hall, sim.twin("callers")
    await hall.execute(q.IssueTicket("B"))
    good = keys.encode(2, bytes([keys.CALL_NEXT]))
    old = good[:-2] + bytes([(good[-2] + 0x68) & 0xFF, 0x16])
    driver = hall.drivers["callers"]
    errors = driver.counters.errors
    bus.send(old)
    await hall.watch.until(lambda: driver.counters.errors > errors, 5, "counted")
    assert any("protocol.checksum" in t.decoded and "sums the 68" in t.decoded
               for t in driver.trace if t.direction == "in")
    at2 = bus.press(keys.CALL_NEXT, address=2)  # the right sum is obeyed
    await hall.watch.until(lambda: hall.state.windows[2].current == "B001", 5, "called")
    await bus.watch.until(lambda: at2 in bus.acked, 5, "echoed")
    assert old not in bus.acked and len(called(hall)) == 1


async def test_every_key_goes_through_the_queue_engine(sim):
    hall, bus = sim.hall, sim.twin("callers")
    for cat in "CCC":
        await hall.execute(q.IssueTicket(cat))
    w3, t = hall.state.windows[3], hall.state.tickets

    async def press(*typed, until, what):
        bus.press(*typed, address=3)
        await hall.watch.until(until, 5, what)

    await press(keys.CALL_NEXT, until=lambda: w3.current == "C001", what="call next")
    await press(0x00, keys.CONFIRM, until=lambda: t["C001"].status == "held", what="hold")
    await press(keys.CALL_NEXT, until=lambda: w3.current == "C002", what="next after hold")
    await press(0x06, keys.CONFIRM, until=lambda: t["C002"].status == "skipped", what="skip")
    await press(0x03, keys.CONFIRM, until=lambda: w3.current == "C001", what="call back")
    await press(*keys.transfer_keys(1), until=lambda: t["C001"].directed == 1, what="transfer")
    assert t["C001"].status == "waiting" and w3.current is None
    await press(keys.PAUSE, until=lambda: w3.state == "paused", what="pause")
    await press(keys.PAUSE, until=lambda: w3.state == "open", what="the same key resumes")
    # the transferred citizen is window 1's now, and only window 1 calls them
    await hall.execute(q.WindowAction(1, "call-next"))
    assert hall.state.windows[1].current == "C001"
    moved = [e.data for e in hall.journal.read() if e.type == "ticket.transferred"]
    assert moved == [{"window": 3, "ticket": "C001", "to_category": None, "to_window": 1,
                      "kept_place": True, "order": t["C001"].order}]


async def test_a_transfer_to_a_window_that_is_not_there_changes_nothing(sim, kioskd_log):
    hall, bus = sim.hall, sim.twin("callers")
    await hall.execute(q.IssueTicket("B"))
    bus.press(keys.CALL_NEXT, address=2)
    await hall.watch.until(lambda: hall.state.windows[2].current == "B001", 5)
    bus.press(*keys.transfer_keys(7), address=2)
    bus.press(keys.RECALL, address=2)  # after the refused transfer: the ticket is still here
    await hall.watch.until(lambda: hall.state.tickets["B001"].recalls == 1, 5)
    assert hall.state.tickets["B001"].status == "called"
    assert "transfer at window 2 refused: window.unknown" in kioskd_log.text


async def test_the_twin_presses_by_script(hall_of, demo_cfg):
    cfg = with_device(demo_cfg, "callers", sim={"script": ["next", "next @3"], "every_ms": 20})
    s = await hall_of(cfg)
    for cat in "BC":
        await s.hall.execute(q.IssueTicket(cat))
    await s.hall.watch.until(lambda: {("B001", 2), ("C001", 3)} <= set(called(s.hall)), 5,
                             "the script's calls")


async def test_the_device_list_says_which_windows_a_bus_serves(sim):
    from support.helpers import api

    status, body = await api(sim.hall, "GET", "/api/devices", role="technician")
    bus = next(d for d in body["devices"] if d["id"] == "callers")
    assert status == 200 and bus["windows"] == [2, 3] and bus["window"] is None
