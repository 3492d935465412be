"""Every codec on bytes it did not make (tests/vectors/*.toml, each with its source): decoded
whole and byte by byte, and rebuilt by the encoder wherever kioskd has one.

Codecs with no independent vector, and why:
- pad.serial (docs/pad-serial.md), pad.mqtt, board.mqtt (docs/board-mqtt.md): kioskd's own
  protocols (protocols.md §10: no public rating-pad or networked-board protocol exists); their
  documented examples are tested in test_codec_*.py.
- ESC/POS Automatic Status Back (GS a): the manuals give its bit layout, no literal bytes.
- ESC/POS ticket bytes: built by python-escpos itself, the independent implementation.
- BX answers (ACK/NACK): laid out as Onbon's SDK reads them (BxResp); no captured answer.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kioskd.drivers.board import bx
from kioskd.drivers.caller import proto as keypad
from kioskd.drivers.idcard import sam
from kioskd.drivers.printer import escpos
from kioskd.drivers.scanner import codes
from kioskd.errors import UnsupportedProtocol

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(name: str) -> dict:
    return tomllib.loads((VECTORS / f"{name}.toml").read_text(encoding="utf-8"))


def hexbytes(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def whole_and_bytewise(make_codec, frame: bytes) -> list:
    """What a codec makes of `frame` fed at once, checked equal to it fed a byte at a time."""
    whole = make_codec().feed(frame)
    codec = make_codec()
    single = [x for b in frame for x in codec.feed(bytes([b]))]
    assert [repr(x) for x in whole] == [repr(x) for x in single]
    return whole


def ids(items: list[dict]) -> list[str]:
    return [v["name"] for v in items]


# --- caller keypad, protocols.md §9 ----------------------------------------------------------
KEYPAD = load("keypad")["frame"]


@pytest.mark.parametrize("v", KEYPAD, ids=ids(KEYPAD))
def test_keypad_host_frames(v):
    raw = hexbytes(v["bytes"])
    (frame,) = whole_and_bytewise(keypad.KeypadCodec, raw)
    assert (frame.addr, frame.func, frame.data) == (v["addr"], v["func"], hexbytes(v["data"]))
    assert keypad.encode(v["addr"], hexbytes(v["data"]), v["func"]) == raw


def test_keypad_frames_by_name_are_the_hosts():
    by_name = {v["name"]: hexbytes(v["bytes"]) for v in KEYPAD}
    assert keypad.beep(1) == by_name["beep"]
    assert keypad.show_digits(1, right="007") == by_name["ticket 007 on the keypad's right display"]


# --- Onbon BX-5K/6K, protocols.md §5.1 -------------------------------------------------------
BX = load("bx")


@pytest.mark.parametrize("v", BX["frame"], ids=ids(BX["frame"]))
def test_bx_frames(v):
    raw = hexbytes(v["bytes"])
    (packet,) = whole_and_bytewise(bx.BxCodec, raw)
    assert (packet.dst, packet.src, packet.devtype) == (1, bx.HOST_ADDR, bx.DEVTYPE_ANY)
    assert packet.command == tuple(v["command"]) and packet.data[2] == bx.MUST_REPLY
    assert getattr(bx, v["const"]) == tuple(v["command"])  # the constant the driver sends
    if "area" not in v:
        assert bx.request(packet.command) == raw
        return
    want = dict(v["area"], text=v["area"]["text"].encode("ascii"))
    (area,) = bx.parse_dynamic_areas(packet.data[5:], bx.UNIT_8PX)
    assert area == bx.Area(**want)
    assert bx.request(bx.DYNAMIC_TEXT, bx.dynamic_areas([bx.Area(**want)], bx.UNIT_8PX),
                      process_mode=v["process_mode"]) == raw


@pytest.mark.parametrize("v", BX["foreign"], ids=ids(BX["foreign"]))
def test_bx_other_families_are_named_not_counted_as_crc_errors(v):
    raw = hexbytes(v["bytes"])
    out = whole_and_bytewise(bx.BxCodec, raw + bx.request(bx.PING))
    assert isinstance(out[0], UnsupportedProtocol) and v["family"] in str(out[0])
    assert [type(x) for x in out] == [UnsupportedProtocol, bx.Packet]  # and nothing else


def test_bx_6k_pixels_and_the_pixel_flag():
    """The same 192 px area as the C example, as a 6K card counts it and as the flag says."""
    area = bx.Area(b"A001", width=192, x=8)
    for unit, width_bytes in ((bx.UNIT_8PX, "18 00"), (bx.UNIT_PX, "C0 00"),
                              (bx.UNIT_PX_FLAG, "C0 80")):
        args = bx.dynamic_areas([area], unit)
        assert args[4 + 5:4 + 7] == hexbytes(width_bytes)
        (back,) = bx.parse_dynamic_areas(args, unit)
        assert (back.x, back.width) == (8, 192)
    assert bx.area_unit(0x51) == bx.UNIT_8PX and bx.area_unit(0x61) == bx.UNIT_PX
    assert bx.area_unit(0x68) == bx.UNIT_PX and bx.area_unit(0xFE) == bx.UNIT_8PX


@pytest.mark.parametrize("v", BX["card"], ids=[v["model"] for v in BX["card"]])
def test_bx_card_types_and_how_they_count_pixels(v):
    assert bx.CARDS[v["model"]] == v["devtype"] and bx.MODELS[v["devtype"]] == v["model"]
    assert bx.area_unit(v["devtype"]) == v["unit"] == bx.configured_unit(v["model"], None)


@pytest.mark.parametrize("v", BX["error"], ids=[v["code"] for v in BX["error"]])
def test_bx_answer_errors_by_the_sheets_table(v):
    nack = bx.BxCodec().feed(bx.answer(bx.Packet(1, bx.HOST_ADDR, bx.DEVTYPE_ANY,
                                                 bytes([0xA3, 0x06, 1, 0, 0])), v["byte"]))[0]
    assert nack.data[:5] == bytes([0xA0, 0x01, v["byte"], 0, 0])  # BxResp: group cmd err r r
    with pytest.raises(bx.BoardError) as e:
        bx.check_answer(nack)
    assert (e.value.code, e.value.status) == (v["code"], v["byte"])
    assert str(e.value).startswith(f"board error {v['byte']:02X}: {v['words']}")
    # busy and a garbled frame are of the moment: the driver sends the same request again
    assert (v["byte"] in bx.TRANSIENT) is (v["code"] in ("board.busy", "board.crc"))


# --- ESC/POS status, protocols.md §2.2 --------------------------------------------------------
ESCPOS = load("escpos")


@pytest.mark.parametrize("v", ESCPOS["reply"], ids=[f"{v['byte']:02x}" for v in ESCPOS["reply"]])
def test_escpos_reply_shape(v):
    assert escpos.valid_status(v["byte"]) is v["valid"]


def test_escpos_online_and_paper_as_python_escpos_reads_them():
    for v in ESCPOS["online"]:
        assert escpos.PrinterStatus.decode(v["byte"]).online is v["online"]
    for v in ESCPOS["paper"]:
        assert escpos.PrinterStatus.decode(None, paper=v["byte"]).paper == v["paper"]


class _Replies:
    """python-escpos's own status readers, given one reply byte (its Dummy printer)."""

    def __init__(self, byte: int):
        from escpos.printer import Dummy

        class One(Dummy):
            def _read(self):
                return bytes([byte])
        self.printer = One()


@pytest.mark.parametrize("byte", [b for b in range(256) if escpos.valid_status(b)])
def test_escpos_every_reply_reads_as_the_installed_python_escpos_reads_it(byte):
    """Online on all 16 well-formed replies; paper where both bits of a pair agree (kioskd
    takes either bit of a pair as set, python-escpos only both: kioskd warns earlier)."""
    theirs = _Replies(byte).printer
    assert escpos.PrinterStatus.decode(byte).online is theirs.is_online()
    paper = escpos.PrinterStatus.decode(None, paper=byte).paper
    if byte & 0x60 in (0, 0x60) and byte & 0x0C in (0, 0x0C):
        assert {0: "out", 1: "near_end", 2: "ok"}[theirs.paper_status()] == paper


# --- ID-card SAM, protocols.md §1.3 -----------------------------------------------------------
SAM = load("sam")


@pytest.mark.parametrize("v", SAM["command"], ids=ids(SAM["command"]))
def test_sam_commands(v):
    raw = hexbytes(v["bytes"])
    data = hexbytes(v.get("data", ""))
    assert sam.command(tuple(v["cmd"]), data) == raw
    if not data:  # as the driver sends it: the constant alone
        assert sam.command(tuple(v["cmd"])) == raw
    if "const" in v:  # the driver sends the module's constant, so the constant is the contract
        assert getattr(sam, v["const"]) == tuple(v["cmd"])
    (frame,) = whole_and_bytewise(sam.SamCodec, raw)
    assert frame.command == tuple(v["cmd"]) and frame.payload[2:] == data


@pytest.mark.parametrize("v", SAM["response"], ids=ids(SAM["response"]))
def test_sam_responses(v):
    raw = hexbytes(v["bytes"])
    (frame,) = whole_and_bytewise(sam.SamCodec, raw)
    assert (frame.sw3, frame.data) == (v["sw3"], hexbytes(v["data"]))
    assert sam.response(v["sw3"], hexbytes(v["data"])) == raw
    if not v["data"]:
        assert sam.response(v["sw3"]) == raw


@pytest.mark.parametrize("v", SAM["status"], ids=[f"{v['sw3']:02X}" for v in SAM["status"]])
def test_sam_status_codes(v):
    err = sam.SamStatusError(v["sw3"])
    assert (err.code, err.sw3) == (v["code"], v["sw3"])


def test_every_sam_status_code_has_its_vector():
    assert set(sam.STATUS_CODES) == {v["sw3"] for v in SAM["status"]} - {0x99}


# --- barcode guns, protocols.md §3 ------------------------------------------------------------
SCANNER = load("scanner")


@pytest.mark.parametrize("v", SCANNER["aim"], ids=[v["prefix"] for v in SCANNER["aim"]])
def test_aim_prefixes(v):
    (scan,) = whole_and_bytewise(lambda: codes.LineCodec(aim=True),
                                 (v["prefix"] + "DEMO-42\r\n").encode())
    assert (scan.code, scan.symbology) == ("DEMO-42", v["symbology"])


def test_the_gun_keymap_is_the_kernels():
    """Key codes by their names in linux/input-event-codes.h (python-evdev's ecodes)."""
    ecodes = pytest.importorskip("evdev.ecodes", reason="python-evdev is Linux-only")
    names = {**{f"KEY_{c.upper()}": c for c in "abcdefghijklmnopqrstuvwxyz0123456789"},
             "KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_LEFTBRACE": "[", "KEY_RIGHTBRACE": "]",
             "KEY_SEMICOLON": ";", "KEY_APOSTROPHE": "'", "KEY_GRAVE": "`",
             "KEY_BACKSLASH": "\\", "KEY_COMMA": ",", "KEY_DOT": ".", "KEY_SLASH": "/",
             "KEY_SPACE": " ", "KEY_KP7": "7", "KEY_KP0": "0", "KEY_KPMINUS": "-",
             "KEY_KPPLUS": "+", "KEY_KPDOT": ".", "KEY_KPASTERISK": "*", "KEY_KPSLASH": "/"}
    for name, char in names.items():
        assert codes.KEYMAP[getattr(ecodes, name)][0] == char, name
    assert codes.SHIFTS == {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
    assert codes.ENTERS == {ecodes.KEY_ENTER, ecodes.KEY_KPENTER}
