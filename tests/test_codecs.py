"""Codecs round trip, resynchronise and type their errors, whole and byte by byte. The byte
vectors from the protocol sheet's sources live in tests/vectors/ (test_vectors.py)."""

from __future__ import annotations

import dataclasses
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
    card = make_card("张三", date(1970, 1, 1))
    assert card.id_number not in repr(card) and "张三" not in repr(card)


# --- BX board (the sheet's example frames: test_vectors.py) -------------------------------
def test_bx_escaping_and_text_roundtrip_byte_by_byte():
    text = "A001 请到1号窗口".encode("gb2312") + bytes([0xA5, 0x5A, 0xA6, 0x5B])
    frame = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text(text))
    assert frame.count(0x5A) == 1 and frame.endswith(b"\x5A")  # escaped inside
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
