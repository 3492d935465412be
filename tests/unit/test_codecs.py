"""Codecs round trip, resynchronise and type their errors, whole and byte by byte. The byte
vectors from the protocol sheet's sources live in tests/vectors/ (test_vectors.py)."""

from __future__ import annotations

import dataclasses
import os
from datetime import date

import pytest

from kioskd.drivers.board import bx
from kioskd.drivers.idcard import sam
from kioskd.drivers.idcard.driver import format_sam_id
from kioskd.drivers.pad import message, proto
from kioskd.drivers.pad.seal import seal
from kioskd.drivers.printer import escpos
from kioskd.errors import BoardError, ChecksumError, DeviceFault, FrameError, FrameTooLong
from kioskd.sim.idcard import SAM_ID, make_card
from kioskd.sim.printer import EscposInterpreter

H = bytes.fromhex

def test_sam_status_codes_are_typed():
    (f,) = sam.SamCodec().feed(H("AA AA AA 96 69 00 04 00 00 80 84"))
    with pytest.raises(sam.SamStatusError) as e:
        f.ok(sam.SW_FOUND)
    assert e.value.code == "idcard.not_found" and e.value.sw3 == 0x80
    (f,) = sam.SamCodec().feed(sam.response(0x77))
    with pytest.raises(sam.SamStatusError) as e:
        f.ok()
    assert e.value.code == "idcard.sw_77"


def test_sam_full_read_answer_byte_by_byte():
    card = make_card("欧阳娜娜", date(1985, 1, 9), gender="女")
    frame = sam.response(0x90, sam.read_answer(sam.encode_text(card)))
    assert len(frame) == 1295 and frame[5:7] == H("05 08")  # §1.5: 1295 bytes, LEN 05 08
    assert frame[14:16] == "欧".encode("utf-16-le")  # text starts at offset 14
    codec = sam.SamCodec()
    out = [x for b in frame for x in codec.feed(bytes([b]))]
    assert len(out) == 1
    text, photo, _ = sam.split_read(out[0].ok())
    decoded = sam.decode_text(text)
    assert (decoded.name, decoded.birth, decoded.gender) == ("欧阳娜娜", date(1985, 1, 9), "女")
    assert decoded.id_number == card.id_number and decoded.number_valid
    assert len(photo) == 1024


def test_sam_garbage_checksum_and_length_resync():
    good = sam.response(0x90)
    bad_chk = bytearray(good)
    bad_chk[-1] ^= 0xFF
    huge = sam.PREAMBLE + H("FF FF")
    out = sam.SamCodec().feed(b"\x01\x02noise" + bytes(bad_chk) + huge + good)
    errors = [x for x in out if isinstance(x, FrameError)]
    frames = [x for x in out if isinstance(x, sam.Frame)]
    assert any(isinstance(e, ChecksumError) for e in errors)
    assert any(isinstance(e, FrameTooLong) for e in errors)
    assert len(frames) == 1 and frames[0].sw3 == 0x90


def test_sam_id_format():
    assert format_sam_id(SAM_ID) == "05.01-20110617-0004156032-0254740431"


def test_gb11643_check_digit():
    assert sam.id_number_valid("11010519491231002X")
    assert not sam.id_number_valid("110105194912310021")
    assert sam.check_char("11010519491231002") == "X"


def test_unknown_card_type_is_reported_not_guessed():
    block = bytearray(sam.encode_text(make_card("张三", date(1970, 1, 1))))
    block[248:250] = "Z".encode("utf-16-le")
    with pytest.raises(DeviceFault) as e:
        sam.decode_text(bytes(block))
    assert e.value.code == "idcard.card_type_unknown"


def test_card_repr_hides_personal_data():
    card = dataclasses.replace(make_card("张三", date(1970, 1, 1), gender="女"),
                               permit_number="H00000007", nationality="CHN")
    shown = repr(card) + repr(sam.Frame(sam.encode_text(card)))
    assert "payload" not in repr(sam.Frame(b"\x00\x00\x90"))  # the answer's bytes are the card
    for private in (card.id_number, "张三", "女", "1970", card.address, card.issuer,
                    card.valid_from, card.valid_to, card.ethnicity, "H00000007", "CHN"):
        assert private not in shown, private
    with pytest.raises(dataclasses.FrozenInstanceError):  # what was read is what was read
        card.name = "李四"
    with pytest.raises(dataclasses.FrozenInstanceError):
        sam.Frame(b"").payload = b"x"


def test_gb11643_weights_are_iso7064_mod_11_2():
    """The weights are 2^(17-i) mod 11 (ISO 7064 MOD 11-2), checked on every position, and on
    the standard's own example number 11010519491231002X."""
    assert sam.WEIGHTS == tuple(pow(2, 17 - i, 11) for i in range(17))
    assert sam.check_char("11010519491231002") == "X"
    assert sam.id_number_valid("11010519491231002x") and not sam.id_number_valid("110105194912310021")
    for i in range(17):  # a digit moved at any position changes the check
        digits = ["0"] * 17
        digits[i] = "1"
        assert sam.check_char("".join(digits)) == sam.CHECK_CHARS[pow(2, 17 - i, 11)]


def test_gender_and_ethnicity_codes_of_the_national_standards():
    # GB/T 2261.1 sex codes; GB 3304 ethnic groups 01-56, 97 and 98
    assert sam.GENDERS == {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
    assert len(sam.ETHNICITIES) == 58
    assert [sam.ETHNICITIES[n] for n in (1, 25, 26, 43, 44, 56, 97, 98)] == [
        "汉", "水", "东乡", "乌孜别克", "俄罗斯", "基诺", "其他", "外国血统中国籍人士"]
    # a sex code outside the standard (a garbled field) reads as unknown, never guessed
    for card, at in ((make_card("张三", date(1970, 1, 1)), 30),
                     (make_card("陈大文", date(1985, 6, 1), region="810000", card_type="hkmotw"), 30),
                     (make_card("SMITH", date(1980, 1, 1), card_type="foreigner"), 120)):
        block = bytearray(sam.encode_text(card))
        block[at:at + 2] = "5".encode("utf-16-le")
        assert sam.decode_text(bytes(block)).gender == "未知"
    # a number whose check digit is wrong says so (a value, not a method to call)
    assert sam.decode_text(sam.encode_text(make_card("张三", date(1970, 1, 1),
                                                     bad_check_digit=True))).number_valid is False
    assert sam.decode_text(sam.encode_text(make_card("张三", date(1970, 1, 1)))).number_valid is True
    # an ethnic code that is not digits (a garbled field) is no ethnicity, and no crash
    garbled = bytearray(sam.encode_text(make_card("张三", date(1970, 1, 1))))
    garbled[32:36] = "ab".encode("utf-16-le")
    assert sam.decode_text(bytes(garbled)).ethnicity == ""


def test_fields_a_card_type_does_not_carry_are_empty_and_bad_text_is_replaced():
    foreigner = sam.decode_text(sam.encode_text(make_card("SMITH JOHN", date(1979, 2, 3),
                                                          card_type="foreigner")))
    assert (foreigner.address, foreigner.issuer, foreigner.permit_number, foreigner.ethnicity,
            foreigner.fingerprint) == ("", "", "", "", False)
    hk = sam.decode_text(sam.encode_text(make_card("陈大文", date(1985, 6, 1), region="810000",
                                                   card_type="hkmotw")))
    assert (hk.ethnicity, hk.nationality) == ("", "")
    resident = sam.decode_text(sam.encode_text(make_card("张三", date(1970, 1, 1))))
    assert (resident.permit_number, resident.nationality, resident.ethnicity) == ("", "", "汉")
    block = bytearray(sam.encode_text(make_card("张三", date(1970, 1, 1), gender="女")))
    block[0:2] = b"\x00\xd8"  # a lone surrogate where the name starts: garbled, not a crash
    block[30:32] = "7".encode("utf-16-le")  # a sex code outside the standard
    block[32:36] = "99".encode("utf-16-le")  # an ethnic code outside it
    garbled = sam.decode_text(bytes(block))
    assert garbled.name.startswith("\ufffd") and garbled.name.endswith("三")
    assert (garbled.gender, garbled.ethnicity) == ("未知", "")


# --- BX board (the sheet's example frames: test_vectors.py) -------------------------------
def test_bx_card_and_family_tables_keep_their_rules():
    """The tables a technician's `card = ...` is checked against (the sheet's device types are
    vectors in tests/vectors/bx.toml; these are the rules every row keeps)."""
    import re

    assert len(set(bx.CARDS.values())) == len(bx.CARDS) and bx.MODELS == {
        v: k for k, v in bx.CARDS.items()}  # a device type names one model
    for model, devtype in bx.CARDS.items():
        assert re.fullmatch(r"BX-(5M?K|6K)\d(Q)?(-YY|-4G)?", model), model
        # the label's generation and the device type's pixel rule agree
        assert bx.area_unit(devtype) == (bx.UNIT_PX if model.startswith("BX-6K") else bx.UNIT_8PX)
    for model, protocol in bx.OTHER_FAMILIES.items():
        assert re.fullmatch(r"BX-5[MEQ]\d", model), model
        assert protocol == ("protocol 05" if model.startswith("BX-5M") else "protocol F0"), model
    assert not set(bx.CARDS) & set(bx.OTHER_FAMILIES)


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


# --- rating pad (our own protocol, docs/pad-serial.md) ---------------------------------------
PAD_W1_KEY = bytes.fromhex("5f1c0e7a3b9d4c2e8a6f0b1d7e3c9a24")  # devices.toml's pad-w1


def test_pad_frames_documented_examples():
    good = seal(PAD_W1_KEY, "7", "A001", 5, (), "")
    assert good == H("59 80 09 09 A6 98 F7 AF")
    assert proto.rating(1, 7, 5, (), good) == H(
        "68 0C 68 01 21 00 07 05 00 59 80 09 09 A6 98 F7 AF 65 16")
    bad = seal(PAD_W1_KEY, "8", "A002", 1, (1, 3), "等太久")
    assert proto.rating(1, 8, 1, (1, 3), bad, "等太久") == H(
        "68 17 68 01 21 00 08 01 02 01 03 17 AA 77 90 80 21 7F 58 E7 AD 89 E5 A4 AA E4 B9 85 4B 16")
    assert proto.prompt(1, 1, 3, "A001") == H("68 08 68 01 01 00 01 03 04 41 30 30 31 44 16")
    assert proto.reasons_frame(1, 6, [(1, "服务态度"), (2, "办事效率")]) == H(
        "68 1E 68 01 04 00 06 01 0C E6 9C 8D E5 8A A1 E6 80 81 E5 BA A6 02 0C E5 8A 9E E4 BA 8B "
        "E6 95 88 E7 8E 87 0E 16")
    r = proto.parse_rating(proto.rating(1, 8, 1, (1, 3), bad, "等太久")[5:-2])
    assert (r.txn, r.level, r.reasons, r.seal, r.text) == (8, 1, (1, 3), bad, "等太久")
    assert proto.parse_reasons(proto.reasons_frame(1, 6, [(1, "服务态度")])[5:-2]) == [(1, "服务态度")]


def test_pad_seal_binds_key_prompt_and_choice():
    base = seal(PAD_W1_KEY, "7", "A001", 1, (1,), "")
    other_key = bytes(16)
    assert base != seal(other_key, "7", "A001", 1, (1,), "")  # another pad
    assert base != seal(PAD_W1_KEY, "7", "A002", 1, (1,), "")  # another ticket
    assert base != seal(PAD_W1_KEY, "9", "A001", 1, (1,), "")  # another prompt
    assert base != seal(PAD_W1_KEY, "7", "A001", 2, (1,), "")  # the level changed on the way
    assert base != seal(PAD_W1_KEY, "7", "A001", 1, (1, 2), "")  # a reason added


def test_pad_rating_too_short_is_a_frame_error():
    with pytest.raises(FrameError):
        proto.parse_rating(b"\x00\x07\x05\x02\x01")  # claims 2 reasons, has 1 and no seal


def test_pad_codec_byte_by_byte_and_noise():
    data = (b"\xff\x00" + proto.rating(2, 300, 1, (1, 3), b"12345678")
            + proto.encode(2, 0x90, b"\x01\x2c\x00"))
    codec = proto.PadCodec()
    out = [x for b in data for x in codec.feed(bytes([b]))]
    frames = [x for x in out if isinstance(x, proto.PadFrame)]
    assert [f.func for f in frames] == [proto.RATING, 0x90]
    assert frames[0].txn == 300 and proto.parse_rating(frames[0].data).reasons == (1, 3)
    assert any(isinstance(x, FrameError) for x in out)


@pytest.mark.parametrize("raw,ok", [
    (b'rating\n{"transaction": "ab", "level": 4, "reasons": [], "text": "", "seal": "00"}', True),
    (b'response\n{"transaction": "ab", "status": "ok"}', True),
    (b'rating\n{"transaction": "ab", "level": "4", "seal": "00"}', False),  # level a string
    (b'rating\n{"transaction": "ab", "level": 4, "reasons": [true], "seal": "00"}', False),
    (b'rating\n{"transaction": "ab", "level": 4}', False),  # no seal
    (b'response\n{"status": "ok"}', False),  # no transaction
    (b'response\n[1, 2]', False),
    (b'response\n{not json', False),
    (b'request\n{"transaction": "ab"}', False),  # the host's own subtopic
])
def test_pad_mqtt_messages(raw, ok):
    (out,) = message.MessageCodec().feed(raw)
    assert isinstance(out, message.PadMessage) == ok, out


# --- ESC/POS -------------------------------------------------------------------------------------
S = escpos.status_byte
OK4 = (S(), S(), S(), S())


@pytest.mark.parametrize("replies,condition", [
    (OK4, "ok"),
    ((S(), S(), S(), S(2, 3)), "paper_near_end"),
    ((S(3), S(5), S(), S(2, 3, 5, 6)), "paper_out"),
    ((S(3), S(2), S(), S()), "cover_open"),
    ((S(3), S(6), S(3), S()), "cutter_error"),
    ((S(3), S(), S(), S()), "offline"),
    ((S(), S(), S(5), S()), "offline"),  # unrecoverable error
    # an invalid or missing reply is unknown, never "no paper"
    ((0x00, 0xFF, None, 0xFF), "unknown"),
    ((None, None, None, None), "unknown"),
    ((S(), S(), None, S()), "unknown"),  # no DLE EOT 3 on this model: cannot vouch for it
    ((S(), S(), None, S(2, 3)), "paper_near_end"),  # what it did say still counts
], ids=["ok", "near_end", "paper_out", "cover_open", "cutter", "offline", "unrecoverable",
        "garbage", "silent", "partial", "partial-near-end"])
def test_printer_condition_from_dle_eot_1_to_4(replies, condition):
    assert escpos.PrinterStatus.decode(*replies).condition == condition
    assert escpos.PrinterStatus.decode(0x00, 0xFF, None, 0xFF).paper == "unknown"


def test_automatic_status_back_frames_are_told_from_dle_eot_replies():
    codec = escpos.StatusCodec(asb=True)
    asb = bytes([0x10 | 0x20, 0x00, 0x00, 0x00])  # cover open
    out = []
    for b in bytes([S()]) + b"\x13" + asb[:2] + b"\x11" + asb[2:] + bytes([S(2, 3)]):
        out += codec.feed(bytes([b]))
    assert out == [S(), escpos.Asb(asb), S(2, 3)]
    assert escpos.PrinterStatus.from_asb(asb).condition == "cover_open"
    assert escpos.PrinterStatus.from_asb(bytes([0x10, 0, 0x0C, 0])).condition == "paper_out"
    assert escpos.PrinterStatus.from_asb(bytes([0x10, 0, 0x03, 0])).condition == "paper_near_end"
    # without ASB the same byte is a (malformed) reply, so a garbled answer is "unknown" at once
    assert escpos.StatusCodec().feed(asb[:1]) == [asb[0]]


def test_ticket_stream_exact_bytes():
    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30",
                          "demo-hall/2026-11-24/A001", wait_min=12)
    gb = lambda s: (s + "\n").encode("gb18030")  # noqa: E731
    normal = H("1b 21 00 1b 21 00 1b 21 00 1b 45 00 1b 61 01")  # python-escpos set(): mode, bold, centre
    qr = "demo-hall/2026-11-24/A001".encode()
    expected = b"".join([
        H("1b 40"), H("1c 26"),  # init; Chinese mode (python-escpos never sends FS &)
        H("1b 21 00 1b 21 00 1b 21 10 1b 45 01 1b 61 01"), gb("示范区政务服务中心"),  # double height
        normal, gb("综合受理"),
        H("1d 21 33 1b 45 01 1b 61 01"), gb("A001"),  # 4x4, bold
        normal, gb("您前面还有 3 人等候"),
        normal, gb("预计等候约 12 分钟"),
        normal, gb("2026-11-24 09:30"),
        H("1d 28 6b 04 00 31 41 32 00"), H("1d 28 6b 03 00 31 43 06"),  # QR model 2, module 6
        H("1d 28 6b 03 00 31 45 30"),  # error correction L
        H("1d 28 6b") + bytes([len(qr) + 3, 0]) + H("31 50 30") + qr, H("1d 28 6b 03 00 31 51 30"),
        normal, gb("请留意叫号，过号将顺延"),
        normal, H("1b 64 06"), H("1d 56 00"),  # feed 6 lines, full cut
    ])
    assert escpos.build_ticket(t) == expected


def test_template_fields_choose_and_order_what_prints():
    t = escpos.TicketText("大厅", "综合受理", "A001", 0, "2026-11-24 09:30", "q", wait_min=0)
    interp = EscposInterpreter()
    interp.feed(escpos.build_ticket(t, fields=("number", "title", "wait")))
    assert interp.done[0].lines == ["A001", "大厅", "即将为您服务"]
    interp.feed(escpos.build_ticket(dataclasses.replace(t, wait_min=None)))
    assert not any("等候约" in line or "即将" in line for line in interp.done[1].lines)


def test_58mm_profile_without_native_qr_prints_it_as_an_image_that_decodes():
    import numpy as np
    import zxingcpp

    text = "https://zwfw.example.cn/t/示范区/A001"
    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30", text)
    data = escpos.build_ticket(t, profile="POS-5890")  # 58 mm, qrCode: false
    assert H("1d 28 6b") not in data and H("1d 76 30") in data
    interp = EscposInterpreter()
    interp.feed(data)
    (ticket,) = interp.done
    (img,) = ticket.images
    assert img.width <= 384
    bits = np.unpackbits(np.frombuffer(img.bits, np.uint8)).reshape(img.height, img.width)
    pixels = np.where(bits == 1, 0, 255).astype(np.uint8)
    assert [r.text for r in zxingcpp.read_barcodes(pixels)] == [text]


def test_an_image_qr_is_six_dots_a_module_in_the_middle_of_the_paper():
    """Module 6 (0.75 mm at 203 dpi), as the native QR: a phone reads it at arm's length, and it
    stands centred on the 58 mm roll like the text above it."""
    import numpy as np

    t = escpos.TicketText("大厅", "综合受理", "A001", 3, "2026-11-24 09:30", "https://x/A001")
    interp = EscposInterpreter()
    interp.feed(escpos.build_ticket(t, profile="POS-5890"))
    (img,) = interp.done[0].images
    bits = np.unpackbits(np.frombuffer(img.bits, np.uint8)).reshape(img.height, img.width)
    rows, cols = np.where(bits.any(1))[0], np.where(bits.any(0))[0]
    left, right = cols[0], img.width - 1 - cols[-1]
    assert img.width == 384 and abs(left - right) <= 1 and left > 100
    top = bits[rows[0], cols[0]:]
    assert int(np.argmin(top)) == 7 * 6  # the finder pattern's edge: 7 modules of 6 dots


def test_the_ticket_is_a_value_and_python_escpos_caches_its_printer_database_once(tmp_path):
    t = escpos.TicketText("大厅", "综合受理", "A001", 0, "2026-11-24 09:30", "q")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.number = "A002"  # type: ignore[misc]
    # python-escpos re-parses its capabilities and makes a temporary folder on every import
    # unless told where to cache them: a fresh process, the folder not made yet, then told
    import subprocess
    import sys
    import tempfile

    script = ("import os; from kioskd.drivers.printer import escpos; "
              "escpos.build_ticket(escpos.TicketText('h', 'c', 'A001', 0, 't', ''), fields=()); "
              "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])")
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["TMPDIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == str(tmp_path / "kioskd-escpos") and any((tmp_path / "kioskd-escpos").iterdir())
    deep = tmp_path / "not" / "made" / "yet"
    env["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(deep)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)
    assert any(deep.iterdir())
    assert tempfile.gettempdir() != str(tmp_path)  # the test's own process was left alone


def test_dle_eot_spelt_by_raster_bytes_is_answered_and_counted():
    # a printer runs DLE EOT wherever the bytes appear, even in image data (protocols.md §2.2)
    raster = H("1d 76 30 00 02 00 02 00") + H("00 10 04 04")
    interp = EscposInterpreter()
    assert interp.feed(raster + H("10 04 01")) == [4, 1]
    assert escpos.status_queries_in(raster) == 1


def test_ticket_bytes_keep_every_character():
    t = escpos.TicketText("示范区政务服务中心：鿏〇", "不动产登记", "B012", 3, "2026-11-24 09:30", "h/B012")
    data = escpos.build_ticket(t)
    assert data.startswith(H("1B 40"))
    assert "示范区政务服务中心：鿏〇".encode("gb18030") in data  # python-escpos alone sends ?
    assert H("1D 28 6B") in data and data.rstrip().endswith(H("1D 56 00"))
    interp = EscposInterpreter()
    for b in data:
        interp.feed(bytes([b]))
    (ticket,) = interp.done
    assert ticket.lines[0] == "示范区政务服务中心：鿏〇"
    assert "B012" in ticket.big and ticket.qr == ["h/B012"]
    assert "您前面还有 3 人等候" in ticket.text and not interp.unknown


def test_printer_status_bytes_described_for_the_technician():
    from kioskd.drivers.printer.escpos import describe_status

    assert describe_status(1, 0x12) == "0x12 printer status: online"
    assert describe_status(1, 0x1A) == "0x1a printer status: offline"
    assert describe_status(2, 0x16) == "0x16 offline cause: cover open"
    assert describe_status(2, 0x32) == "0x32 offline cause: cover closed, stopped at paper end"
    assert describe_status(3, 0x1A) == "0x1a error cause: cutter error"
    assert describe_status(4, 0x1E) == "0x1e paper sensor: paper near_end"
    assert describe_status(4, 0x72) == "0x72 paper sensor: paper out"
    assert describe_status(4, 0x00).endswith("not a status byte (0xx1xx10)")


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


def test_escpos_status_requests_and_their_count_in_raster_bytes():
    # DLE EOT n, n = 1 printer, 2 offline cause, 3 error cause, 4 paper sensor (protocols.md §2.2)
    assert [escpos.status_query(n) for n in (escpos.STATUS_PRINTER, escpos.STATUS_OFFLINE_CAUSE,
                                             escpos.STATUS_ERROR_CAUSE, escpos.STATUS_PAPER)] == [
        H("10 04 01"), H("10 04 02"), H("10 04 03"), H("10 04 04")]
    assert escpos.status_queries_in(H("10 04 01 10 04 02 10 04 03 10 04 04 10 04 05 10 04")) == 4
    for n in (1, 2, 3, 4):  # each one counted by itself, not by a neighbour's double count
        assert escpos.status_queries_in(H("00 10 04") + bytes([n])) == 1, n


def test_automatic_status_back_each_bit_by_itself():
    """ASB bytes 1-3 (GS a; Epson's layout): each flag read from its own byte and bit."""
    asb = lambda b1=0, b2=0, b3=0: escpos.PrinterStatus.from_asb(bytes([0x10 | b1, b2, b3, 0]))  # noqa: E731
    assert (asb().online, asb().cover_open, asb().paper, asb().cutter_error,
            asb().unrecoverable) == (True, False, "ok", False, False)
    assert asb(b1=0x08).online is False and asb(b1=0x08).cover_open is False
    assert asb(b1=0x20).cover_open is True and asb(b1=0x20).online is True
    assert asb(b2=0x08).cutter_error is True and asb(b2=0x08).unrecoverable is False
    assert asb(b2=0x20).unrecoverable is True and asb(b2=0x20).cutter_error is False
    assert asb(b2=0x01).cutter_error is False and asb(b2=0x01).unrecoverable is False
    assert asb(b1=0x01).online is True and asb(b1=0x01).cover_open is False
    assert asb(b3=0x01).paper == "near_end"
    assert asb(b3=0x04).paper == "out" and asb(b3=0x08).paper == "out"
    assert asb(b1=0x08, b2=0x08).paper == "ok"  # the paper is byte 3's alone
    # bytes 2-4 are 0xx0xxxx: a low bit set is still the rest of the frame
    codec = escpos.StatusCodec(asb=True)
    assert codec.feed(H("10 01 03 00") + H("11 13") + H("10 01") + H("11") + H("00 0F")) == [
        escpos.Asb(H("10 01 03 00")), escpos.Asb(H("10 01 00 0F"))]
    assert escpos.StatusCodec(asb=True).feed(H("10 00 80 12")) == [0x80, 0x12]


def test_escpos_status_masks_and_words():
    S = escpos.status_byte
    assert escpos.PrinterStatus.decode(None, S(5)).paper == "out"  # stopped at paper end
    assert escpos.PrinterStatus.decode(None, S(5), None, S()).paper == "out"
    assert escpos.PrinterStatus.decode(None, S(2)).cover_open is True
    assert escpos.PrinterStatus.decode(None, None, S(3)).cutter_error is True
    assert escpos.PrinterStatus.decode(None, None, S(5)).unrecoverable is True
    assert escpos.PrinterStatus().condition == "unknown" and escpos.PrinterStatus().paper == "unknown"
    # the paper sensor alone silent: the printer is not "ok", its state is not known
    assert escpos.PrinterStatus.decode(S(), S(), S(), None).condition == "unknown"
    # a printer that has said nothing yet is known as little as one that did not answer
    assert escpos.PrinterStatus() == escpos.PrinterStatus.decode(None, None, None, None)
    assert escpos.describe_status(3, S(3, 5)) == "0x3a error cause: cutter error, unrecoverable error"
    assert escpos.describe_status(3, S()) == "0x12 error cause: no cutter error"
    assert escpos.describe_status(2, S(2, 5)) == "0x36 offline cause: cover open, stopped at paper end"
    assert escpos.describe_status(7, S()) == "0x12 status 7"
    assert escpos.describe_status(4, S()) == "0x12 paper sensor: paper ok"
    # the conditions the hall acts on, and which of them stop a ticket from printing
    assert escpos.CONDITIONS == ("ok", "paper_near_end", "paper_out", "cover_open", "cutter_error",
                                 "offline", "unknown")
    assert escpos.FAULTS == {"paper_out", "cover_open", "cutter_error", "offline"}


@pytest.mark.parametrize("encoding", ["gb18030", "GBK", "gb2312", "cp936"])
def test_every_gb_encoding_switches_chinese_mode_on_and_unprintable_text_is_replaced(encoding):
    t = escpos.TicketText("大厅𠀀", "综合受理", "A001", 0, "2026-11-24 09:30", "")
    data = escpos.build_ticket(t, encoding=encoding, fields=("title",))
    assert data.startswith(H("1b 40 1c 26"))
    assert "大厅".encode(encoding) in data
    assert escpos.build_ticket(t, encoding="cp437", fields=()).find(H("1c 26")) < 0


def test_ticket_qr_modes_and_empty_fields_print_nothing():
    t = escpos.TicketText("大厅", "综合受理", "A001", 0, "2026-11-24 09:30", "q")
    assert H("1d 28 6b") in escpos.build_ticket(t, profile="POS-5890", qr="native")
    image = escpos.build_ticket(t, qr="image")
    assert H("1d 28 6b") not in image and H("1d 76 30") in image
    assert t.wait_min is None and escpos.build_ticket(t, fields=("wait",)) == \
        escpos.build_ticket(t, fields=())
    empty = dataclasses.replace(t, footer="", qr="")
    assert escpos.build_ticket(empty, fields=("qr", "footer")) == escpos.build_ticket(t, fields=())


def test_sam_frame_edges_resynchronise_at_the_next_preamble():
    ok = sam.response(0x90)
    codec = sam.SamCodec()
    assert codec.feed(ok[:7]) == [] and len(codec._buf) == 7  # a header, waiting for its body
    (frame,) = codec.feed(ok[7:])
    assert frame.sw3 == 0x90 and codec._buf == bytearray()
    shortest = sam.PREAMBLE + H("00 02") + H("00") + bytes([0x02 ^ 0x00])  # 2 bytes: one + CHK
    assert isinstance(sam.SamCodec().feed(shortest)[0], sam.Frame)
    with pytest.raises(FrameError, match="^SAM response shorter than its status block$"):
        sam.SamCodec().feed(shortest)[0].ok()
    for n, first in ((1, FrameTooLong), (sam.MAX_LEN + 1, FrameTooLong)):
        out = sam.SamCodec().feed(sam.PREAMBLE + n.to_bytes(2, "big") + ok)
        assert isinstance(out[0], first) and str(out[0]) == f"frame length {n} outside 2..4096"
        assert out[-1] == sam.SamCodec().feed(ok)[0]
    big = sam.response(0x90, bytes(sam.MAX_LEN - 4))
    assert sam.SamCodec().feed(big)[0].payload[2] == 0x90  # the longest frame still read
    # a frame cut short by a new one: the cut one is dropped in words, the new one read
    out = sam.SamCodec().feed(sam.response(0x90, bytes(40))[:20] + ok)
    assert [type(x) for x in out] == [FrameError, sam.Frame]
    assert str(out[0]) == "truncated frame (20 bytes) dropped"
    # past a second stub whose length runs off the end, to the whole frame after it
    stub = sam.response(0x90, bytes(90))[:20]
    out = sam.SamCodec().feed(stub + stub + ok)
    assert [str(x) for x in out[:-1]] == ["truncated frame (40 bytes) dropped"]
    assert out[-1] == sam.SamCodec().feed(ok)[0]
    bad = bytearray(ok)
    bad[-1] ^= 1
    out = sam.SamCodec().feed(bytes(bad) + ok)
    assert isinstance(out[0], ChecksumError) and out[-1] == sam.SamCodec().feed(ok)[0]
    assert str(out[0]) == f"checksum {bad[-1]:02X}, computed {ok[-1]:02X}"


def test_sam_splitter_keeps_every_byte_of_frames_back_to_back_and_of_long_ones():
    ok = sam.response(0x90)
    assert sam.SamCodec().feed(ok + ok) == [sam.SamCodec().feed(ok)[0]] * 2
    # an impossible length is refused as soon as the header is in, not one byte later
    out = sam.SamCodec().feed(sam.PREAMBLE + H("00 00"))
    assert out and str(out[0]) == "frame length 0 outside 2..4096"
    # a stub cut by a long answer (a card read with its photo: over 255 bytes, so both bytes of
    # its length, and of its checksum's span, count)
    long = sam.response(0x90, bytes(range(256)) * 5)
    out = sam.SamCodec().feed(sam.response(0x90, bytes(3000))[:20] + long)
    assert [type(x) for x in out] == [FrameError, sam.Frame]
    assert out[1].data == bytes(range(256)) * 5
    # ...and by the shortest frame the splitter takes (length 2)
    shortest = sam.PREAMBLE + H("00 02 00") + bytes([0x02])
    out = sam.SamCodec().feed(sam.response(0x90, bytes(sam.MAX_LEN - 4))[:20] + shortest)
    assert [type(x) for x in out] == [FrameError, sam.Frame]
    assert out[1] == sam.SamCodec().feed(shortest)[0]


@pytest.mark.parametrize("payload,expect,words", [
    (H("00 00 90"), sam.SW_OK, None),
    (H("00 00 9F"), sam.SW_FOUND, None),
    (H("00 01 90"), sam.SW_OK, "SAM status 90"),  # the reserved bytes are not zero
    (H("01 00 90"), sam.SW_OK, "SAM status 90"),
    (H("00 00 91"), sam.SW_OK, "SAM status 91"),
])
def test_sam_status_block_reserved_bytes_must_be_zero(payload, expect, words):
    assert (sam.SW_OK, sam.SW_FOUND, sam.SW_NO_ITEM) == (0x90, 0x9F, 0x91)
    frame = sam.Frame(payload)
    if words is None:
        assert frame.ok(expect) == b""
    else:
        with pytest.raises(sam.SamStatusError) as e:
            frame.ok(expect)
        assert str(e.value) == words


def test_sam_read_answers_split_by_their_lengths():
    text, photo, fp = bytes(range(256)), bytes(1024), bytes([7]) * 1024
    assert sam.read_answer(text) == H("01 00 04 00") + text + bytes(1024)
    assert sam.read_answer(text, b"P" * 3, b"F" * 2) == H("01 00 00 03 00 02") + text + b"PPPFF"
    assert sam.split_read(sam.read_answer(text, b"P" * 3)) == (text, b"PPP", b"")
    assert sam.split_read(sam.read_answer(text, b"P" * 3, b"F" * 2), fingerprint=True) == (
        text, b"PPP", b"FF")
    assert sam.split_read(sam.read_answer(text, photo, fp), True) == (text, photo, fp)
    assert sam.split_read(H("00 00 00 00")) == (b"", b"", b"")
    for data, fingerprint, words in ((H("00 00 00"), False, "read answer too short"),
                                     (H("00 00 00 00 00"), True, "read answer too short"),
                                     (H("00 02 00 00 41"), False,
                                      "read answer is 5 bytes, its lengths say 6")):
        with pytest.raises(FrameError) as e:
            sam.split_read(data, fingerprint)
        assert str(e.value) == words
    assert sam.decode_address("新区".ljust(35).encode("utf-16-le")[:70]) == "新区"
    with pytest.raises(FrameError, match="^appended address is 69 bytes, expected 70$"):
        sam.decode_address(bytes(69))
    with pytest.raises(FrameError, match="^text block is 255 bytes, expected 256$"):
        sam.decode_text(bytes(255))
