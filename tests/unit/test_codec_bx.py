"""Onbon BX-5K/6K frames: escaping, CRC, areas, answers as typed errors, whole and byte by
byte. The sheet's example frames: test_vectors.py."""

from __future__ import annotations

import pytest

from kioskd.drivers.board import bx
from kioskd.errors import BoardError, ChecksumError, FrameError, FrameTooLong


H = bytes.fromhex


def test_bx_units_as_a_technician_writes_them_and_the_6k_range():
    # devices.toml's area_unit words (docs/boards.md), and BX-6K = device types 61-68 exactly
    assert bx.UNITS == ("8px", "px", "px+flag")
    assert [bx.area_unit(t) for t in (0x60, 0x61, 0x68, 0x69)] == ["8px", "px", "px", "8px"]


def test_bx_area_defaults_are_the_vendor_sdks_and_a_window_board_uses_them():
    """bx.k.java BxAreaDynamic: area 0 at 0,0, 64x32, run mode cycle with timeout 5, left,
    several lines, wrapping where the text says, speed 0; kioskd's own: shown at once, stay 1."""
    a = bx.Area(b"A001")
    assert (a.number, a.x, a.y, a.width, a.height, a.run_mode, a.timeout_s, a.align, a.lines,
            a.wrap, a.speed, a.effect, a.stay) == (0, 0, 0, 64, 32, bx.RUN_CYCLE, 5,
                                                     bx.ALIGN_LEFT, 2, 1, 0, bx.SHOW, 1)
    for unit in bx.UNITS:
        assert bx.dynamic_text(b"A001", unit=unit) == bx.dynamic_areas([a], unit)


def test_bx_escaping_and_text_roundtrip_byte_by_byte():
    text = "A001 请到1号窗口".encode("gb2312") + bytes([0xA5, 0x5A, 0xA6, 0x5B])
    frame = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text(text))
    assert frame.count(0x5A) == 1 and frame.endswith(b"\x5A")  # escaped inside
    # a start byte inside would begin a frame on the controller: only the 8 of the start
    assert frame.count(0xA5) == 8 and frame.startswith(bx.START)
    assert bx.escape(bytes([0xA5, 0xA6, 0x5A, 0x5B, 0x00])) == bytes.fromhex("A602A601 5B025B01 00")
    codec = bx.BxCodec()
    out = [x for b in frame for x in codec.feed(bytes([b]))]
    assert len(out) == 1 and out[0].command == bx.DYNAMIC_TEXT
    assert bx.parse_dynamic_text(out[0].data[5:]) == text


def test_bx_crc_error_and_answer_errors():
    frame = bytearray(bx.request(bx.PING))
    frame[-3] ^= 0x01
    (err,) = bx.BxCodec().feed(bytes(frame))
    assert isinstance(err, ChecksumError)
    (req,) = bx.BxCodec().feed(bx.request(bx.PING))
    (ans,) = bx.BxCodec().feed(bx.answer(req, 0x03))
    with pytest.raises(BoardError) as e:
        bx.check_answer(ans)
    assert e.value.code == "board.busy"


# --- edges the mutation runs found unguarded (docs/testing.md) ---------------------------------
def _area_args(text: bytes = b"A001", *, cut: int = 0, size: int | None = None,
               count: int = 1, delete: int = 0) -> bytes:
    """A3 06 args of one area, optionally with its text length lied about or bytes cut off."""
    area = bytearray(bx.dynamic_areas([bx.Area(text)])[4:])
    if size is not None:
        area[23:27] = size.to_bytes(4, "little")
    body = len(area).to_bytes(2, "little") + bytes(area)
    return (bytes([delete, count]) + body)[:len(body) + 2 - cut] if cut else bytes([delete, count]) + body


@pytest.mark.parametrize("args,words", [
    (b"\x00", "A3 06 too short"),
    (b"\x01\x01", "A3 06 deleting areas is not understood here"),
    (b"\x00\x01\x1b", "A3 06 ends before its areas"),
    (_area_args(cut=1), "A3 06 area too short"),
    (b"\x00\x01\x1b\x00", "A3 06 area too short"),  # its length is there, its bytes are not
    (b"\x00\x01\x1a\x00" + bytes(26), "A3 06 area too short"),  # 26: no room for a text length
    (_area_args(size=5), "A3 06 text longer than its area"),
])
def test_bx_dynamic_area_args_refused_in_words(args, words):
    with pytest.raises(FrameError) as e:
        bx.parse_dynamic_areas(args)
    assert str(e.value) == words


def test_bx_dynamic_area_edges_and_the_vendors_defaults():
    assert bx.parse_dynamic_areas(b"\x00\x01\x1b\x00" + bytes(27)) == [
        bx.Area(b"", 0, 0, 0, 0, 0, effect=0, run_mode=0, timeout_s=0, lines=0, wrap=0, stay=0)]
    assert bx.parse_dynamic_areas(_area_args(b"")) == [bx.Area(b"")]
    assert bx.parse_dynamic_areas(b"\x00\x00") == []
    with pytest.raises(FrameError, match="^A3 06 updates no area$"):
        bx.parse_dynamic_text(b"\x00\x00")
    # Onbon's BxAreaDynamic defaults (protocols.md §5.1 corrections): cycle with timeout 5, left
    # aligned, several lines; a 64x32 window board's area at the origin
    (a,) = bx.parse_dynamic_areas(bx.dynamic_text(b"A001"))
    assert (a.number, a.x, a.y, a.width, a.height) == (0, 0, 0, 64, 32)
    assert (a.run_mode, a.timeout_s, a.align, a.lines, a.wrap, a.speed, a.stay, a.effect) == (
        0x00, 5, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01)
    assert (bx.SHOW, bx.SCROLL) == (0x01, 0x03)  # "03 move left" in the sheet
    assert bx.ALIGNS == {"left": 0x00, "right": 0x01, "center": 0x02}  # 01 right: the C header
    two = bx.dynamic_areas([bx.Area(b"A", 1, x=8, y=2), bx.Area(b"BC", 2, width=128, height=16,
                                                              timeout_s=300)])
    assert bx.parse_dynamic_areas(two) == [bx.Area(b"A", 1, x=8, y=2),
                                           bx.Area(b"BC", 2, width=128, height=16, timeout_s=300)]
    assert bx.plain_text("A\\C2") == "A＼C2"


@pytest.mark.parametrize("raw,family", [
    (bytes([1, 0, 0, 0x80, 0x05]), "BX-5M (protocol 05)"),
    (bytes([1, 0, 0, 0x80, 0xF0]), "BX-5E/5Q (protocol F0)"),
    (bytes(11) + b"\xF0", "BX-5E/5Q (protocol F0)"),
    (bytes([1, 0, 0, 0x80]), None),
    (bytes(11), None),
    (bytes(10) + b"\xF0", None),
    (bytes(12), None),
])
def test_bx_other_families_told_by_their_protocol_byte_at_the_shortest(raw, family):
    assert bx.foreign_family(raw) == family


def test_bx_unescape_edges_and_answers_byte_exact():
    assert bx.unescape(H("A6 02 41 A6 01 5B 02 5B 01 42")) == H("A5 41 A6 5A 5B 42")
    for bad, at in ((H("41 A6"), 1), (H("A6 03"), 0), (H("41 42 5B"), 2)):
        with pytest.raises(FrameError) as e:
            bx.unescape(bad)
        assert str(e.value) == f"bad escape {bad[at]:02X} at {at}"
    ping = bx.BxCodec().feed(bx.request(bx.PING))[0]
    ack = bx.BxCodec().feed(bx.answer(ping))[0]
    assert (ack.dst, ack.src, ack.data) == (bx.HOST_ADDR, 1, H("A0 00 00 00 00"))
    bx.check_answer(ack)
    bx.check_answer(bx.Packet(0x8000, 1, 0xFE, H("A0 00 00")))  # three bytes are an answer
    for data, words in ((H("A0 00"), "board answer without an error byte"),
                        (H("A2 07 00"), "not an answer: group/cmd A2 07")):
        with pytest.raises(FrameError) as e:
            bx.check_answer(bx.Packet(0x8000, 1, 0xFE, data))
        assert str(e.value) == words
    with pytest.raises(bx.BoardError) as e:
        bx.check_answer(bx.Packet(0x8000, 1, 0xFE, H("A0 01 7F 00 00")))
    assert (e.value.code, str(e.value)) == ("board.error",
                                            "board error 7F: an error this table does not know")


def test_bx_codec_reports_each_bad_frame_and_reads_on():
    good = bx.request(bx.PING)
    short = bx.START + H("01 00 00 80") + bx.END
    body = bytearray(bx.unescape(good[8:-1]))
    body[12] = 6  # the length says one byte more than the frame carries (CRC made to match)
    body[-2:] = bx.crc16_arc(bytes(body[:-2])).to_bytes(2, "little")
    lying = bx.START + bx.escape(bytes(body)) + bx.END
    bad_crc = good[:-2] + bytes([good[-2] ^ 1]) + bx.END
    out = bx.BxCodec().feed(short + good + lying + bad_crc + good + bx.START + H("A6 03") + bx.END
                            + good)
    assert [str(x) if not isinstance(x, bx.Packet) else "packet" for x in out] == [
        "packet of 4 bytes is too short", "packet", "data length 6, frame carries 5",
        "board frame CRC mismatch", "packet", "bad escape A6 at 0", "packet"]
    assert bx.BxCodec().feed(bx.START + bytes(15) + bx.END)[0].args[0] == \
        "packet of 15 bytes is too short"
    # a 5M frame ends 5A 5A: the second end byte is not the start of anything
    foreign = bx.START + bytes([1, 0, 0, 0x80, 0x05]) + bytes(10) + b"\x5A\x5A"
    codec = bx.BxCodec()
    assert [type(x).__name__ for x in codec.feed(foreign)] == ["UnsupportedProtocol"]
    assert codec.feed(good) == [bx.BxCodec().feed(good)[0]]
    assert not codec._foreign_end
    # ...but only after a 5M frame: a stray end byte on a fresh line, or after a good frame, is
    # noise and is reported as such
    fresh = bx.BxCodec()
    for _ in range(2):
        assert [str(x) if not isinstance(x, bx.Packet) else "packet" for x in fresh.feed(
            b"\x5A" + good)] == ["1 bytes outside any frame skipped", "packet"]
    # one byte of noise after a frame's end, ours or a 5M's, is reported, not swallowed
    said = lambda xs: [str(x) if type(x) is FrameError else type(x).__name__ for x in xs]  # noqa: E731
    assert said(bx.BxCodec().feed(good + b"\x00" + good)) == [
        "Packet", "1 bytes outside any frame skipped", "Packet"]
    assert said(bx.BxCodec().feed(foreign + b"\x00" + good)) == [
        "UnsupportedProtocol", "1 bytes outside any frame skipped", "Packet"]
    # an address whose low byte is 58 ('X') or A5 is an address like any other
    for address in (0x58, 0x1A5):
        (p,) = bx.BxCodec().feed(bx.request(bx.PING, address=address))
        assert p.dst == address
    # a packet with no data at all is a packet (and no answer: check_answer says so)
    (empty,) = bx.BxCodec().feed(bx.encode(bx.Packet(bx.HOST_ADDR, 1, 0xFE, b"")))
    assert isinstance(empty, bx.Packet) and empty.data == b""


def test_bx_area_parsing_reads_each_field_from_its_own_bytes():
    """An area may carry bytes after its text (kept out of the text), and a card's voice
    byte (5K1Q-YY, 6K-YY) right after the timeout is not part of the timeout."""
    args = bytearray(bx.dynamic_areas([bx.Area(b"A001", timeout_s=5)]))
    area_len = int.from_bytes(args[2:4], "little")
    args[4 + 14] = 0x01  # voice on
    args += b"\xEE"  # one byte after the text, inside the area
    args[2:4] = (area_len + 1).to_bytes(2, "little")
    (area,) = bx.parse_dynamic_areas(bytes(args))
    assert area.text == b"A001" and area.timeout_s == 5


def test_bx_codec_holds_exactly_one_frame_of_the_controllers_buffer():
    limit = 8 + 2 * (bx.MAX_PACKET + 16) + 1  # every byte of a full packet escaped, and the end
    codec = bx.BxCodec()
    assert codec.feed(bx.START + bytes(limit - 8)) == [] and len(codec._buf) == limit
    (err,) = codec.feed(b"\x00")
    assert isinstance(err, FrameTooLong) and codec._buf == bytearray()
    assert str(err) == "no frame end within the controller's buffer size"
    assert bx.MAX_PACKET == 1024  # MAX_CONTROLLER_RECEIVE_BUFFER, protocols.md §5.1
