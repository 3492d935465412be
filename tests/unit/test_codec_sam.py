"""The SAM reader's frames and the card they carry (GA 467, GB 11643): round trips, resync,
typed errors, whole and byte by byte. Byte vectors from the sheet's sources: test_vectors.py."""

from __future__ import annotations

import dataclasses
import pytest
from datetime import date

from kioskd.drivers.board import bx
from kioskd.drivers.idcard import sam
from kioskd.drivers.idcard.driver import format_sam_id
from kioskd.errors import ChecksumError, DeviceFault, FrameError, FrameTooLong
from kioskd.sim.idcard import SAM_ID, make_card


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
