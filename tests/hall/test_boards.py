"""The boards: BX frames and errors, what window and hall boards show, board.mqtt, a board's
return. Against the twins over a pty, TCP and the real mosquitto."""

from __future__ import annotations

import random
from datetime import date

import pytest

from kioskd import config
from kioskd.boards import Call, HallView, Waiting, hall_view, window_text
from kioskd.drivers.board import bx
from kioskd.drivers.board.layout import hall_rows, text_px
from kioskd.engine import queue as q
from kioskd.errors import BoardError, FrameError
from kioskd.sim.idcard import make_card
from support.helpers import REPO, api, with_device


def states_of(hall, device):
    return [e.data["state"] for e in hall.journal.read()
            if e.type == "device.state" and e.data["device"] == device]


# --- BX codec ----------------------------------------------------------------------------------
def test_crc16_arc_check_value():
    # the CRC catalogue's check value for CRC-16/ARC; the §5.1 frames are in test_vectors.py
    assert bx.crc16_arc(b"123456789") == 0xBB3D


def test_several_areas_round_trip_whole_and_byte_by_byte():
    areas = [bx.Area("A001 张* 请到1号窗口".encode("gb2312"), 0, 0, 0, 192, 16),
             bx.Area(bytes([0xA5, 0x5A, 0xA6, 0x5B]), 1, 8, 16, 184, 16, bx.SCROLL)]
    frame = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_areas(areas))
    (whole,) = bx.BxCodec().feed(frame)
    codec = bx.BxCodec()
    (single,) = [p for b in frame for p in codec.feed(bytes([b]))]
    assert whole == single
    assert bx.parse_dynamic_areas(whole.data[5:]) == areas


@pytest.mark.parametrize("status,code", [(0x01, "board.bad_group"), (0x03, "board.busy"),
                                         (0x05, "board.crc"), (0x0C, "board.no_font"),
                                         (0x0E, "board.datetime_format"), (0x42, "board.error")])
def test_answer_error_codes_are_typed_errors(status, code):
    (req,) = bx.BxCodec().feed(bx.request(bx.PING))
    (ans,) = bx.BxCodec().feed(bx.answer(req, status))
    with pytest.raises(BoardError) as e:
        bx.check_answer(ans)
    assert e.value.code == code and e.value.status == status


def test_fuzzed_frames_and_areas_stay_bounded():
    rnd = random.Random(9)
    codec = bx.BxCodec()
    good = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text(b"A001"))
    for _ in range(2000):
        junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        if rnd.random() < 0.3:
            junk = bytes([0xA5] * 8) + junk  # a start that never ends
        for out in codec.feed(junk):
            assert isinstance(out, (bx.Packet, FrameError))
        assert len(codec._buf) <= 8 + 2 * (bx.MAX_PACKET + 16) + 1 + 300
        args = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 80)))
        try:
            bx.parse_dynamic_areas(args)
        except FrameError:
            pass
    # after all that noise a good frame still comes through
    assert any(isinstance(p, bx.Packet) for p in codec.feed(b"\x5A" + good))


def test_the_twin_checks_crc_and_escaping_fed_byte_by_byte(demo_cfg, tmp_path):
    from kioskd.sim.board import BxBoardTwin

    twin = BxBoardTwin(demo_cfg.device("board-w1"), tmp_path / "board")  # not plugged: no answers
    text = "A001 请到1号窗口".encode("gb2312") + b"\xa1\xa5"  # 、 and a byte needing escape
    frame = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text(text), reply=False)
    (sent,) = bx.BxCodec().feed(frame)
    assert sent.data[2] == 0x02  # the response flag: 02 asks for no answer (01: must answer)
    for b in frame:
        twin._on_bytes(bytes([b]))
    assert twin.text == text.decode("gb2312")
    bad = bytearray(bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text(b"B002"), reply=False))
    bad[-3] ^= 0x10  # the CRC no longer matches
    twin._on_bytes(bytes(bad))
    other = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text(b"C003"), address=7, reply=False)
    twin._on_bytes(other)  # another controller's address on the same line
    assert twin.text == text.decode("gb2312") and len(twin.history) == 1


# --- what boards show (pure) -------------------------------------------------------------------
def test_window_texts():
    assert window_text(3, "A001") == "A001 请到3号窗口"
    assert window_text(3, None) == "3号窗口 欢迎您"
    assert window_text(3, None, "paused") == "暂停服务"
    assert window_text(2, None, options={"idle_text": "{window}号窗口 暂停叫号"}) == "2号窗口 暂停叫号"


def test_hall_rows_give_calls_way_and_scroll_what_is_too_wide():
    view = HallView(tuple(Call(f"A00{i}", i) for i in range(1, 7)),
                    (Waiting("A", "综合受理", 3), Waiting("B", "不动产登记", 0)), "请携带身份证")
    rows = hall_rows(view, width_px=192, height_px=96, line_px=16)
    assert [r.text for r in rows] == ["A001 请到1号窗口", "A002 请到2号窗口", "A003 请到3号窗口",
                                      "A004 请到4号窗口", "综合受理 等候3人  不动产登记 等候0人",
                                      "请携带身份证"]
    assert [r.scroll for r in rows] == [False, False, False, False, True, True]
    assert text_px("A001 请到1号窗口", 16) == 4 * 8 + 8 + 2 * 16 + 8 + 3 * 16


def test_hall_view_names_only_where_asked(demo_cfg):
    from datetime import datetime, timedelta

    now = datetime(2026, 12, 1, 9, 0, tzinfo=demo_cfg.hall.tz)
    state = q.initial_state(demo_cfg, "2026-12-01")
    for i, cmd in enumerate((q.IssueTicket("A"), q.IssueTicket("A"), q.WindowAction(1, "call-next"),
                             q.WindowAction(2, "call-next"), q.WindowAction(1, "recall"))):
        at = now + timedelta(seconds=i)
        for type_, data in q.decide(state, cmd, at):
            q.evolve(state, type_, data, at)
    names = {"A001": "张*"}
    assert [c.ticket for c in hall_view(state).calls] == ["A001", "A002"]  # the recall is newest
    assert hall_view(state).calls[0].name == ""
    assert hall_view(state, names=names).call_lines()[0] == "A001 张* 请到1号窗口"
    assert [w.waiting for w in hall_view(state).waiting] == [0, 0, 0]


# --- against the twins -------------------------------------------------------------------------
async def test_hall_boards_show_the_latest_calls_masked_names_and_the_waiting(sim):
    hall, bxb, lobby = sim.hall, sim.twin("board-hall"), sim.twin("board-lobby")
    sim.twin("reader-k1").place(make_card("张三丰", date(1980, 1, 1)))
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "card read")
    assert (await api(hall, "POST", "/api/tickets", {"category": "A"}))[0] == 201  # A001, 张*
    for cat in "AAB":
        assert (await api(hall, "POST", "/api/tickets", {"category": cat}))[0] == 201
    await bxb.watch.until(lambda: "综合受理 等候3人" in bxb.text, 5, "the waiting counts")
    for w in (1, 3):  # window 3 serves C first, then A
        assert (await api(hall, "POST", f"/api/windows/{w}/call-next", role="clerk",
                          window=w))[0] == 200
    assert (await api(hall, "POST", "/api/windows/1/recall", role="clerk", window=1))[0] == 200
    notice = hall.cfg.device("board-hall").options["notice"]
    want = ["A001 张* 请到1号窗口", "A002 请到3号窗口", "", "",
            "综合受理 等候1人  不动产登记 等候1人  社保医保 等候0人", notice]
    await bxb.watch.until(lambda: bxb.lines == want, 5, f"the hall board: {bxb.lines}")
    assert bxb.scrolling == {4, 5}  # the counts are wider than 192 px; the notice always runs
    # the networked board: no names (its default), the view as JSON too
    await lobby.watch.until(lambda: lobby.lines[:2] == ["A001 请到1号窗口", "A002 请到3号窗口"],
                            5, "the lobby board")
    assert lobby.hall["calls"] == [{"ticket": "A001", "window": 1}, {"ticket": "A002", "window": 3}]
    assert {"category": "A", "name": "综合受理", "waiting": 1} in lobby.hall["waiting"]
    # nothing of the name beyond 张* anywhere the board's bytes went
    assert all("三" not in t and "丰" not in t for t in bxb.history + lobby.history)


async def test_window_board_idle_and_paused_texts(sim):
    hall, board = sim.hall, sim.twin("board-w1")
    await api(hall, "POST", "/api/tickets", {"category": "A"})
    await api(hall, "POST", "/api/windows/1/call-next", role="clerk", window=1)
    await board.watch.until(lambda: board.text == "A001 请到1号窗口", 5)
    await api(hall, "POST", "/api/windows/1/skip", role="clerk", window=1)
    await board.watch.until(lambda: board.text == "1号窗口 欢迎您", 5, "idle")
    assert (await api(hall, "POST", "/api/windows/1/pause", role="clerk", window=1))[0] == 200
    await board.watch.until(lambda: board.text == "暂停服务", 5, "paused")


async def test_a_busy_controller_is_asked_again_and_a_hard_error_named(sim):
    hall, board = sim.hall, sim.twin("board-w1")
    board.fail_with = [0x03, 0x03]  # busy twice, then it takes the text
    status, body = await api(hall, "POST", "/api/devices/board-w1/show", {"text": "测试"},
                             role="technician")
    assert status == 200 and board.text == "测试" and board.refused == [0x03, 0x03]
    board.fail_with = [0x0C]  # font library missing: not a thing to retry
    status, body = await api(hall, "POST", "/api/devices/board-w1/show", {"text": "再测"},
                             role="technician")
    assert status == 409 and body["error"] == "board.no_font"
    assert board.text == "测试"
    status, body = await api(hall, "POST", "/api/devices/board-w1/status", role="technician")
    assert status == 200 and body["result"]["status"] == "ok"


async def test_the_text_encoding_is_the_boards_own(hall_of, demo_cfg):
    cfg = with_device(with_device(demo_cfg, "board-w1", encoding="gb18030"),
                      "board-w3", encoding="gb2312")
    s = await hall_of(cfg)
    # 䶮 is in GB 18030 but not GB 2312: one board shows it, the other a "?" for it
    for dev in ("board-w1", "board-w3"):
        await api(s.hall, "POST", f"/api/devices/{dev}/show", {"text": "王䶮"}, role="technician")
    assert s.twin("board-w1").text == "王䶮" and s.twin("board-w3").text == "王?"


@pytest.mark.parametrize("card,sent_as", [("BX-5K2", "18 00"), ("BX-6K2", "C0 00")])
async def test_the_area_unit_follows_the_card_the_controller_names(hall_of, demo_cfg, card,
                                                                   sent_as):
    """card = auto: a BX-6K (its answers say 62) gets pixels, a BX-5K 8 px units; either
    way the twin, reading in its own card's unit, sees the board's whole 192 px width."""
    cfg = with_device(demo_cfg, "board-w2", sim={"card": card}, card="auto", width_px=192)
    s = await hall_of(cfg)
    status, body = await api(s.hall, "POST", "/api/devices/board-w2/show", {"text": "A001"},
                             role="technician")
    board = s.twin("board-w2")
    assert status == 200 and board.text == "A001"
    assert (board.areas[0].x, board.areas[0].width) == (0, 192)
    assert s.hall.drivers["board-w2"].card == card
    sent = [t for t in s.hall.drivers["board-w2"].trace if t.direction == "out"][-1]
    assert sent_as.lower() in sent.hex  # the area's width as it went on the wire


async def test_areas_carry_the_vendor_defaults_or_what_is_configured(hall_of, demo_cfg):
    cfg = with_device(demo_cfg, "board-w3", run_mode=1, area_timeout_s=30, align="center")
    s = await hall_of(cfg)
    for dev in ("board-w1", "board-w3"):
        await api(s.hall, "POST", f"/api/devices/{dev}/show", {"text": "C:\\文件\\C2"},
                  role="technician")
    w1, w3 = s.twin("board-w1").areas[0], s.twin("board-w3").areas[0]
    assert (w1.run_mode, w1.timeout_s, w1.align) == (bx.RUN_CYCLE, 5, bx.ALIGN_LEFT)
    assert (w3.run_mode, w3.timeout_s, w3.align) == (1, 30, bx.ALIGN_CENTER)
    # a backslash would start a control code on the card (\C2: a colour): never sent as itself
    assert s.twin("board-w1").text == "C:＼文件＼C2" and b"\\" not in w1.text


async def test_a_board_of_another_onbon_family_is_named(hall_of, demo_cfg):
    cfg = with_device(demo_cfg, "board-w2", sim={"family": "BX-5M1"})
    s = await hall_of(cfg, faulty=frozenset({"board-w2"}))
    hall = s.hall

    def named():
        return [e.data for e in hall.journal.read() if e.type == "device.state"
                and e.data["device"] == "board-w2" and "BX-5M (protocol 05)" in e.data["detail"]]
    await hall.watch.until(lambda: named(), 10, "the family named")
    assert named()[0]["state"] == "fault" and "ready" not in states_of(hall, "board-w2")
    assert "protocol.checksum" not in (s.hall.drivers["board-w2"].counters.last_error or "")


async def test_a_hall_board_back_gets_the_current_view(sim):
    hall, lobby, bxb = sim.hall, sim.twin("board-lobby"), sim.twin("board-hall")
    await hall.watch.until(lambda: states_of(hall, "board-lobby")[-1:] == ["ready"], 5, "ready")
    await lobby.go_offline()  # power cut: the broker sends its will
    await hall.watch.until(lambda: states_of(hall, "board-lobby")[-1:] == ["absent"], 10, "gone")
    await bxb.unplug()
    await hall.watch.until(lambda: states_of(hall, "board-hall")[-1:] == ["absent"], 10, "gone")
    await api(hall, "POST", "/api/tickets", {"category": "C"})
    await api(hall, "POST", "/api/windows/3/call-next", role="clerk", window=3)
    await lobby.come_back()
    await bxb.plug()
    await lobby.watch.until(lambda: lobby.lines[:1] == ["C001 请到3号窗口"], 10, "lobby refreshed")
    await bxb.watch.until(lambda: bxb.lines[:1] == ["C001 请到3号窗口"], 10, "hall refreshed")


async def test_central_notice_covers_window_boards_and_runs_in_the_hall_board_row(sim):
    hall, w1, bxb = sim.hall, sim.twin("board-w1"), sim.twin("board-hall")
    await bxb.watch.until(lambda: len(bxb.lines) == 6, 5, "the hall view")
    result = await hall.boards.announce("系统维护，暂停取号十分钟", 3600)
    assert {"board-w1", "board-hall", "board-lobby"} <= set(result["shown_on"])
    assert w1.text == "系统维护，暂停取号十分钟"
    assert bxb.lines[-1] == "系统维护，暂停取号十分钟" and "等候" in bxb.lines[-2]
    hall.boards.notice = ""  # what the notice's end does, without waiting an hour
    await hall.boards.restore(hall.cfg.device("board-hall"))
    assert bxb.lines[-1] == hall.cfg.device("board-hall").options["notice"]


# --- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device,problem", [
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\nwindow = 1',
     "say where it serves"),
    ('type = "pad.serial"\nurl = "tcp://127.0.0.1:1"\nhall = true\nkey = "' + "00" * 16 + '"',
     "serves a window, not a hall"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\nnames = "full"',
     "names"),
    ('type = "board.mqtt"\nurl = "mqtt://127.0.0.1:1"\nhall = true\ncalls = 99', "calls"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\ncard = "BX-5M1"',
     "speaks another Onbon protocol (protocol 05)"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\ncard = "BX-7"',
     "is not a BX-5K/6K card"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\ncard = "BX-5K1"\n'
     'width_px = 100', "not a multiple of 8"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\nrun_mode = 2\n'
     'area_timeout_s = 0', "drop the text at once"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\narea_unit = "mm"',
     "area_unit"),
    ('type = "board.bx"\nurl = "tcp://127.0.0.1:1"\nhall = true\nalign = "justify"', "align"),
])
def test_config_says_where_a_board_serves(tmp_path, device, problem):
    text = (REPO / "devices.toml").read_text() + f'\n[[device]]\nid = "x"\n{device}\n'
    path = tmp_path / "devices.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as e:
        config.load(path)
    lines = [p for p in e.value.problems if problem in p]
    assert lines and lines[0].startswith(f"{path}:"), e.value.problems
